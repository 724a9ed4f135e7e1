// A till on the shop's network over plain HTTP (issue 18): the server listens on every interface
// with a cashier key and TLS switched off (`server.tls_self_signed = false`), and a browser on
// another machine — here Chromium opening the server's LAN address, not loopback, so the page is no
// "secure context" — takes a sale to paid: the key typed once in Settings, keypad, token, QR, paid
// on anvil. (`crypto.randomUUID` exists only in secure contexts: the idempotency key must not need
// it.) Skipped when this machine has no LAN address.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import { freePort } from '../devchain/lib/anvil.mjs';
import { ACCOUNTS, transfer } from '../devchain/lib/tokens.mjs';
import { ROOT, up } from '../devchain/up.mjs';
import { ARTIFACTS, CHROMIUM_ARGS, serverBinary, waitForHealth } from './lib/harness.mjs';

const CASHIER = 'e2e-cashier-key-0123456789abcdef0123456789';
const LAN = Object.values(networkInterfaces())
  .flat()
  .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;

let chain;
let server;
let base;
let browser;

before(async () => {
  if (!LAN) return;
  const bin = serverBinary();
  const port = await freePort();
  const stateDir = mkdtempSync(join(tmpdir(), 'stablepay-lan-'));
  chain = await up({ bind: `127.0.0.1:${port}`, blockTime: 1, stateDir });
  const config = join(stateDir, 'lan.toml');
  const demo = readFileSync(chain.configPath, 'utf8')
    .replace(`bind = "127.0.0.1:${port}"`, `bind = "0.0.0.0:${port}"\ntls_self_signed = false\nkeys = [{ name = "till 2", role = "cashier", key = "${CASHIER}" }]`)
    .replace('confirmations = 3', 'confirmations = 1');
  writeFileSync(config, demo);
  base = `http://${LAN}:${port}`;
  server = spawn(bin, ['serve', '--config', config], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, RUST_LOG: 'warn' } });
  await waitForHealth(base);
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
});

after(async () => {
  await browser?.close();
  server?.kill('SIGTERM');
  await chain?.anvil.stop();
});

it('a till on a LAN address over plain HTTP completes a sale', { skip: !LAN && 'no LAN address' }, async () => {
  const context = await browser.newContext({ viewport: { width: 1024, height: 768 } });
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(e.message));
  await page.goto(`${base}/#/settings`);
  assert.equal(await page.evaluate(() => window.isSecureContext), false, 'plain HTTP on a LAN address');
  await page.locator('input[type=password]').fill(CASHIER);
  await page.locator('input[type=password]').press('Enter');

  await page.goto(`${base}/#/`);
  for (const key of ['7', '5']) await page.locator(`.keypad [data-key="${key}"]`).click();
  await page.keyboard.press('Enter');
  await page.locator('[data-token="USDT"]').check();
  await page.keyboard.press('Enter');
  await page.waitForURL(/#\/pay\/pay_[0-9a-f]{32}$/, { timeout: 10_000 });
  const id = page.url().split('/').pop();
  const payment = await (await fetch(`${base}/api/v1/payments/${id}`)).json();
  await transfer(chain.anvil.call, chain.state.tokens.USDT, ACCOUNTS.customer, ACCOUNTS.merchant, BigInt(payment.amount_base_units));
  await page.waitForURL(new RegExp(`#/pay/${id}/success$`), { timeout: 30_000 });
  await page.screenshot({ path: join(ARTIFACTS, 'lan-plain-http-paid.png') });
  assert.deepEqual(problems, []);
  await context.close();
});
