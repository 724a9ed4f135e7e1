// The truth at the counter (issue 18): when no node answers, the QR page says in red that payments
// are not being seen, the header light is not green, and the customer display says "please wait"
// instead of showing the QR code — each within 10 s; when the node answers again, both recover.
// A customer who sends a cent too little sees both figures on the display, the cashier sees them
// on the QR page and accepts what arrived in one click; the sale then shows what arrived.
// The only RPC endpoint is the fault proxy of devchain/ in front of a real anvil (no WebSocket, so
// every read goes through the proxy).
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import { freePort } from '../devchain/lib/anvil.mjs';
import { startFaultProxy } from '../devchain/lib/fault-proxy.mjs';
import { ACCOUNTS, transfer } from '../devchain/lib/tokens.mjs';
import { ROOT, configToml, up } from '../devchain/up.mjs';
import { ARTIFACTS, CHROMIUM_ARGS, serverBinary, waitForHealth } from './lib/harness.mjs';


let chain;
let proxy;
let server;
let base;
let browser;

before(async () => {
  const bin = serverBinary();
  const stateDir = mkdtempSync(join(tmpdir(), 'stablepay-truth-'));
  const port = await freePort();
  chain = await up({ bind: `127.0.0.1:${port}`, blockTime: 1, stateDir });
  proxy = await startFaultProxy({ upstream: chain.anvil.rpcUrl });
  const tokens = Object.entries(chain.state.tokens).map(([symbol, address]) => ({ symbol, name: symbol, address }));
  const configPath = join(stateDir, 'truth.toml');
  writeFileSync(configPath, configToml({
    bind: `127.0.0.1:${port}`,
    databasePath: join(stateDir, 'truth.db'),
    rpcUrls: [proxy.url],
    merchant: ACCOUNTS.merchant,
    tokens,
  }));
  base = `http://127.0.0.1:${port}`;
  server = spawn(bin, ['serve', '--config', configPath], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, RUST_LOG: 'warn' } });
  await waitForHealth(base);
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
});

after(async () => {
  await browser?.close();
  server?.kill('SIGTERM');
  await proxy?.close();
  await chain?.anvil.stop();
});

it('with the node unreachable the QR page and the display say payments are not being seen within 10 s', async () => {
  const context = await browser.newContext({ viewport: { width: 1024, height: 768 } });
  const till = await context.newPage();
  const display = await context.newPage();
  const problems = [];
  for (const page of [till, display]) page.on('pageerror', (e) => problems.push(e.message));

  await display.goto(`${base}/#/display`);
  await till.goto(`${base}/#/`);
  for (const key of ['1', '2']) await till.locator(`.keypad [data-key="${key}"]`).click();
  await till.getByTestId('next').click();
  await till.locator('[data-token="USDT"]').check();
  await till.getByTestId('create').click();
  await till.waitForURL(/#\/pay\/pay_[0-9a-f]{32}$/);
  await till.getByRole('button', { name: 'Show on customer display' }).click();
  await display.getByTestId('display-amount').waitFor({ timeout: 10_000 });
  await till.locator('[data-testid=header-light][data-light="ok"]').waitFor({ timeout: 10_000 });
  assert.equal(await till.getByTestId('not-seen').count(), 0, 'the node answers: no warning');

  await proxy.set({ http: { status: 503 } });
  const cut = Date.now();
  await till.getByTestId('not-seen').waitFor({ timeout: 10_000 });
  await display.getByTestId('display-wait').waitFor({ timeout: 10_000 });
  const within = Date.now() - cut;
  assert.ok(within <= 10_000, `said so after ${within} ms`);
  assert.match(await till.getByTestId('not-seen').innerText(), /No blockchain node answers/);
  assert.equal(await till.getByTestId('header-light').getAttribute('data-light'), 'blind');
  assert.equal(await display.locator('img').count(), 0, 'no QR code to pay into while nobody watches');
  await till.screenshot({ path: join(ARTIFACTS, 'truth-qr-not-seen.png') });
  await display.screenshot({ path: join(ARTIFACTS, 'truth-display-wait.png') });

  await proxy.set({});
  await till.getByTestId('not-seen').waitFor({ state: 'detached', timeout: 15_000 });
  await display.getByTestId('display-amount').waitFor({ timeout: 15_000 });
  assert.deepEqual(problems, []);
  await context.close();
});

it('an underpaid transfer shows both figures on both screens and attaches in one click', async () => {
  const context = await browser.newContext({ viewport: { width: 1024, height: 768 } });
  const till = await context.newPage();
  const display = await context.newPage();
  await display.goto(`${base}/#/display`);
  await till.goto(`${base}/#/`);
  await till.locator('.keypad [data-key="5"]').click();
  await till.getByTestId('next').click();
  await till.locator('[data-token="USDT"]').check();
  await till.getByTestId('create').click();
  await till.waitForURL(/#\/pay\/pay_[0-9a-f]{32}$/);
  await till.getByRole('button', { name: 'Show on customer display' }).click();
  await display.getByTestId('display-amount').waitFor({ timeout: 10_000 });
  const id = till.url().split('/').pop();
  const payment = await (await fetch(`${base}/api/v1/payments/${id}`)).json();
  const short = BigInt(payment.amount_base_units) - 10n ** 16n; // one cent short

  await transfer(chain.anvil.call, chain.state.tokens.USDT, ACCOUNTS.customer, ACCOUNTS.merchant, short);
  const received = (Number(short / 10n ** 14n) / 10_000).toFixed(2);
  await till.getByTestId('wrong-amount').waitFor({ timeout: 15_000 });
  assert.match(await till.getByTestId('wrong-amount').innerText(), new RegExp(`${received} USDT arrived — this sale asks ${payment.amount} USDT`));
  await display.getByTestId('display-wrong-amount').waitFor({ timeout: 10_000 });
  assert.match(await display.getByTestId('display-wrong-amount').innerText(), new RegExp(`We received ${received} USDT`));
  await till.screenshot({ path: join(ARTIFACTS, 'truth-wrong-amount.png') });
  await display.screenshot({ path: join(ARTIFACTS, 'truth-display-wrong-amount.png') });

  await till.getByTestId('accept-wrong-amount').click();
  await till.waitForURL(new RegExp(`#/pay/${id}/success$`), { timeout: 30_000 });
  assert.equal(await till.getByTestId('paid-amount').innerText(), `${received} USDT`, 'what arrived, not what was asked');
  await context.close();
});
