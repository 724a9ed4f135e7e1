// Receipts (issue 19), end to end: a CNY shop sells 35.50 yuan, the customer pays on a real anvil
// chain, and the receipt prints by itself (auto_print) as ESC/POS to a receipt printer on the
// network — a TCP listener here, whose bytes decode to the receipt's lines and a QR code of the
// transaction on the explorer. The cashier opens the receipt page, which Chromium prints to PDF;
// `pdftotext` reads back the lines, both amounts and the transaction. In English and in Chinese;
// the PDFs and screenshots go to artifacts/e2e/receipt-*.
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import { ACCOUNTS, transfer } from '../devchain/lib/tokens.mjs';
import { ARTIFACTS, CHROMIUM_ARGS, startChainShop } from './lib/harness.mjs';

const missing = spawnSync('sh', ['-c', 'command -v pdftotext']).status === 0 ? null : 'pdftotext (Debian poppler-utils)';
let chain;
let browser;
let base;
let server;
let printer;
const printed = []; // each connection's bytes

/** What a receipt printer makes of ESC/POS bytes: text lines and QR data (`GS ( k … 1 P 0`). */
function decode(bytes) {
  const text = [];
  const qrs = [];
  for (let i = 0; i < bytes.length; ) {
    const b = bytes[i];
    if (b === 0x1b) i += bytes[i + 1] === 0x40 ? 2 : 3;
    else if (b === 0x1d && bytes[i + 1] === 0x28) {
      const len = bytes[i + 3] | (bytes[i + 4] << 8);
      const body = bytes.subarray(i + 5, i + 5 + len);
      if (body[0] === 49 && body[1] === 80 && body[2] === 48) qrs.push(Buffer.from(body.subarray(3)).toString('utf8'));
      i += 5 + len;
    } else if (b === 0x1d) i += bytes[i + 1] === 0x56 ? 4 : 3;
    else {
      text.push(b);
      i += 1;
    }
  }
  return { lines: Buffer.from(text).toString('utf8').split('\n').filter(Boolean), qrs };
}

before(async () => {
  if (missing) return;
  printer = createServer((socket) => {
    const chunks = [];
    socket.on('data', (c) => chunks.push(c));
    socket.on('end', () => printed.push(Buffer.concat(chunks)));
  });
  await new Promise((r) => printer.listen(0, '127.0.0.1', r));
  ({ chain, base, server } = await startChainShop({
    label: 'receipt',
    explorer: 'https://bscscan.com',
    extra: () => `[pricing]\ncurrency = "CNY"\nsource = "fixed"\nrate = "7.10"\n\n[receipts]\naddress = ["1 Harbour Road"]\nprinter = "127.0.0.1:${printer.address().port}"\nauto_print = true\n\n[tips]\nchoices = [10, 15, 20]\n`,
  }));
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
});

after(async () => {
  await browser?.close();
  server?.kill('SIGTERM');
  printer?.close();
  await chain?.anvil.stop();
});

async function sale(lang) {
  const context = await browser.newContext({ viewport: { width: 900, height: 900 } });
  const page = await context.newPage();
  await page.goto(`${base}/?lang=${lang}#/`);
  for (const key of '35.5') await page.locator(`.keypad [data-key="${key}"]`).click();
  await page.getByTestId('next').click();
  await page.locator('[data-token="USDT"]').check();
  await page.getByTestId('create').click();
  await page.waitForURL(/#\/pay\/pay_[0-9a-f]{32}$/);
  const id = page.url().split('/').pop();
  // The shop offers tips: the cashier chooses "no tip" for the customer here.
  await page.getByTestId('tip-none-cashier').click();
  await page.getByTestId('qr').waitFor();
  const payment = await (await fetch(`${base}/api/v1/payments/${id}`)).json();
  const before = printed.length;
  await transfer(chain.anvil.call, chain.state.tokens.USDT, ACCOUNTS.customer, ACCOUNTS.merchant, BigInt(payment.amount_base_units));
  await page.getByTestId('success-title').waitFor({ timeout: 30_000 });
  return { context, page, id, before, payment };
}

it('prints a paid sale by itself as ESC/POS with its lines and the transaction as a QR code', { skip: missing ?? false }, async () => {
  const { context, id, before, payment } = await sale('en');
  for (let i = 0; i < 50 && printed.length === before; i++) await new Promise((r) => setTimeout(r, 100));
  assert.equal(printed.length, before + 1, 'one receipt printed');
  const { lines, qrs } = decode(printed.at(-1));
  const paid = await (await fetch(`${base}/api/v1/payments/${id}`)).json();
  assert.equal(lines[0], 'Corner Café');
  assert.ok(lines.includes('1 Harbour Road'), lines.join('\n'));
  assert.ok(lines.some((l) => l.startsWith('Total') && l.endsWith('35.50 CNY')), lines.join('\n'));
  assert.ok(lines.some((l) => l.startsWith('Paid') && l.endsWith(`${payment.amount} USDT`)), lines.join('\n'));
  assert.ok(lines.includes('1 USDT = 7.1 CNY (fixed)'));
  assert.ok(lines.includes(paid.transaction_hash));
  assert.deepEqual(qrs, [`https://bscscan.com/tx/${paid.transaction_hash}`]);
  await context.close();
});

for (const lang of ['en', 'zh-CN']) {
  it(`shows the receipt page and prints it to PDF with both amounts and the transaction, in ${lang}`, { skip: missing ?? false }, async () => {
    const { context, page, payment } = await sale(lang);
    await page.getByTestId('receipt-link').click();
    await page.getByTestId('receipt').waitFor();
    await page.screenshot({ path: join(ARTIFACTS, `receipt-${lang}.png`), fullPage: true });
    const pdf = join(ARTIFACTS, `receipt-${lang}.pdf`);
    await page.emulateMedia({ media: 'print' });
    await page.pdf({ path: pdf, width: '80mm', printBackground: true });
    const text = spawnSync('pdftotext', ['-layout', pdf, '-'], { encoding: 'utf8' }).stdout;
    const tx = await page.getByTestId('receipt-tx').innerText();
    for (const expected of ['Corner Café', '1 Harbour Road', '35.50 CNY', `${payment.amount} USDT`, '7.1 CNY', lang === 'en' ? 'Total' : '合计']) {
      assert.ok(text.includes(expected), `${expected} in the PDF:\n${text}`);
    }
    assert.ok(text.replace(/\s/g, '').includes(tx), `the transaction in the PDF:\n${text}`);
    assert.ok(!text.includes(lang === 'en' ? 'Receipt printer' : '小票打印机'), 'the buttons are not printed');
    await context.close();
  });
}

it('rings up a cart of three lines with 10 % off, the customer adds a 10 % tip on the display, it is paid, and the receipt lists the lines and the discount', { skip: missing ?? false }, async () => {
  const json = { 'content-type': 'application/json' };
  const product = async (name, price) => (await (await fetch(`${base}/api/v1/products`, { method: 'POST', headers: json, body: JSON.stringify({ name, price }) })).json()).id;
  const flatWhite = await product('Flat white', '18.50');
  const croissant = await product('Croissant', '12');
  const context = await browser.newContext({ viewport: { width: 1024, height: 900 } });
  const page = await context.newPage();
  const display = await (await browser.newContext({ viewport: { width: 1024, height: 768 } })).newPage();
  await display.goto(`${base}/?lang=en#/display`);
  await display.getByTestId('display').waitFor();
  await page.goto(`${base}/?lang=en#/`);
  await page.locator(`[data-product="${flatWhite}"]`).click();
  await page.locator(`[data-product="${flatWhite}"]`).click();
  await page.locator(`[data-product="${croissant}"]`).click();
  for (const key of '0.99') await page.locator(`.keypad [data-key="${key}"]`).click();
  await page.getByTestId('cart-name').fill('Water');
  await page.getByTestId('cart-add').click();
  await page.getByTestId('discount').fill('10');
  assert.equal(await page.getByTestId('discount-kind').getAttribute('data-kind'), 'percent');
  await page.screenshot({ path: join(ARTIFACTS, 'cart-en-keypad.png') });
  await page.getByTestId('next').click();
  await page.locator('[data-token="USDT"]').check();
  await page.getByTestId('create').click();
  await page.waitForURL(/#\/pay\/pay_[0-9a-f]{32}$/);
  const id = page.url().split('/').pop();
  await page.getByTestId('tip-waiting').waitFor();
  // The customer picks 10 % on the display; the QR page shows the new amount by itself.
  await display.getByTestId('tip-10').click();
  await display.screenshot({ path: join(ARTIFACTS, 'cart-en-display-tip.png') });
  await page.getByTestId('qr').waitFor({ timeout: 10_000 });
  const payment = await (await fetch(`${base}/api/v1/payments/${id}`)).json();
  assert.equal(payment.tip.base, '44.99', '49.99 less 10 %');
  assert.equal(payment.tip.amount, '4.50');
  assert.equal(payment.fiat_amount, '49.49', 'the tip added before the amount is fixed');
  await display.getByTestId('display-amount').filter({ hasText: `${payment.amount} USDT` }).waitFor({ timeout: 10_000 });
  assert.match(await display.getByTestId('cart-lines-tip').innerText(), /10 %[\s\S]*4\.50/);
  assert.deepEqual(payment.cart.items.map((i) => [i.name, i.quantity, i.amount]), [['Flat white', 2, '37.00'], ['Croissant', 1, '12.00'], ['Water', 1, '0.99']]);
  await page.screenshot({ path: join(ARTIFACTS, 'cart-en-qr.png') });
  await transfer(chain.anvil.call, chain.state.tokens.USDT, ACCOUNTS.customer, ACCOUNTS.merchant, BigInt(payment.amount_base_units));
  await page.getByTestId('success-title').waitFor({ timeout: 30_000 });
  await page.getByTestId('receipt-link').click();
  await page.getByTestId('receipt').waitFor();
  const receipt = await page.getByTestId('receipt').innerText();
  for (const expected of ['2 × Flat white', '37.00 CNY', 'Croissant', 'Water', '− 10 %', '-5.00 CNY', '+ 10 %', '4.50 CNY', '49.49 CNY']) {
    assert.ok(receipt.includes(expected), `${expected} on the receipt:\n${receipt}`);
  }
  await page.screenshot({ path: join(ARTIFACTS, 'cart-en-receipt.png'), fullPage: true });
  await display.context().close();
  await context.close();
});
