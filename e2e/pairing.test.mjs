// End to end: pairing a customer display (issue 16). The real server runs with an admin key, so a
// device it does not know sees nothing. The owner (one browser context, with the key) asks for a
// code in Settings; a tablet (another context, no key) enters it on #/display, shows the sale the
// cashier puts on the display, and its token can neither create a payment nor read history.
// Revoking it in Settings closes its socket and brings back the pairing form. A third device pairs
// by opening the pairing URL (the QR). Fails on any console error or request to another host.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import { freePort } from '../devchain/lib/anvil.mjs';
import { ROOT, up } from '../devchain/up.mjs';

const ARTIFACTS = join(ROOT, 'artifacts', 'e2e');
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'];
const ADMIN = 'e2e-owner-key-0123456789abcdef0123456789';

let chain;
let server;
let base;
let browser;

async function waitForHealth(url, ms = 60_000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(`${url}/health`)).ok) return;
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`server at ${url} did not become healthy`);
}

/** A browser context that records console errors (other than refused requests) and foreign hosts. */
async function screen(name, { key } = {}) {
  const context = await browser.newContext({ viewport: { width: 1024, height: 768 } });
  if (key) await context.addInitScript((k) => localStorage.setItem('stablepay.apiKey', k), key);
  const page = await context.newPage();
  const problems = [];
  const host = new URL(base).host;
  // A 401/403 answer is logged by Chromium as a failed resource; those are expected here.
  page.on('console', (m) => m.type() === 'error' && !/status of 40[13]/.test(m.text()) && problems.push(`${name} console: ${m.text()}`));
  page.on('pageerror', (e) => problems.push(`${name} page error: ${e.message}`));
  page.on('request', (r) => {
    const url = new URL(r.url());
    if (url.host !== host && url.protocol !== 'data:') problems.push(`${name} requested ${r.url()}`);
  });
  return { context, page, problems };
}

const api = (path, init = {}) =>
  fetch(`${base}${path}`, { ...init, headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${ADMIN}`, ...init.headers } });

before(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  const bin = join(ROOT, 'target', 'debug', 'stablepay-server');
  if (!existsSync(bin)) spawnSync('cargo', ['build', '-p', 'stablepay-server'], { cwd: ROOT, stdio: 'inherit' });
  const port = await freePort();
  const stateDir = mkdtempSync(join(tmpdir(), 'stablepay-pairing-'));
  chain = await up({ bind: `127.0.0.1:${port}`, blockTime: 1, stateDir });
  base = `http://127.0.0.1:${port}`;
  server = spawn(bin, ['serve', '--config', chain.configPath], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, RUST_LOG: 'warn', STABLEPAY_SERVER__API_KEYS: ADMIN },
  });
  await waitForHealth(base);
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
});

after(async () => {
  await browser?.close();
  server?.kill('SIGTERM');
  await chain?.anvil.stop();
});

describe('pairing a customer display in the browser against the real server', () => {
  it('a tablet pairs with the code, shows the sale, cannot sell or read history, and is cut off when revoked', async () => {
    const owner = await screen('owner', { key: ADMIN });
    const tablet = await screen('tablet');

    // Unknown to the server, the tablet asks for a code.
    await tablet.page.goto(`${base}/#/display`);
    await tablet.page.getByTestId('display-pairing').waitFor();

    // The owner asks for one in Settings.
    await owner.page.goto(`${base}/#/settings`);
    await owner.page.getByTestId('pair-display').click();
    const code = (await owner.page.getByTestId('pairing-code').textContent()).trim();
    assert.match(code, /^\d{6}$/);
    assert.match(await owner.page.getByTestId('pairing-url').textContent(), new RegExp(`#/display\\?pair=${code}$`));
    await owner.page.waitForTimeout(300);
    await owner.page.screenshot({ path: join(ARTIFACTS, 'pairing-1-code.png') });

    // The tablet enters it; its socket opens and stays open.
    const sockets = [];
    tablet.page.on('websocket', (ws) => {
      const entry = { url: ws.url(), closed: false };
      ws.on('close', () => (entry.closed = true));
      sockets.push(entry);
    });
    await tablet.page.getByTestId('pair-code').fill(code);
    await tablet.page.getByTestId('pair-name').fill('Counter tablet');
    await tablet.page.getByTestId('pair-submit').click();
    await tablet.page.getByTestId('display-pairing').waitFor({ state: 'detached' });
    const token = await tablet.page.evaluate(() => localStorage.getItem('stablepay.displayToken'));
    assert.ok(token && token.length >= 32, 'the tablet keeps its token');
    assert.equal(await tablet.page.evaluate(() => localStorage.getItem('stablepay.apiKey')), null);

    // The cashier puts a sale on the display; the tablet shows it.
    const sale = await (await api('/api/v1/payments', { method: 'POST', body: JSON.stringify({ amount: '7.5', token: 'USDT', network: 'bsc', order_reference: 'ORD-77' }) })).json();
    assert.ok(sale.id, JSON.stringify(sale));
    await api('/api/v1/display', { method: 'PUT', body: JSON.stringify({ payment_id: sale.id }) });
    await tablet.page.getByTestId('display-amount').filter({ hasText: `${sale.amount} USDT` }).waitFor({ timeout: 10_000 });
    await tablet.page.waitForTimeout(300);
    await tablet.page.screenshot({ path: join(ARTIFACTS, 'pairing-2-display.png') });
    assert.ok(sockets.some((s) => s.url.includes('/ws/display?ticket=') && !s.closed), 'the display socket is open');
    assert.ok(sockets.every((s) => !s.url.includes(token)), 'the token never travels in a socket URL');

    // The tablet's token cannot sell or read the history.
    const asTablet = await tablet.page.evaluate(async (t) => {
      const h = { Authorization: `Bearer ${t}`, 'Content-Type': 'application/json' };
      const create = await fetch('/api/v1/payments', { method: 'POST', headers: h, body: JSON.stringify({ amount: '1', token: 'USDT', network: 'bsc' }) });
      const history = await fetch('/api/v1/payments', { headers: h });
      const csv = await fetch('/api/v1/payments/export.csv', { headers: h });
      return [create.status, history.status, csv.status];
    }, token);
    assert.deepEqual(asTablet, [403, 403, 403]);

    // The owner sees it listed and revokes it; its socket closes and the pairing form returns.
    await owner.page.reload();
    const revoke = owner.page.locator('[data-testid^="revoke-dsp_"]');
    await revoke.first().waitFor();
    await revoke.first().click();
    await tablet.page.getByTestId('display-pairing').waitFor({ timeout: 10_000 });
    assert.ok(sockets.filter((s) => s.url.includes('/ws/display')).every((s) => s.closed), 'every display socket is closed');
    assert.equal(await tablet.page.evaluate(() => localStorage.getItem('stablepay.displayToken')), null);
    const after = await fetch(`${base}/api/v1/display`, { headers: { Authorization: `Bearer ${token}` } });
    assert.equal(after.status, 401);

    // A third device opens the pairing URL (what the QR holds) and is paired at once.
    await owner.page.getByTestId('pair-display').click();
    const pairUrl = (await owner.page.getByTestId('pairing-url').textContent()).trim();
    const scanned = await screen('scanned');
    await scanned.page.goto(pairUrl);
    await scanned.page.getByTestId('display-amount').filter({ hasText: `${sale.amount} USDT` }).waitFor({ timeout: 10_000 });
    assert.doesNotMatch(scanned.page.url(), /pair=/, 'the code does not stay in the address bar');

    const problems = [...owner.problems, ...tablet.problems, ...scanned.problems];
    await owner.context.close();
    await tablet.context.close();
    await scanned.context.close();
    assert.deepEqual(problems, []);
  });
});
