// A new owner's first hour (issue 18), on a machine without internet: a fresh data folder (no config
// file at all), the app opens on the first-run setup — not an error, not the sale screen. The owner
// picks the language, tests the built-in nodes (unreachable here) and the local one, enters the shop
// and its receive address, chooses a confirmation policy, saves, and makes a test sale that is paid
// on a real anvil — no file edited, nothing restarted. Once in English, once in Chinese; a
// screenshot of each step in artifacts/e2e/. The local chain carries mock tokens at the real BSC
// contract addresses, so the built-in token list works unchanged.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import { freePort, startAnvil } from '../devchain/lib/anvil.mjs';
import { ACCOUNTS, deployToken, mint, toBaseUnits, transfer } from '../devchain/lib/tokens.mjs';
import { ROOT } from '../devchain/up.mjs';
import { ARTIFACTS, CHROMIUM_ARGS, serverBinary, waitForHealth } from './lib/harness.mjs';

const BSC_USDT = '0x55d398326f99059fF775485246999027B3197955';

let anvil;
let BIN;
let browser;
const servers = [];

before(async () => {
  BIN = serverBinary();
  anvil = await startAnvil({ blockTime: 1 });
  // The mock token's code (its decimals are immutable, in the code) at USDT's real address.
  const mock = await deployToken(anvil.call, { name: 'Tether USD (mock)', symbol: 'USDT', decimals: 18 });
  const code = await anvil.call('eth_getCode', [mock, 'latest']);
  await anvil.call('anvil_setCode', [BSC_USDT, code]);
  await mint(anvil.call, BSC_USDT, ACCOUNTS.customer, toBaseUnits('1000', 18));
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
});

after(async () => {
  await browser?.close();
  for (const s of servers) s.kill('SIGTERM');
  await anvil?.stop();
});

/** A server on a fresh, empty data folder: `--config` names a file that does not exist yet. */
async function freshServer() {
  const dir = mkdtempSync(join(tmpdir(), 'stablepay-first-run-'));
  const port = await freePort();
  const server = spawn(BIN, ['serve', '--config', join(dir, 'stablepay.toml'), '--database', join(dir, 'stablepay.db')], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, RUST_LOG: 'error', STABLEPAY_SERVER__BIND: `127.0.0.1:${port}` },
  });
  servers.push(server);
  const base = `http://127.0.0.1:${port}`;
  await waitForHealth(base);
  return { base, file: join(dir, 'stablepay.toml') };
}

async function firstHour(lang, words) {
  const { base, file } = await freshServer();
  assert.equal(existsSync(file), false, 'no config file before the owner saves');
  const context = await browser.newContext({ viewport: { width: 1024, height: 900 } });
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(e.message));
  const shot = (name) => page.screenshot({ path: join(ARTIFACTS, `first-run-${lang}-${name}.png`), fullPage: true });

  await page.goto(`${base}/#/`);
  await page.waitForURL(/#\/setup$/, { timeout: 10_000 });
  await page.getByTestId('setup-language').selectOption(lang);
  await page.getByTestId('setup').getByText(words.welcome).waitFor();
  await shot('1-welcome');
  await page.getByTestId('setup-next').click();

  // The built-in nodes cannot be reached offline, and say so; the local node is usable.
  await page.getByTestId('probe-0').click();
  await page.locator('[data-testid=probes] tr[data-usable="false"]').first().waitFor({ timeout: 15_000 });
  await page.getByTestId('probe-url').fill(anvil.rpcUrl);
  await page.getByTestId('probe-url').press('Enter');
  await page.locator('[data-testid=probes] tr[data-usable="true"]').waitFor({ timeout: 15_000 });
  assert.match(await page.locator('[data-testid=probes] tr[data-usable="true"]').innerText(), /56/);

  await page.getByTestId('set-shop-name').fill(words.shop);
  await page.getByTestId('set-receive-address').fill(ACCOUNTS.merchant);
  await page.getByTestId('policy-fast').check();
  for (const t of ['USDC', 'BUSD', 'FDUSD']) await page.getByTestId(`set-token-${t}`).uncheck();
  await page.getByTestId('set-rpc-urls').fill(anvil.rpcUrl);
  await shot('2-shop');
  await page.getByTestId('save-settings').click();
  // The customer display (optional): a tablet pairs with a code shown here.
  await page.getByTestId('setup-display').waitFor({ timeout: 20_000 });
  await page.getByTestId('pair-display').click();
  assert.match(await page.getByTestId('pairing-code').innerText(), /\S{4,}/);
  await shot('3-display');
  await page.getByTestId('setup-display-next').click();
  await page.getByTestId('setup-done').waitFor();
  await shot('4-ready');
  const saved = readFileSync(file, 'utf8');
  assert.match(saved, new RegExp(`receive_address = "${ACCOUNTS.merchant}"`));
  assert.match(saved, /confirmations = 1/);

  await page.getByTestId('test-sale').click();
  await page.waitForURL(/#\/pay\/pay_[0-9a-f]{32}$/);
  const id = page.url().split('/').pop();
  const payment = await (await fetch(`${base}/api/v1/payments/${id}`)).json();
  assert.equal(payment.token, 'USDT');
  await page.getByTestId('exact-amount').waitFor();
  await shot('5-test-sale');
  await transfer(anvil.call, BSC_USDT, ACCOUNTS.customer, ACCOUNTS.merchant, BigInt(payment.amount_base_units));
  await page.waitForURL(new RegExp(`#/pay/${id}/success$`), { timeout: 30_000 });
  await page.getByTestId('success-title').waitFor();
  await shot('6-paid');
  assert.deepEqual(problems, []);
  await context.close();
}

it('a new owner sets the shop up in the app and a test sale is paid, in English', () =>
  firstHour('en', { welcome: 'StablePay takes stablecoin payments', shop: 'Corner Café' }));

it('the same first hour in Chinese', () => firstHour('zh-CN', { welcome: 'StablePay 将稳定币付款', shop: '街角咖啡' }));
