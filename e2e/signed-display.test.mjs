// End to end: a man in the middle between a paired customer display and the till (issue 16,
// item 13). The real server speaks plain HTTP, as on a LAN without TLS; a proxy in this test relays
// everything between a tablet (a Chromium context) and the server and, once told to, rewrites the
// address to pay in the display's socket messages. The tablet pinned the server's key when it
// paired, so it shows a warning instead of the rewritten QR code — never the attacker's address.
// A second part serves the same display over HTTPS with a self-signed certificate.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import WebSocket, { WebSocketServer } from 'ws';
import { freePort } from '../devchain/lib/anvil.mjs';
import { ACCOUNTS } from '../devchain/lib/tokens.mjs';
import { ROOT } from '../devchain/up.mjs';

const ARTIFACTS = join(ROOT, 'artifacts', 'e2e');
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'];
const ADMIN = 'e2e-owner-key-0123456789abcdef0123456789';
const ATTACKER = '0x000000000000000000000000000000000000dEaD';
const BIN = join(ROOT, 'target', 'debug', 'stablepay-server');

const children = [];
let browser;

async function waitForHealth(url, init = {}, ms = 60_000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(`${url}/health`, init)).ok) return;
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`server at ${url} did not become healthy`);
}

/** The real server on a fresh database, chain watching off (the display needs no chain). */
async function startServer(extra = '') {
  const dir = mkdtempSync(join(tmpdir(), 'stablepay-signed-'));
  const port = await freePort();
  const config = join(dir, 'stablepay.toml');
  writeFileSync(
    config,
    [
      '[server]', `bind = "127.0.0.1:${port}"`, `api_keys = ["${ADMIN}"]`, extra, '',
      '[database]', `path = "${join(dir, 'stablepay.db')}"`, '',
      '[merchant]', 'name = "Corner Café"', `receive_address = "${ACCOUNTS.merchant}"`, '',
      '[chain]', 'enabled = false', '',
    ].join('\n'),
  );
  const server = spawn(BIN, ['serve', '--config', config], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, RUST_LOG: 'warn' } });
  children.push(server);
  return { port, dir };
}

/**
 * A relay in front of `target`: HTTP requests pass through untouched; socket messages from the
 * server pass through too, except that while `tamper` is on, the shop's address in them becomes the
 * attacker's (the signature stays as it was).
 */
async function startMitm(target) {
  const port = await freePort();
  const state = { tamper: false, rewritten: 0 };
  const http = createServer((req, res) => {
    const upstream = httpRequest({ host: '127.0.0.1', port: target, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  const sockets = new WebSocketServer({ noServer: true });
  http.on('upgrade', (req, socket, head) => {
    sockets.handleUpgrade(req, socket, head, (client) => {
      // As a real man in the middle would, it passes the browser's Host and Origin on unchanged.
      const headers = Object.fromEntries(['host', 'origin'].filter((h) => req.headers[h]).map((h) => [h, req.headers[h]]));
      const server = new WebSocket(`ws://127.0.0.1:${target}${req.url}`, { headers });
      const pending = [];
      server.on('open', () => pending.splice(0).forEach((m) => server.send(m)));
      server.on('message', (data) => {
        let text = data.toString();
        if (state.tamper && text.includes(ACCOUNTS.merchant)) {
          text = text.split(ACCOUNTS.merchant).join(ATTACKER);
          state.rewritten += 1;
        }
        client.send(text);
      });
      client.on('message', (data) => (server.readyState === WebSocket.OPEN ? server.send(data.toString()) : pending.push(data.toString())));
      server.on('close', () => client.close());
      client.on('close', () => server.close());
      server.on('error', () => client.terminate());
    });
  });
  await new Promise((r) => http.listen(port, '127.0.0.1', r));
  children.push({ kill: () => http.close(), pid: 0 });
  return { port, state };
}

async function tablet(base, options = {}) {
  const context = await browser.newContext({ viewport: { width: 1024, height: 768 }, ...options });
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('request', (r) => {
    const url = new URL(r.url());
    if (url.host !== new URL(base).host && url.protocol !== 'data:') problems.push(`requested ${r.url()}`);
  });
  return { context, page, problems };
}

async function pairAndShow(base, server, page, init = {}) {
  const api = (path, opts = {}) =>
    fetch(`${server}${path}`, { ...init, ...opts, headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${ADMIN}`, ...opts.headers } });
  const code = await (await api('/api/v1/displays/pairing', { method: 'POST' })).json();
  await page.goto(`${base}/#/display`);
  await page.getByTestId('pair-code').fill(code.code);
  await page.getByTestId('pair-submit').click();
  await page.getByTestId('display-pairing').waitFor({ state: 'detached' });
  const sale = async (amount) => {
    const p = await (await api('/api/v1/payments', { method: 'POST', body: JSON.stringify({ amount, token: 'USDT', network: 'bsc' }) })).json();
    assert.ok(p.id, JSON.stringify(p));
    await api('/api/v1/display', { method: 'PUT', body: JSON.stringify({ payment_id: p.id }) });
    return p;
  };
  return sale;
}

before(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  if (!existsSync(BIN)) spawnSync('cargo', ['build', '-p', 'stablepay-server'], { cwd: ROOT, stdio: 'inherit' });
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
});

after(async () => {
  await browser?.close();
  for (const child of children) child.kill('SIGTERM');
});

describe('signed display messages against a man in the middle', () => {
  it('a paired display shows a warning, never the QR code of a rewritten address', async () => {
    const { port } = await startServer();
    const server = `http://127.0.0.1:${port}`;
    await waitForHealth(server);
    const mitm = await startMitm(port);
    const base = `http://127.0.0.1:${mitm.port}`;
    const { context, page, problems } = await tablet(base);
    const sale = await pairAndShow(base, server, page);

    // Untouched, the tablet draws the QR code of the shop's own address.
    const first = await sale('3.25');
    await page.getByTestId('display-amount').filter({ hasText: `${first.amount} USDT` }).waitFor({ timeout: 10_000 });
    const qr = await page.locator('img.qr').getAttribute('data-qr-text');
    assert.equal(qr, first.payment_uri);
    assert.ok(qr.includes(ACCOUNTS.merchant));

    // The relay starts rewriting the address in everything the server sends.
    mitm.state.tamper = true;
    const second = await sale('4.75');
    await page.getByTestId('display-untrusted').waitFor({ timeout: 10_000 });
    assert.ok(mitm.state.rewritten > 0, 'the relay did rewrite a message');
    await page.waitForTimeout(300);
    await page.screenshot({ path: join(ARTIFACTS, 'display-tampered.png') });
    assert.equal(await page.locator('img.qr').count(), 0, 'no QR code on screen');
    const text = await page.locator('body').innerText();
    assert.ok(!text.includes(ATTACKER) && !text.toLowerCase().includes(ATTACKER.toLowerCase()), 'the attacker address is never shown');
    assert.ok(!text.includes(second.amount), 'nothing from the tampered message is shown');

    // Once the relay stops, the next signed update is shown again.
    mitm.state.tamper = false;
    const third = await sale('5.5');
    await page.getByTestId('display-amount').filter({ hasText: `${third.amount} USDT` }).waitFor({ timeout: 10_000 });
    assert.equal(await page.locator('img.qr').getAttribute('data-qr-text'), third.payment_uri);
    await context.close();
    assert.deepEqual(problems, []);
  });

  it('a display pairs and shows the sale over HTTPS with the self-signed certificate', async () => {
    const { port } = await startServer('tls_self_signed = true');
    const server = `https://127.0.0.1:${port}`;
    // Node's fetch does not take a self-signed certificate; plain HTTP from this computer works.
    const local = `http://127.0.0.1:${port}`;
    await waitForHealth(local);
    const settings = await (await fetch(`${local}/api/v1/settings`, { headers: { Authorization: `Bearer ${ADMIN}` } })).json();
    assert.match(settings.server.tls.fingerprint_sha256, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    const { context, page, problems } = await tablet(server, { ignoreHTTPSErrors: true });
    const sockets = [];
    page.on('websocket', (ws) => sockets.push(ws.url()));
    const sale = await pairAndShow(server, local, page);
    const p = await sale('2.5');
    await page.getByTestId('display-amount').filter({ hasText: `${p.amount} USDT` }).waitFor({ timeout: 10_000 });
    assert.ok(sockets.length > 0 && sockets.every((u) => u.startsWith('wss://')), `sockets over WSS: ${sockets}`);
    await context.close();
    assert.deepEqual(problems, []);
  });
});
