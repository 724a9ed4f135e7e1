// Refunds without holding keys (issue 19), end to end on a real anvil chain: a CNY shop sells, the
// customer pays, the cashier opens the refund page from the success screen — the payer's address and
// what may be refunded are filled in — and asks for a partial refund. The page shows an EIP-681 QR
// for the shop's own wallet; here the shop's key on anvil sends it. A transfer of another amount, and
// one of the right amount to someone else, match nothing; the right one is matched and confirmed,
// the sale becomes partially refunded, then refunded once the rest goes back. The refund slip and the
// day's close show it. In English and in Chinese; screenshots in artifacts/e2e/refund-*.
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import { ACCOUNTS, mint, toBaseUnits, transfer } from '../devchain/lib/tokens.mjs';
import { ARTIFACTS, CHROMIUM_ARGS, startChainShop } from './lib/harness.mjs';

let chain;
let browser;
let base;
let server;
let usdt;
const refundedToday = []; // the token amounts of the sales refunded whole

const api = async (path, init) => {
  const response = await fetch(`${base}/api/v1${path}`, init);
  const body = await response.json();
  assert.ok(response.ok, `${path}: ${JSON.stringify(body)}`);
  return body;
};

/** Polls `read` until `done` holds (30 s at most). */
async function until(what, read, done) {
  for (let i = 0; i < 300; i++) {
    const value = await read();
    if (done(value)) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`never ${what}`);
}

/** The shop's own wallet sends `amount` USDT to `to` (anvil holds the merchant's key). */
const sendFromShop = (to, amount) => transfer(chain.anvil.call, usdt, ACCOUNTS.merchant, to, toBaseUnits(amount, 18));

before(async () => {
  ({ chain, base, server } = await startChainShop({
    label: 'refund',
    explorer: 'https://bscscan.com',
    extra: async (c) => {
      // The shop's wallet holds more than one day's sales (it pays the decoys below too).
      await mint(c.anvil.call, c.state.tokens.USDT, ACCOUNTS.merchant, toBaseUnits('1000', 18));
      return '[pricing]\ncurrency = "CNY"\nsource = "fixed"\nrate = "7.10"\n';
    },
  }));
  usdt = chain.state.tokens.USDT;
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
});

after(async () => {
  await browser?.close();
  server?.kill('SIGTERM');
  await chain?.anvil.stop();
});

/** A 71 yuan sale (10 USDT) paid by the customer. */
async function paidSale() {
  const sale = await api('/payments', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ fiat_amount: '71', token: 'USDT', network: 'bsc' }) });
  await transfer(chain.anvil.call, usdt, ACCOUNTS.customer, ACCOUNTS.merchant, BigInt(sale.amount_base_units));
  return until('paid', () => api(`/payments/${sale.id}`), (p) => p.status === 'paid');
}

/** On the refund page: asks for `amount` (or what is prefilled), returns the refund the server made. */
async function askRefund(page, sale, { amount, reason } = {}) {
  await page.getByTestId('refund-amount').waitFor();
  if (amount) await page.getByTestId('refund-amount').fill(amount);
  if (reason) await page.getByTestId('refund-reason').fill(reason);
  await page.getByTestId('refund-start').click();
  await page.getByTestId('refund-request').waitFor();
  const { refunds } = await api(`/payments/${sale.id}/refunds`);
  return refunds.at(-1);
}

it('refunds part of a sale, ignores a wrong amount and a wrong recipient, then refunds the rest, in en', async () => {
  const sale = await paidSale();
  const context = await browser.newContext({ viewport: { width: 1000, height: 1100 } });
  const page = await context.newPage();
  await page.goto(`${base}/?lang=en#/pay/${sale.id}/success`);
  await page.getByTestId('refund-link').click();
  await page.waitForURL(/\/refund$/);
  assert.equal(await page.getByTestId('refund-to').inputValue(), ACCOUNTS.customer, 'the payer, from the crediting transfer');
  assert.equal(await page.getByTestId('refund-amount').inputValue(), sale.amount, 'all of it by default');
  await page.screenshot({ path: join(ARTIFACTS, 'refund-en-form.png'), fullPage: true });

  const partial = await askRefund(page, sale, { amount: '4', reason: 'one coffee returned' });
  assert.equal(partial.status, 'awaiting');
  assert.equal(partial.amount, '4.00');
  assert.equal(partial.payment_uri, `ethereum:${usdt}@56/transfer?address=${ACCOUNTS.customer}&uint256=${toBaseUnits('4', 18)}`);
  assert.match(await page.getByTestId('refund-request-amount').innerText(), /4\.00 USDT/);
  await page.getByTestId('refund-qr').waitFor();
  await page.screenshot({ path: join(ARTIFACTS, 'refund-en-qr.png'), fullPage: true });

  // Not this refund: another amount to the payer, and the right amount to someone else.
  await sendFromShop(ACCOUNTS.customer, '3.99');
  await sendFromShop(ACCOUNTS.deployer, '4');
  const head = Number(await chain.anvil.call('eth_blockNumber', []));
  await until('5 blocks on', async () => Number(await chain.anvil.call('eth_blockNumber', [])), (n) => n >= head + 5);
  assert.equal((await api(`/refunds/${partial.id}`)).status, 'awaiting', 'neither transfer matched the refund');

  const sent = await sendFromShop(ACCOUNTS.customer, '4');
  await page.getByTestId('refund-done').waitFor({ timeout: 30_000 });
  const done = await api(`/refunds/${partial.id}`);
  assert.equal(done.status, 'confirmed');
  assert.equal(done.transaction_hash, sent.transactionHash);
  assert.equal(done.fiat_amount, '28.40', '4 of 10 USDT of a 71 yuan sale');
  assert.equal((await api(`/payments/${sale.id}`)).status, 'partially_refunded');
  await page.screenshot({ path: join(ARTIFACTS, 'refund-en-partial-done.png'), fullPage: true });

  // The rest: the page offers what is left.
  await page.goto(`${base}/?lang=en#/pay/${sale.id}/refund`);
  await page.getByTestId('refund-amount').waitFor();
  assert.equal(await page.getByTestId('refund-amount').inputValue(), '6.00');
  const rest = await askRefund(page, sale);
  await sendFromShop(ACCOUNTS.customer, rest.amount);
  await page.getByTestId('refund-done').waitFor({ timeout: 30_000 });
  const refunded = await api(`/payments/${sale.id}`);
  refundedToday.push(sale.amount);
  assert.equal(refunded.status, 'refunded');
  assert.equal(refunded.refunded_amount, '10.00');

  await page.goto(`${base}/?lang=en#/pay/${sale.id}/success`);
  await page.getByTestId('refunded-amount').waitFor();
  assert.match(await page.getByTestId('refunded-amount').innerText(), /10\.00 USDT/);
  await page.screenshot({ path: join(ARTIFACTS, 'refund-en-sale-refunded.png'), fullPage: true });

  await page.goto(`${base}/?lang=en#/pay/${sale.id}/receipt?refund=${partial.id}`);
  await page.getByTestId('refund-slip').waitFor();
  const slip = await page.getByTestId('refund-slip').innerText();
  for (const expected of ['Corner Café', '4.00 USDT', '28.40 CNY', sent.transactionHash, 'one coffee returned']) {
    assert.ok(slip.replace(/\s/g, '').includes(expected.replace(/\s/g, '')), `${expected} on the refund slip:\n${slip}`);
  }
  await page.screenshot({ path: join(ARTIFACTS, 'refund-en-slip.png'), fullPage: true });
  await context.close();
});

it('refunds a whole sale from the refund page and shows it on the slip and in the day\'s close, in zh-CN', async () => {
  const sale = await paidSale();
  const context = await browser.newContext({ viewport: { width: 1000, height: 1100 }, locale: 'zh-CN' });
  const page = await context.newPage();
  await page.goto(`${base}/?lang=zh-CN#/pay/${sale.id}/refund`);
  const refund = await askRefund(page, sale, { reason: '顾客退货' });
  assert.equal(refund.amount, sale.amount);
  await page.getByTestId('refund-qr').waitFor();
  await page.screenshot({ path: join(ARTIFACTS, 'refund-zh-CN-qr.png'), fullPage: true });
  const sent = await sendFromShop(ACCOUNTS.customer, sale.amount);
  await page.getByTestId('refund-done').waitFor({ timeout: 30_000 });
  await page.screenshot({ path: join(ARTIFACTS, 'refund-zh-CN-done.png'), fullPage: true });
  assert.equal((await api(`/payments/${sale.id}`)).status, 'refunded');
  refundedToday.push(sale.amount);

  await page.getByTestId('refund-slip-link').click();
  await page.getByTestId('refund-slip').waitFor();
  const slip = await page.getByTestId('refund-slip').innerText();
  assert.ok(slip.includes('退款'), slip);
  assert.ok(slip.replace(/\s/g, '').includes(sent.transactionHash), slip);
  await page.screenshot({ path: join(ARTIFACTS, 'refund-zh-CN-slip.png'), fullPage: true });

  // The day's close: both sales in the takings, the three refunds beside them, the net what stayed.
  const day = new Date();
  const from = new Date(day.getFullYear(), day.getMonth(), day.getDate());
  const to = new Date(from.getTime() + 86_400_000);
  const close = await api(`/reports/close?from=${encodeURIComponent(from.toISOString())}&to=${encodeURIComponent(to.toISOString())}`);
  const given = close.refunds.find((r) => r.token === 'USDT');
  assert.equal(given.refunds, 3);
  const total = refundedToday.reduce((sum, a) => sum + toBaseUnits(a, 18), 0n);
  assert.equal(toBaseUnits(given.amount, 18), total, `${refundedToday.join(' + ')} given back`);
  assert.equal(close.refunds_fiat_total, '142.00');
  assert.equal(close.net_fiat_total, (Number(close.fiat_total) - 142).toFixed(2));
  await page.goto(`${base}/?lang=zh-CN#/close`);
  await page.getByTestId('close-refunds').waitFor();
  assert.ok((await page.getByTestId('close-refunds').innerText()).includes(given.amount));
  await page.screenshot({ path: join(ARTIFACTS, 'refund-zh-CN-close.png'), fullPage: true });
  await context.close();
});
