// End to end against endpoints that behave like BSC's public ones: the first RPC endpoint refuses
// eth_getLogs with `-32005 limit exceeded` (as bsc-dataseed does), the second lags a few blocks
// behind for a while, the third is the node itself (the fault proxy of devchain/ in front of a real
// anvil making a block a second). A cashier sells in Chromium, the customer pays on chain, both
// stay right: the sale reaches success without ever falling back, the monitoring page says plainly
// which endpoint does not serve logs, and a replay of the same transaction for a new sale is refused.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import { freePort } from '../devchain/lib/anvil.mjs';
import { startFaultProxy } from '../devchain/lib/fault-proxy.mjs';
import { ACCOUNTS, transfer } from '../devchain/lib/tokens.mjs';
import { ROOT, configToml, up } from '../devchain/up.mjs';

const ARTIFACTS = join(ROOT, 'artifacts', 'e2e');
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'];

let chain;
let refusing;
let lagging;
let server;
let base;
let browser;

before(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  const bin = join(ROOT, 'target', 'debug', 'stablepay-server');
  if (!existsSync(bin)) spawnSync('cargo', ['build', '-p', 'stablepay-server'], { cwd: ROOT, stdio: 'inherit' });
  const stateDir = mkdtempSync(join(tmpdir(), 'stablepay-hostile-'));
  const port = await freePort();
  chain = await up({ bind: `127.0.0.1:${port}`, blockTime: 1, stateDir });
  refusing = await startFaultProxy({ upstream: chain.anvil.rpcUrl });
  await refusing.set({ methods: { eth_getLogs: { error: { code: -32005, message: 'limit exceeded' } } } });
  lagging = await startFaultProxy({ upstream: chain.anvil.rpcUrl });
  const tokens = Object.entries(chain.state.tokens).map(([symbol, address]) => ({ symbol, name: symbol, address }));
  const configPath = join(stateDir, 'hostile.toml');
  writeFileSync(configPath, configToml({
    bind: `127.0.0.1:${port}`,
    databasePath: join(stateDir, 'hostile.db'),
    rpcUrls: [refusing.url, lagging.url, chain.anvil.rpcUrl],
    wsUrl: chain.anvil.wsUrl,
    merchant: ACCOUNTS.merchant,
    tokens,
  }));
  base = `http://127.0.0.1:${port}`;
  server = spawn(bin, ['serve', '--config', configPath], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, RUST_LOG: 'warn' } });
  const deadline = Date.now() + 60_000;
  while (!(await fetch(`${base}/health`).then((r) => r.ok, () => false))) {
    if (Date.now() > deadline) throw new Error('the server did not start');
    await new Promise((r) => setTimeout(r, 200));
  }
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
});

after(async () => {
  await browser?.close();
  server?.kill('SIGTERM');
  await refusing?.close();
  await lagging?.close();
  await chain?.anvil.stop();
});

it('a sale is paid and never falls back while one endpoint refuses logs and another lags', async () => {
  const context = await browser.newContext({ viewport: { width: 1024, height: 768 } });
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(e.message));
  page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));

  await page.goto(`${base}/#/`);
  for (const key of ['2', '5']) await page.locator(`.keypad [data-key="${key}"]`).click();
  await page.getByTestId('next').click();
  await page.locator('[data-token="USDT"]').check();
  await page.getByTestId('create').click();
  await page.waitForURL(/#\/pay\/pay_[0-9a-f]{32}$/);
  const id = page.url().split('/').pop();
  const payment = await (await fetch(`${base}/api/v1/payments/${id}`)).json();

  // Every status the payment shows, as a screen following it would see them.
  const statuses = [];
  const watching = setInterval(async () => {
    const p = await (await fetch(`${base}/api/v1/payments/${id}`)).json();
    if (statuses.at(-1) !== p.status) statuses.push(p.status);
  }, 100);
  const receipt = await transfer(chain.anvil.call, chain.state.tokens.USDT, ACCOUNTS.customer, ACCOUNTS.merchant, BigInt(payment.amount_base_units));
  await lagging.set({ lag: 4 });
  await new Promise((r) => setTimeout(r, 3000));
  await lagging.set({});
  await page.waitForURL(new RegExp(`#/pay/${id}/success$`), { timeout: 30_000 });
  clearInterval(watching);
  await page.waitForTimeout(300);
  await page.screenshot({ path: join(ARTIFACTS, 'hostile-success.png') });
  const order = ['pending', 'confirming', 'paid'];
  assert.ok(statuses.every((s, i) => i === 0 || order.indexOf(s) > order.indexOf(statuses[i - 1])), `never back: went ${statuses.join(' → ')}`);
  assert.equal(statuses.at(-1), 'paid');

  await page.goto(`${base}/#/monitoring`);
  const refusingRow = page.locator(`[data-testid=rpc-endpoints] tr`, { hasText: refusing.url.replace('http://', '') });
  await refusingRow.locator('td[data-capability=not_served]').waitFor({ timeout: 30_000 });
  assert.match(await refusingRow.innerText(), /NOT served/);
  await page.screenshot({ path: join(ARTIFACTS, 'hostile-monitoring.png'), fullPage: true });

  // The same transaction offered by a stranger for a new sale of that price: refused (the paid sale
  // still holds the exact amount, so the new sale asks another; the Rust suite replays it against
  // the very same amount too).
  const replay = await (await fetch(`${base}/api/v1/payments`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ amount: '25', token: 'USDT' }) })).json();
  const r = await fetch(`${base}/api/v1/payments/${replay.id}/process`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ transaction_hash: receipt.transactionHash }) });
  assert.equal(r.status, 422);
  assert.ok(['transaction_too_old', 'amount_mismatch'].includes((await r.json()).error.code));
  assert.deepEqual(problems, []);
  await context.close();
});
