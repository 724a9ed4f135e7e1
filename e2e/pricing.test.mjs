// Prices in the shop's currency (issue 19), end to end: a CNY shop rings up a sale on the keypad in
// yuan, the token amount is converted at the shop's rate — a fixed one, CoinGecko's, Coinbase's
// (the two APIs served locally in their real formats, e2e/lib/rates.mjs) — the QR page and the
// customer display show both amounts, the payment records amount, rate, source and time, and it is
// paid on a real anvil chain. A rate older than its limit refuses new sales with the reason on the
// sale screen. In English and in Chinese; screenshots in artifacts/e2e/pricing-*.png.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import { freePort } from '../devchain/lib/anvil.mjs';
import { ACCOUNTS, transfer } from '../devchain/lib/tokens.mjs';
import { configToml, up } from '../devchain/up.mjs';
import { ARTIFACTS, CHROMIUM_ARGS, startServer } from './lib/harness.mjs';
import { startRates } from './lib/rates.mjs';

let chain;
let browser;
let rates; // fresh rates: CoinGecko 7.2, Coinbase 7.3 CNY per USDT
let staleRates; // CoinGecko saying its rate is an hour old
const servers = [];

before(async () => {
  chain = await up({ bind: '127.0.0.1:0', blockTime: 1, stateDir: mkdtempSync(join(tmpdir(), 'stablepay-pricing-chain-')) });
  rates = await startRates();
  staleRates = await startRates();
  staleRates.state.ageSeconds = 3600;
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
});

after(async () => {
  await browser?.close();
  for (const s of servers) s.kill('SIGTERM');
  await rates?.stop();
  await staleRates?.stop();
  await chain?.anvil.stop();
});

/** A server for a CNY shop whose rate comes from `pricing` (TOML lines). */
async function shop(pricing) {
  const dir = mkdtempSync(join(tmpdir(), 'stablepay-pricing-'));
  const port = await freePort();
  const tokens = Object.entries(chain.state.tokens).map(([symbol, address]) => ({ symbol, name: symbol, address }));
  const config = configToml({ bind: `127.0.0.1:${port}`, databasePath: join(dir, 'stablepay.db'), rpcUrl: chain.anvil.rpcUrl, wsUrl: chain.anvil.wsUrl, merchant: ACCOUNTS.merchant, tokens });
  const file = join(dir, 'stablepay.toml');
  writeFileSync(file, `${config}\n[pricing]\ncurrency = "CNY"\n${pricing}\n`);
  const base = `http://127.0.0.1:${port}`;
  servers.push(await startServer(file, base));
  return base;
}

async function page(base, lang) {
  const context = await browser.newContext({ viewport: { width: 1024, height: 800 } });
  const p = await context.newPage();
  const problems = [];
  p.on('pageerror', (e) => problems.push(e.message));
  p.on('request', (r) => new URL(r.url()).host !== new URL(base).host && !r.url().startsWith('data:') && problems.push(`requested ${r.url()}`));
  await p.goto(`${base}/?lang=${lang}#/`);
  return { p, context, problems };
}

/** Rings up `yuan` on the keypad in USDT; the QR page's payment. */
async function ringUp(p, base, yuan) {
  for (const key of yuan) await p.locator(`.keypad [data-key="${key}"]`).click();
  await p.getByTestId('next').click();
  await p.locator('[data-token="USDT"]').check();
  await p.getByTestId('create').click();
  await p.waitForURL(/#\/pay\/pay_[0-9a-f]{32}$/);
  const id = p.url().split('/').pop();
  await p.getByTestId('qr').waitFor();
  return (await fetch(`${base}/api/v1/payments/${id}`)).json();
}

const cases = [
  { name: 'fixed', pricing: 'source = "fixed"\nrate = "7.10"', rate: '7.1', asked: '10.00' },
  { name: 'coingecko', pricing: () => `source = "coingecko"\ncoingecko_url = "${rates.url}"\nrefresh_seconds = 10\nmax_age_seconds = 120`, rate: '7.2', asked: '9.87' },
  { name: 'coinbase', pricing: () => `source = "coinbase"\ncoinbase_url = "${rates.url}"\nrefresh_seconds = 10\nmax_age_seconds = 120`, rate: '7.3', asked: '9.73' },
];

for (const lang of ['en', 'zh-CN']) {
  describe(`a CNY shop, in ${lang}`, () => {
    for (const c of cases) {
      it(`prices a sale of 71 yuan at the ${c.name} rate, shows both amounts and is paid`, async () => {
        const base = await shop(typeof c.pricing === 'function' ? c.pricing() : c.pricing);
        const { p, context, problems } = await page(base, lang);
        const payment = await ringUp(p, base, '71');
        // 71 / rate, rounded up to the cent.
        assert.equal(payment.requested_amount, c.asked, JSON.stringify(payment));
        assert.equal(payment.fiat_amount, '71.00');
        assert.equal(payment.fiat_currency, 'CNY');
        assert.equal(payment.rate, c.rate);
        assert.equal(payment.rate_source, c.name);
        assert.ok(Date.parse(payment.rate_at) > Date.now() - 600_000, payment.rate_at);
        assert.match(await p.getByTestId('fiat-amount').innerText(), /71\.00/);
        await p.screenshot({ path: join(ARTIFACTS, `pricing-${lang}-${c.name}-qr.png`) });

        await transfer(chain.anvil.call, chain.state.tokens.USDT, ACCOUNTS.customer, ACCOUNTS.merchant, BigInt(payment.amount_base_units));
        await p.getByTestId('success-title').waitFor({ timeout: 30_000 });
        await p.screenshot({ path: join(ARTIFACTS, `pricing-${lang}-${c.name}-paid.png`) });
        assert.deepEqual(problems, []);
        await context.close();
      });
    }

    it('refuses a new sale at a rate older than its limit, with the reason on the sale screen', async () => {
      const base = await shop(`source = "coingecko"\ncoingecko_url = "${staleRates.url}"\nrefresh_seconds = 10\nmax_age_seconds = 60`);
      // The server has fetched the (old) rate.
      for (let i = 0; i < 50 && !(await (await fetch(`${base}/api/v1/pricing`)).json()).rates.length; i++) await new Promise((r) => setTimeout(r, 200));
      const { p, context } = await page(base, lang);
      for (const key of '71') await p.locator(`.keypad [data-key="${key}"]`).click();
      await p.getByTestId('rate-problem').waitFor({ timeout: 10_000 });
      await p.getByTestId('next').click();
      await p.locator('[data-token="USDT"]').check();
      await p.getByTestId('create').click();
      const refusal = p.locator('[role=alert]').first();
      await refusal.waitFor();
      assert.match(await refusal.innerText(), lang === 'en' ? /rate/i : /汇率/);
      assert.match(p.url(), /#\/checkout$/, 'no payment made');
      await p.screenshot({ path: join(ARTIFACTS, `pricing-${lang}-stale.png`), fullPage: true });
      await context.close();
    });
  });
}
