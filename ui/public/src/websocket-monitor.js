// The standalone WebSocket monitor (seed §14.2): reads the same-origin monitoring API, with the API
// key the POS saved in this browser (Settings), when there is one.
(() => {
  const $ = (id) => document.getElementById(id);
  let messages = [];
  let timer = null;
  const key = (() => { try { return localStorage.getItem('stablepay.apiKey') || ''; } catch { return ''; } })();
  const get = async (path) => {
    const r = await fetch(path, { headers: key ? { Authorization: 'Bearer ' + key } : {} });
    const body = await r.json().catch(() => ({}));
    if (!r.ok) throw new Error((body.error && body.error.message) || 'HTTP ' + r.status);
    return body;
  };
  const time = (s) => (s ? new Date(s).toLocaleString() : '—');
  const fill = (card, on, rows) => {
    card.querySelector('.dot').classList.toggle('on', on);
    const dl = card.querySelector('dl');
    dl.replaceChildren();
    for (const [k, v] of rows) {
      const dt = document.createElement('dt'); dt.textContent = k;
      const dd = document.createElement('dd'); dd.textContent = String(v);
      dl.append(dt, dd);
    }
  };
  const renderLogs = () => {
    const type = $('type').value, direction = $('direction').value;
    for (const source of ['frontend', 'blockchain']) {
      const ul = $(source + '-log');
      ul.replaceChildren();
      for (const m of messages) {
        if (m.source !== source || (type && m.type !== type) || (direction && m.direction !== direction)) continue;
        const li = document.createElement('li');
        const dir = document.createElement('span');
        dir.className = m.direction; dir.textContent = m.direction === 'in' ? '← ' : '→ ';
        li.append(dir, document.createTextNode(m.type + '  ' + time(m.timestamp)));
        li.addEventListener('click', () => { $('detail').textContent = JSON.stringify(m, null, 2); });
        ul.append(li);
      }
      if (!ul.children.length) { const li = document.createElement('li'); li.textContent = 'No messages.'; ul.append(li); }
    }
  };
  const refresh = async () => {
    try {
      const [stats, log] = await Promise.all([get('/api/v1/stats/websocket'), get('/api/v1/stats/websocket/messages?limit=200')]);
      const f = stats.frontend, b = stats.blockchain;
      fill($('frontend-state'), f.activeConnections > 0, [
        ['Active', f.activeConnections], ['Total connections', f.totalConnections], ['Errors', f.connectionErrors],
        ['Reconnect attempts', f.reconnectAttempts], ['Last connection', time(f.lastConnectionTime)], ['Last disconnection', time(f.lastDisconnectionTime)],
      ]);
      fill($('blockchain-state'), b.isConnected, [
        ['Connected', b.isConnected ? 'yes' : 'no'], ['Endpoint', b.currentEndpoint || '—'], ['Connection attempts', b.totalConnectionAttempts],
        ['Reconnect attempts', b.reconnectAttempts], ['Subscriptions', b.activeSubscriptions], ['Last connection', time(b.lastConnectionTime)],
        ['Last disconnection', time(b.lastDisconnectionTime)],
      ]);
      messages = log.messages;
      const select = $('type'), current = select.value;
      const types = [...new Set(messages.map((m) => m.type))].sort();
      select.replaceChildren(new Option('All types', ''), ...types.map((t) => new Option(t, t)));
      select.value = types.includes(current) ? current : '';
      renderLogs();
      $('updated').textContent = 'Last updated: ' + new Date().toLocaleTimeString();
      $('error').hidden = true;
    } catch (e) {
      $('error').textContent = 'Cannot read the monitoring API: ' + e.message;
      $('error').hidden = false;
    }
  };
  const schedule = () => { clearInterval(timer); timer = setInterval(refresh, Number($('interval').value) * 1000); };
  $('refresh').addEventListener('click', refresh);
  $('interval').addEventListener('change', schedule);
  $('type').addEventListener('change', renderLogs);
  $('direction').addEventListener('change', renderLogs);
  refresh();
  schedule();
})();
