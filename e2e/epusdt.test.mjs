// The epusdt protocol and the hosted checkout (issue 20), end to end on a real anvil chain: a shop
// system creates an order the way epusdt clients do (MD5 signature with the API token), sends its
// customer to the `payment_url`, which Chromium opens at phone size; the customer pays from a wallet;
// the page follows the payment live and returns the customer to the shop's `redirect_url`. The shop
// system's callback receiver — a real HTTP server here — gets one correctly signed callback with
// status 2 and the transaction hash, retried until it answers `ok`; an order left unpaid calls back
// with status 3 when it expires. In English and in Chinese; screenshots in artifacts/e2e/checkout-*.
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { chromium, devices } from 'playwright-core';
import { ACCOUNTS, transfer } from '../devchain/lib/tokens.mjs';
import { ARTIFACTS, CHROMIUM_ARGS, startChainShop } from './lib/harness.mjs';

const TOKEN = 'e2e_epusdt_token_0123456789';
let chain;
let browser;
let base;
let server;
let shop; // the shop system: its callback receiver and the page customers return to
const callbacks = []; // every callback body received
let refuseNext = 1; // answers before the first "ok"

/** The epusdt docs' signature: non-empty parameters but `signature`, sorted, `k=v&…`, token, MD5. */
function sign(params) {
  const joined = Object.keys(params)
    .filter((k) => k !== 'signature' && params[k] !== '' && params[k] !== null && params[k] !== undefined)
    .sort()
    .map((k) => `${k}=${params[k]}`)
    .join('&');
  return createHash('md5').update(`${joined}${TOKEN}`).digest('hex');
}

async function createOrder(params) {
  const body = { ...params, signature: sign(params) };
  const response = await fetch(`${base}/api/v1/order/create-transaction`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const envelope = await response.json();
  assert.equal(envelope.status_code, 200, JSON.stringify(envelope));
  return envelope.data;
}

async function until(what, done, ms = 90_000) {
  for (const end = Date.now() + ms; Date.now() < end; ) {
    const value = await done();
    if (value) return value;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.fail(`never ${what}`);
}

before(async () => {
  shop = createServer((req, res) => {
    if (req.method === 'POST' && req.url === '/notify') {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        callbacks.push(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        const body = refuseNext > 0 ? 'not yet' : 'ok';
        refuseNext -= 1;
        res.end(body);
      });
      return;
    }
    res.setHeader('content-type', 'text/html; charset=utf-8');
    res.end('<!doctype html><title>Shop</title><h1 id="back">Back at the shop</h1>');
  });
  await new Promise((r) => shop.listen(0, '127.0.0.1', r));
  ({ chain, base, server } = await startChainShop({
    label: 'epusdt',
    extra: () => `[pricing]\ncurrency = "CNY"\nsource = "fixed"\nrate = "7.10"\n\n[compat.epusdt]\ntoken = "${TOKEN}"\nredirect_hosts = ["127.0.0.1:${shop.address().port}"]\n`,
  }));
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
});

after(async () => {
  await browser?.close();
  server?.kill('SIGTERM');
  shop?.close();
  await chain?.anvil.stop();
});

const notifyUrl = () => `http://127.0.0.1:${shop.address().port}/notify`;
const returnUrl = (order) => `http://127.0.0.1:${shop.address().port}/return?order=${order}`;

it('takes an epusdt order on a phone, returns the customer to the shop and calls back signed until ok; an unpaid order calls back expired', async () => {
  // Left unpaid: expires after its 60 s.
  const unpaid = await createOrder({ order_id: 'e2e-unpaid', amount: 7.1, notify_url: notifyUrl(), redirect_url: returnUrl('e2e-unpaid'), trade_type: 'usdt.bep20', timeout: 60 });
  const order = await createOrder({ order_id: 'e2e-1001', amount: 28.4, notify_url: notifyUrl(), redirect_url: returnUrl('e2e-1001'), trade_type: 'usdt.bep20' });
  assert.equal(order.actual_amount, 4, '28.40 yuan at 7.10');
  assert.equal(order.payment_url, `${base}/pay/checkout-counter/${order.trade_id}`);

  const context = await browser.newContext({ ...devices['Pixel 5'], locale: 'en-US' });
  const page = await context.newPage();
  const elsewhere = [];
  page.on('request', (r) => {
    const host = new URL(r.url()).host;
    if (![new URL(base).host, `127.0.0.1:${shop.address().port}`].includes(host) && !r.url().startsWith('data:')) elsewhere.push(r.url());
  });
  await page.goto(order.payment_url);
  await page.getByTestId('checkout-qr').waitFor();
  assert.match(await page.getByTestId('checkout-amount').innerText(), /^4(\.00)? USDT$/);
  const wallet = await page.getByTestId('checkout-wallet').getAttribute('href');
  assert.ok(wallet.startsWith(`ethereum:${chain.state.tokens.USDT}@56/transfer?address=${ACCOUNTS.merchant}&uint256=`), wallet);
  await page.screenshot({ path: join(ARTIFACTS, 'checkout-en-phone.png'), fullPage: true });

  // The order is an ordinary payment: history and stats know it.
  const listed = await (await fetch(`${base}/api/v1/payments?limit=5`)).json();
  assert.ok(listed.payments.some((p) => p.id === order.trade_id && p.order_reference === 'e2e-1001'));

  const payment = await (await fetch(`${base}/api/v1/payments/${order.trade_id}`)).json();
  const sent = await transfer(chain.anvil.call, chain.state.tokens.USDT, ACCOUNTS.customer, ACCOUNTS.merchant, BigInt(payment.amount_base_units));
  await page.getByTestId('checkout-paid').waitFor({ timeout: 30_000 });
  await page.screenshot({ path: join(ARTIFACTS, 'checkout-en-paid.png'), fullPage: true });
  await page.waitForURL(returnUrl('e2e-1001'), { timeout: 15_000 });
  assert.equal(await page.locator('#back').innerText(), 'Back at the shop');
  assert.deepEqual(elsewhere, [], 'the checkout asked no other host');

  // The callback: status 2 with the transaction, signed; refused once, then sent again until "ok".
  const paid = await until('two callbacks for the paid order', () => {
    const mine = callbacks.filter((c) => c.order_id === 'e2e-1001');
    return mine.length >= 2 && mine;
  }, 60_000);
  for (const c of paid) {
    assert.equal(c.status, 2);
    assert.equal(c.trade_id, order.trade_id);
    assert.equal(c.amount, 28.4);
    assert.equal(c.actual_amount, 4);
    assert.equal(c.token, ACCOUNTS.merchant);
    assert.equal(c.block_transaction_id, sent.transactionHash);
    assert.equal(c.signature, sign(c), 'signed the documented way');
  }
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(callbacks.filter((c) => c.order_id === 'e2e-1001').length, 2, 'nothing after "ok"');
  const stats = await (await fetch(`${base}/api/v1/stats/payments`)).json();
  assert.ok(stats.successful_payments >= 1, JSON.stringify(stats));
  await context.close();

  const expired = await until('the unpaid order calls back expired', () => callbacks.find((c) => c.order_id === 'e2e-unpaid'), 120_000);
  assert.equal(expired.status, 3);
  assert.equal(expired.trade_id, unpaid.trade_id);
  assert.equal(expired.block_transaction_id, '');
  assert.equal(expired.signature, sign(expired));
});

it('shows the hosted checkout in Chinese to a Chinese phone, for an order and for a payment of our own API', async () => {
  const order = await createOrder({ order_id: 'e2e-zh', amount: 14.2, notify_url: notifyUrl(), trade_type: 'usdt.bep20' });
  const context = await browser.newContext({ ...devices['Pixel 5'], locale: 'zh-CN' });
  const page = await context.newPage();
  await page.goto(order.payment_url);
  await page.getByTestId('checkout-qr').waitFor();
  assert.match(await page.getByTestId('checkout').innerText(), /使用稳定币付款/);
  await page.screenshot({ path: join(ARTIFACTS, 'checkout-zh-CN-phone.png'), fullPage: true });

  const own = await (await fetch(`${base}/api/v1/payments`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ fiat_amount: '7.10', token: 'USDT', network: 'bsc' }) })).json();
  await page.goto(`${base}/pay/${own.id}`);
  await page.getByTestId('checkout-qr').waitFor();
  assert.match(await page.getByTestId('checkout-amount').innerText(), new RegExp(`${own.amount.replace('.', '\\.')} USDT`));
  await context.close();

  // The owner's side: Settings says the protocol is on, with the trade types to give the shop system.
  for (const lang of ['en', 'zh-CN']) {
    const owner = await browser.newContext({ viewport: { width: 1100, height: 900 } });
    const settings = await owner.newPage();
    await settings.goto(`${base}/?lang=${lang}#/settings`);
    await settings.getByTestId('epusdt-settings').waitFor();
    assert.match(await settings.getByTestId('epusdt-trade-types').innerText(), /usdt\.bep20/);
    await settings.getByTestId('epusdt-settings').scrollIntoViewIfNeeded();
    await settings.getByTestId('epusdt-settings').screenshot({ path: join(ARTIFACTS, `checkout-${lang}-settings.png`) });
    await owner.close();
  }
});
