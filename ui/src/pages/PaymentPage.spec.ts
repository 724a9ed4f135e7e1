import { flushPromises, mount } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createMemoryHistory, createRouter } from 'vue-router';
import type { Pricing } from '../backend';
import { createAppI18n } from '../i18n';
import { routes } from '../router';
import { useCheckoutStore } from '../stores/checkout';
import { payment, serve } from '../testing/fakes';
import PaymentPage from './PaymentPage.vue';

const token = (symbol: string) => ({ symbol, name: symbol, network: 'bsc', contract_address: '0x55d3', decimals: 18, legacy: false, disabled: null });

/** A CNY shop on Coinbase: USDT at 7.10 (fresh), USDC at 7.12 but an hour old; 1.5 % markup. */
const cny: Pricing = {
  currency: 'CNY',
  source: 'coinbase',
  markup_percent: '1.5',
  rates: [
    { token: 'USDT', rate: '7.10', rate_at: new Date(Date.now() - 5_000).toISOString(), stale: false },
    { token: 'USDC', rate: '7.12', rate_at: new Date(Date.now() - 3_605_000).toISOString(), stale: true },
  ],
  last_error: null,
  tip_choices: [],
};

function server(create: [number, unknown] = [201, payment({ fiat_amount: '35.50', fiat_currency: 'CNY', rate: '7.10' })]) {
  return serve({
    '/health': [200, { status: 'ok', database: 'ok', version: '', uptime_seconds: 1 }],
    '/api/v1/tokens': [200, [token('USDT'), token('USDC')]],
    '/api/v1/networks': [200, [{ id: 'bsc', name: 'BNB Smart Chain', chain_id: 56, explorer_url: '' }]],
    '/api/v1/pricing': [200, cny],
    'POST /api/v1/payments': create,
    'PUT /api/v1/display': [200, {}],
  });
}

/** The token choice for 35.50 typed on the keypad. */
async function mountChoice(locale: 'en' | 'zh-CN' = 'en') {
  const pinia = createPinia();
  setActivePinia(pinia);
  const checkout = useCheckoutStore();
  checkout.token = 'USDT';
  for (const k of '35.50') checkout.press(k);
  const router = createRouter({ history: createMemoryHistory(), routes });
  await router.push('/checkout');
  const page = mount(PaymentPage, { global: { plugins: [pinia, router, createAppI18n(locale)] } });
  await flushPromises();
  return { page, router };
}

const body = (calls: ReturnType<typeof serve>) => JSON.parse(String(calls.find((c) => c.init?.method === 'POST')?.init?.body));

beforeEach(() => localStorage.clear());
afterEach(() => vi.unstubAllGlobals());

describe('PaymentPage', () => {
  it("shows the total in yuan and each token's amount, and creates the sale with fiat_amount", async () => {
    const calls = server();
    const { page, router } = await mountChoice();

    expect(page.find('[data-testid=amount]').text()).toBe('CN¥35.50');
    expect(page.find('[data-token-amount=USDT]').text()).toBe('≈ 5.08 USDT');
    // USDC's rate is too old: no amount, a short word beside it.
    expect(page.find('[data-token-amount=USDC]').exists()).toBe(false);
    expect(page.find('[data-testid=token-rate-problem]').text()).toBe('rate too old');
    expect(page.find('[data-testid=rate-problem]').exists()).toBe(false);

    await page.find('[data-testid=create]').trigger('click');
    await flushPromises();

    expect(body(calls)).toEqual({ fiat_amount: '35.50', token: 'USDT', network: 'bsc' });
    expect(router.currentRoute.value.path).toBe(`/pay/${payment().id}`);
  });

  it('says why the chosen token cannot be sold now, and the other token stays sellable', async () => {
    server();
    const { page } = await mountChoice();

    await page.find('[data-token=USDC]').setValue(true);
    const problem = page.find('[data-testid=rate-problem]');
    expect(problem.text()).toMatch(/^The USDC rate from Coinbase is 1 hour( \d+ seconds?)? old: sales in CNY are refused/);
    expect(page.find('[data-testid=create]').attributes('disabled')).toBeUndefined();

    await page.find('[data-token=USDT]').setValue(true);
    expect(page.find('[data-testid=rate-problem]').exists()).toBe(false);
  });

  it("shows a stale-rate refusal in the cashier's words, with the server's own", async () => {
    server([409, { error: { code: 'rate_stale', message: 'coinbase 汇率已是 3601 秒前的（上限 3600 秒）' } }]);
    const { page, router } = await mountChoice('zh-CN');

    await page.find('[data-testid=create]').trigger('click');
    await flushPromises();

    const refusal = page.find('[data-testid=create-error]');
    expect(refusal.text()).toContain('汇率已过期');
    expect(refusal.text()).toContain('coinbase 汇率已是 3601 秒前的（上限 3600 秒）');
    expect(router.currentRoute.value.path).toBe('/checkout');
  });

  it("shows the cart's lines and total above the token choice, each token's amount of the total, and creates the sale with its items", async () => {
    const calls = server();
    const pinia = createPinia();
    setActivePinia(pinia);
    const checkout = useCheckoutStore();
    checkout.token = 'USDT';
    checkout.addProduct({ id: 'prod_1', name: 'Coffee', price: '18.50', description: null, active: true, created_at: '', updated_at: '' });
    checkout.increment('product:prod_1');
    for (const k of '3') checkout.press(k);
    checkout.addAmount('Cake');
    checkout.discount = { kind: 'percent', value: '10' };
    const router = createRouter({ history: createMemoryHistory(), routes });
    await router.push('/checkout');
    const page = mount(PaymentPage, { global: { plugins: [pinia, router, createAppI18n('en')] } });
    await flushPromises();

    // 2 × 18.50 + 3 = 40.00, 10 % off = 36.00; 36 / 7.10 × 1.015 = 5.1464…, rounded up.
    expect(page.find('[data-testid=amount]').text()).toBe('CN¥36.00');
    const summary = page.get('[data-testid=cart-summary]');
    const row = (r: ReturnType<typeof summary.get>) => r.findAll('td, th').map((c) => c.text()).filter(Boolean).join(' ');
    expect(summary.findAll('[data-testid=cart-lines-item]').map(row)).toEqual(['2 × Coffee CN¥37.00', '1 × Cake CN¥3.00']);
    expect(row(summary.get('[data-testid=cart-lines-discount]'))).toBe('Discount (10 %) −CN¥4.00');
    expect(summary.get('[data-testid=cart-lines-total]').text()).toBe('CN¥36.00');
    expect(page.find('[data-token-amount=USDT]').text()).toBe('≈ 5.15 USDT');

    await page.find('[data-testid=create]').trigger('click');
    await flushPromises();
    expect(body(calls)).toEqual({
      items: [
        { name: 'Coffee', quantity: 2, unit_price: '18.50', product_id: 'prod_1' },
        { name: 'Cake', quantity: 1, unit_price: '3' },
      ],
      discount: { percent: '10' },
      fiat_amount: '36.00',
      token: 'USDT',
      network: 'bsc',
    });
  });
});
