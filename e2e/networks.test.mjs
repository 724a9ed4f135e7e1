// Several networks at once (issue 19), end to end: two real anvil chains — BSC's 56 and Polygon's
// 137 (the `polygon` preset) — watched by one server with one receive address. The cashier picks the
// network on the token screen; the QR carries that network's chain id; the customer pays on it and
// only that sale is paid. Then the day's close lists the takings per network. In English and in
// Chinese; screenshots in artifacts/e2e/networks-*.png and close-*.png.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import { freePort, startAnvil } from '../devchain/lib/anvil.mjs';
import { ACCOUNTS, checksum, deployToken, mint, toBaseUnits, transfer } from '../devchain/lib/tokens.mjs';
import { ARTIFACTS, CHROMIUM_ARGS, startServer } from './lib/harness.mjs';

let bsc;
let polygon;
let usdt; // { bsc, polygon } contract addresses
let browser;
let base;
let server;

before(async () => {
  bsc = await startAnvil({ blockTime: 1 });
  polygon = await startAnvil({ blockTime: 1, chainId: 137 });
  usdt = {
    bsc: await checksum(bsc.call, await deployToken(bsc.call, { name: 'Tether USD (mock)', symbol: 'USDT', decimals: 18 })),
    polygon: await checksum(polygon.call, await deployToken(polygon.call, { name: 'Tether USD (mock)', symbol: 'USDT', decimals: 6 })),
  };
  await mint(bsc.call, usdt.bsc, ACCOUNTS.customer, toBaseUnits('1000', 18));
  await mint(polygon.call, usdt.polygon, ACCOUNTS.customer, toBaseUnits('1000', 6));
  const dir = mkdtempSync(join(tmpdir(), 'stablepay-networks-'));
  const port = await freePort();
  const file = join(dir, 'stablepay.toml');
  writeFileSync(file, [
    '[server]', `bind = "127.0.0.1:${port}"`, '[database]', `path = "${join(dir, 'stablepay.db')}"`,
    '[merchant]', 'name = "Harbour Shop"', `receive_address = "${ACCOUNTS.merchant}"`,
    '[payments]', 'confirmations = 2', 'require_finalized = false', '[chain]', 'poll_interval_ms = 300',
    '[[networks]]', 'id = "bsc"', 'name = "BNB Smart Chain (local)"', 'chain_id = 56', `rpc_urls = ["${bsc.rpcUrl}"]`,
    '[[networks]]', 'preset = "polygon"', `rpc_urls = ["${polygon.rpcUrl}"]`, 'confirmations = 2',
    '[[tokens]]', 'symbol = "USDT"', 'network = "bsc"', `contract_address = "${usdt.bsc}"`, 'decimals = 18',
    '[[tokens]]', 'symbol = "USDT"', 'network = "polygon"', `contract_address = "${usdt.polygon}"`, 'decimals = 6',
  ].join('\n'));
  base = `http://127.0.0.1:${port}`;
  server = await startServer(file, base);
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
});

after(async () => {
  await browser?.close();
  server?.kill('SIGTERM');
  await bsc?.stop();
  await polygon?.stop();
});

for (const lang of ['en', 'zh-CN']) {
  it(`sells on the network the cashier picks and is paid on that one only, in ${lang}`, async () => {
    const context = await browser.newContext({ viewport: { width: 1024, height: 800 } });
    const page = await context.newPage();
    await page.goto(`${base}/?lang=${lang}#/`);
    for (const key of '12') await page.locator(`.keypad [data-key="${key}"]`).click();
    await page.getByTestId('next').click();
    await page.locator('input[name="network"][value="polygon"]').check();
    await page.locator('[data-token="USDT"]').check();
    await page.screenshot({ path: join(ARTIFACTS, `networks-${lang}-choose.png`) });
    await page.getByTestId('create').click();
    await page.waitForURL(/#\/pay\/pay_[0-9a-f]{32}$/);
    const id = page.url().split('/').pop();
    const onPolygon = await (await fetch(`${base}/api/v1/payments/${id}`)).json();
    assert.equal(onPolygon.network, 'polygon');
    assert.equal(onPolygon.chain_id, 137);
    assert.match(onPolygon.payment_uri, /@137\//, onPolygon.payment_uri);
    await page.getByTestId('qr').waitFor();
    await page.screenshot({ path: join(ARTIFACTS, `networks-${lang}-qr.png`) });

    // A payment of the same amount waiting on BSC is not paid by the Polygon transfer.
    const auth = { 'content-type': 'application/json' };
    const onBsc = await (await fetch(`${base}/api/v1/payments`, { method: 'POST', headers: auth, body: JSON.stringify({ amount: onPolygon.requested_amount, token: 'USDT', network: 'bsc' }) })).json();
    assert.equal(onBsc.amount, onPolygon.amount, 'the same exact amount on both networks');
    await transfer(polygon.call, usdt.polygon, ACCOUNTS.customer, ACCOUNTS.merchant, BigInt(onPolygon.amount_base_units));
    await page.getByTestId('success-title').waitFor({ timeout: 30_000 });
    await page.screenshot({ path: join(ARTIFACTS, `networks-${lang}-paid.png`) });
    const still = await (await fetch(`${base}/api/v1/payments/${onBsc.id}`)).json();
    assert.equal(still.status, 'pending', 'the BSC payment waits for a BSC transfer');
    await fetch(`${base}/api/v1/payments/${onBsc.id}/cancel`, { method: 'POST' });

    // The day's close lists Polygon's takings apart.
    await page.goto(`${base}/?lang=${lang}#/close`);
    await page.getByTestId('close-takings').getByText('Polygon PoS').waitFor();
    await page.screenshot({ path: join(ARTIFACTS, `close-${lang}.png`), fullPage: true });
    await context.close();
  });
}
