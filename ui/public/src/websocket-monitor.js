// The standalone WebSocket monitor (seed §14.2): reads the same-origin monitoring API, with the API
// key the POS saved in this browser (Settings), when there is one. In English or Chinese: `?lang=`,
// else the language chosen in the app (same browser), else the browser's.
(() => {
  const $ = (id) => document.getElementById(id);
  const TEXT = {
    en: {
      title: 'StablePay — WebSocket monitor', refresh: 'Refresh', back: '← Monitoring', auto: 'Auto refresh', type: 'Type',
      allTypes: 'All types', direction: 'Direction', both: 'Both', never: 'Last updated: never', updated: 'Last updated: ',
      frontendSockets: 'Frontend sockets', blockchainNode: 'Blockchain node', frontendMessages: 'Frontend messages',
      blockchainMessages: 'Blockchain messages', detail: 'Detail', clickOne: 'Click a message.', none: 'No messages.',
      cannotRead: 'Cannot read the monitoring API: ', active: 'Active', total: 'Total connections', errors: 'Errors',
      reconnects: 'Reconnect attempts', lastConnection: 'Last connection', lastDisconnection: 'Last disconnection',
      connected: 'Connected', endpoint: 'Endpoint', attempts: 'Connection attempts', subscriptions: 'Subscriptions', yes: 'yes', no: 'no',
    },
    'zh-CN': {
      title: 'StablePay — WebSocket 监控', refresh: '刷新', back: '← 监控', auto: '自动刷新', type: '类型',
      allTypes: '全部类型', direction: '方向', both: '全部', never: '最后更新：从未', updated: '最后更新：',
      frontendSockets: '前端连接', blockchainNode: '区块链节点', frontendMessages: '前端消息',
      blockchainMessages: '区块链消息', detail: '详情', clickOne: '点击一条消息。', none: '没有消息。',
      cannotRead: '无法读取监控接口：', active: '活动', total: '连接总数', errors: '错误',
      reconnects: '重连次数', lastConnection: '最近连接', lastDisconnection: '最近断开',
      connected: '已连接', endpoint: '节点', attempts: '连接尝试', subscriptions: '订阅', yes: '是', no: '否',
    },
  };
  const stored = (() => { try { return localStorage.getItem('stablepay.locale'); } catch { return null; } })();
  const wanted = new URLSearchParams(location.search).get('lang') || stored || navigator.language || 'en';
  let lang = wanted.toLowerCase().startsWith('zh') ? 'zh-CN' : 'en';
  const t = (k) => TEXT[lang][k] ?? TEXT.en[k];
  const translate = () => {
    document.documentElement.lang = lang;
    for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
    $('lang').value = lang;
  };
  let messages = [];
  let timer = null;
  const key = (() => { try { return localStorage.getItem('stablepay.apiKey') || ''; } catch { return ''; } })();
  const get = async (path) => {
    const r = await fetch(path, { headers: key ? { Authorization: 'Bearer ' + key } : {} });
    const body = await r.json().catch(() => ({}));
    if (!r.ok) throw new Error((body.error && body.error.message) || 'HTTP ' + r.status);
    return body;
  };
  const time = (s) => (s ? new Date(s).toLocaleString(lang) : '—');
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
      if (!ul.children.length) { const li = document.createElement('li'); li.textContent = t('none'); ul.append(li); }
    }
  };
  const refresh = async () => {
    try {
      // Each source asked apart: a node's chatter never pushes the customer-facing messages out.
      const [stats, front, chain] = await Promise.all([
        get('/api/v1/stats/websocket'),
        get('/api/v1/stats/websocket/messages?source=frontend&limit=200'),
        get('/api/v1/stats/websocket/messages?source=blockchain&limit=200'),
      ]);
      const f = stats.frontend, b = stats.blockchain;
      fill($('frontend-state'), f.activeConnections > 0, [
        [t('active'), f.activeConnections], [t('total'), f.totalConnections], [t('errors'), f.connectionErrors],
        [t('reconnects'), f.reconnectAttempts], [t('lastConnection'), time(f.lastConnectionTime)], [t('lastDisconnection'), time(f.lastDisconnectionTime)],
      ]);
      fill($('blockchain-state'), b.isConnected, [
        [t('connected'), b.isConnected ? t('yes') : t('no')], [t('endpoint'), b.currentEndpoint || '—'], [t('attempts'), b.totalConnectionAttempts],
        [t('reconnects'), b.reconnectAttempts], [t('subscriptions'), b.activeSubscriptions], [t('lastConnection'), time(b.lastConnectionTime)],
        [t('lastDisconnection'), time(b.lastDisconnectionTime)],
      ]);
      messages = [...front.messages, ...chain.messages];
      const select = $('type'), current = select.value;
      const types = [...new Set(messages.map((m) => m.type))].sort();
      select.replaceChildren(new Option(t('allTypes'), ''), ...types.map((k) => new Option(k, k)));
      select.value = types.includes(current) ? current : '';
      renderLogs();
      $('updated').textContent = t('updated') + new Date().toLocaleTimeString(lang);
      $('error').hidden = true;
    } catch (e) {
      $('error').textContent = t('cannotRead') + e.message;
      $('error').hidden = false;
    }
  };
  const schedule = () => { clearInterval(timer); timer = setInterval(refresh, Number($('interval').value) * 1000); };
  $('refresh').addEventListener('click', refresh);
  $('lang').addEventListener('change', () => {
    lang = $('lang').value;
    translate();
    refresh();
  });
  translate();
  $('interval').addEventListener('change', schedule);
  $('type').addEventListener('change', renderLogs);
  $('direction').addEventListener('change', renderLogs);
  refresh();
  schedule();
})();
