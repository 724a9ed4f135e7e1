// End to end: the real server and a real anvil chain, Debian's Chromium driven by playwright-core.
// A cashier makes a sale on the POS, the QR page shows it, a customer display (another browser
// context, as another device would be) shows the same payment, the customer pays on chain, and both
// screens reach success without a reload — in English and in Simplified Chinese. Screenshots go to
// artifacts/e2e/. The test also fails on any console error or any request to another host.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import { freePort } from '../devchain/lib/anvil.mjs';
import { ACCOUNTS, transfer } from '../devchain/lib/tokens.mjs';
import { ROOT, up } from '../devchain/up.mjs';

const ARTIFACTS = join(ROOT, 'artifacts', 'e2e');
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'];

let chain;
let server;
let base;
let browser;
let tokens;

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

/** A browser context that records console errors and every host it requests. */
async function screen(name) {
  const context = await browser.newContext({ viewport: { width: 1024, height: 768 } });
  const page = await context.newPage();
  const problems = [];
  const host = new URL(base).host;
  page.on('console', (m) => m.type() === 'error' && problems.push(`${name} console: ${m.text()}`));
  page.on('pageerror', (e) => problems.push(`${name} page error: ${e.message}`));
  page.on('request', (r) => {
    const url = new URL(r.url());
    if (url.host !== host && url.protocol !== 'data:') problems.push(`${name} requested ${r.url()}`);
  });
  return { context, page, problems };
}

before(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  const bin = join(ROOT, 'target', 'debug', 'stablepay-server');
  if (!existsSync(bin)) spawnSync('cargo', ['build', '-p', 'stablepay-server'], { cwd: ROOT, stdio: 'inherit' });
  const port = await freePort();
  const stateDir = mkdtempSync(join(tmpdir(), 'stablepay-e2e-'));
  chain = await up({ bind: `127.0.0.1:${port}`, blockTime: 1, stateDir });
  tokens = chain.state.tokens;
  base = `http://127.0.0.1:${port}`;
  server = spawn(bin, ['serve', '--config', chain.configPath], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, RUST_LOG: 'warn' } });
  await waitForHealth(base);
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
});

after(async () => {
  await browser?.close();
  server?.kill('SIGTERM');
  await chain?.anvil.stop();
});

async function sale(locale) {
  const suffix = locale === 'en' ? '' : `?lang=${locale}`;
  const pos = await screen('pos');
  const display = await screen('display');
  await display.page.goto(`${base}/${suffix}#/display`);
  await display.page.getByTestId('display').waitFor();

  // The cashier rings up 10 on the keypad and picks USDT.
  await pos.page.goto(`${base}/${suffix}#/`);
  for (const key of ['1', '0']) await pos.page.locator(`.keypad [data-key="${key}"]`).click();
  assert.equal(await pos.page.getByTestId('total').textContent(), locale === 'en' ? '$10' : 'US$10');
  await pos.page.getByTestId('next').click();
  await pos.page.locator('[data-token="USDT"]').check();
  await pos.page.getByTestId('create').click();
  await pos.page.waitForURL(/#\/pay\/pay_[0-9a-f]{32}$/);
  const id = pos.page.url().split('/').pop();
  await pos.page.getByTestId('qr').waitFor();
  await pos.page.waitForTimeout(300);
  await pos.page.screenshot({ path: join(ARTIFACTS, `${locale}-1-qr.png`) });

  const payment = await (await fetch(`${base}/api/v1/payments/${id}`)).json();
  assert.equal(payment.status, 'pending');
  // The customer display shows the same payment, with the same exact amount.
  await display.page.getByTestId('display-amount').filter({ hasText: `${payment.amount} USDT` }).waitFor({ timeout: 10_000 });
  await display.page.screenshot({ path: join(ARTIFACTS, `${locale}-2-display.png`) });

  // The customer pays exactly as shown, on chain.
  await transfer(chain.anvil.call, tokens.USDT, ACCOUNTS.customer, ACCOUNTS.merchant, BigInt(payment.amount_base_units));

  // Both screens reach success by themselves.
  await pos.page.waitForURL(new RegExp(`#/pay/${id}/success$`), { timeout: 30_000 });
  await pos.page.getByTestId('success-title').waitFor();
  await display.page.getByTestId('display-success').waitFor({ timeout: 30_000 });
  const tx = await pos.page.getByTestId('tx').textContent();
  assert.match(tx, /^0x[0-9a-f]{64}$/);
  await pos.page.waitForTimeout(300);
  await pos.page.screenshot({ path: join(ARTIFACTS, `${locale}-3-success.png`) });
  await display.page.screenshot({ path: join(ARTIFACTS, `${locale}-4-display-success.png`) });

  const texts = { pos: await pos.page.locator('body').innerText(), display: await display.page.locator('body').innerText() };
  const problems = [...pos.problems, ...display.problems];
  await pos.context.close();
  await display.context.close();
  return { id, texts, problems };
}

describe('checkout in the browser against the real server and chain', () => {
  it('a cashier sale is paid on chain and both screens show success without a reload', async () => {
    const { texts, problems } = await sale('en');
    assert.match(texts.pos, /Payment received/);
    assert.match(texts.display, /Thank you!/);
    assert.deepEqual(problems, []);
  });

  it('the same flow works in Simplified Chinese', async () => {
    const { texts, problems } = await sale('zh-CN');
    assert.match(texts.pos, /收款成功/);
    assert.match(texts.display, /谢谢惠顾/);
    assert.deepEqual(problems, []);
  });

  it('the back-office screens show the sales: history, inbox, monitoring, products, settings', async () => {
    const office = await screen('office');
    const { page } = office;
    await page.goto(`${base}/#/history`);
    await page.locator('tr[data-id]').first().waitFor();
    assert.ok((await page.locator('tr[data-id]').count()) >= 2);
    assert.match(await page.locator('table').innerText(), /Paid/);
    await page.screenshot({ path: join(ARTIFACTS, 'history.png') });
    await page.goto(`${base}/#/transfers`);
    await page.getByRole('heading', { name: 'Unmatched transfers' }).waitFor();
    await page.goto(`${base}/#/monitoring`);
    await page.getByTestId('kpi-total').waitFor();
    assert.match(await page.getByTestId('kpi-total').innerText(), /\d/);
    await page.getByTestId('log-blockchain').locator('li').first().waitFor();
    await page.waitForTimeout(300);
    await page.screenshot({ path: join(ARTIFACTS, 'monitoring.png'), fullPage: true });
    await page.goto(`${base}/#/products`);
    await page.getByTestId('product-name').fill('Espresso');
    await page.getByTestId('product-price').fill('3.20');
    await page.getByTestId('product-price').press('Enter');
    await page.getByRole('cell', { name: /Espresso/ }).waitFor();
    await page.goto(`${base}/#/`);
    await page.getByRole('button', { name: /Espresso/ }).waitFor();
    await page.screenshot({ path: join(ARTIFACTS, 'checkout.png') });
    await page.goto(`${base}/#/settings`);
    await page.getByText('0x70997970C51812dc3A010C7d01b50e0d17dc79C8').waitFor();
    await page.screenshot({ path: join(ARTIFACTS, 'settings.png'), fullPage: true });
    assert.deepEqual(office.problems, []);
    await office.context.close();
  });

  it('serves the standalone WebSocket monitor page with both logs', async () => {
    const page = (await screen('monitor')).page;
    await page.goto(`${base}/src/websocket-monitor.html`);
    await page.locator('#frontend-log li').first().waitFor();
    await page.waitForFunction(() => document.querySelector('#updated').textContent.includes(':'));
    const frontend = await page.locator('#frontend-log').innerText();
    const blockchain = await page.locator('#blockchain-log').innerText();
    assert.match(frontend, /payment_status_update|connection_ack/);
    assert.match(blockchain, /transfer_event|new_head/);
    await page.screenshot({ path: join(ARTIFACTS, 'websocket-monitor.png') });
    await page.goto(`${base}/src/websocket-monitor.html?lang=zh-CN`);
    await page.locator('#frontend-log li').first().waitFor();
    assert.equal(await page.locator('h1').innerText(), 'StablePay — WebSocket 监控');
    assert.match(await page.locator('#frontend-state h2').innerText(), /前端连接/);
    await page.screenshot({ path: join(ARTIFACTS, 'websocket-monitor-zh.png') });
  });
});
