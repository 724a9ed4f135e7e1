import { flushPromises, mount } from '@vue/test-utils';
import { createPinia } from 'pinia';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createMemoryHistory, createRouter } from 'vue-router';
import { createAppI18n } from '../i18n';
import { routes } from '../router';
import type { Pricing } from '../backend';
import { payment, serve } from '../testing/fakes';
import PaymentPage from './PaymentPage.vue';
import ProductSelection from './ProductSelection.vue';

const coffee = { id: 'prod_1', name: 'Coffee', price: '3.50', description: null, active: true, created_at: '', updated_at: '' };
const cake = { id: 'prod_2', name: 'Cake', price: '4.20', description: null, active: true, created_at: '', updated_at: '' };

beforeEach(() => localStorage.clear());
afterEach(() => vi.unstubAllGlobals());

/** A CNY shop at 7.10 CNY per USDT (Coinbase), with a 1.5 % markup. */
const cny = (over: Partial<Pricing['rates'][number]> = {}): Pricing => ({
  currency: 'CNY',
  source: 'coinbase',
  markup_percent: '1.5',
  rates: [{ token: 'USDT', rate: '7.10', rate_at: new Date(Date.now() - 5_000).toISOString(), stale: false, ...over }],
  last_error: null,
  tip_choices: [],
});

async function mountKeypad(pricing: Pricing, locale: 'en' | 'zh-CN' = 'en') {
  serve({ '/api/v1/products': [200, []], '/api/v1/pricing': [200, pricing], 'PUT /api/v1/display': [200, {}] });
  const router = createRouter({ history: createMemoryHistory(), routes });
  await router.push('/');
  const page = mount(ProductSelection, { global: { plugins: [createPinia(), router, createAppI18n(locale)] } });
  await flushPromises();
  return page;
}

async function type(page: Awaited<ReturnType<typeof mountKeypad>>, keys: string) {
  for (const k of keys) await page.find(`.keypad [data-key="${k}"]`).trigger('click');
}

describe('ProductSelection', () => {
  it('takes an amount from the keyboard and moves on with Enter', async () => {
    serve({ '/api/v1/products': [200, [coffee]], 'PUT /api/v1/display': [200, {}] });
    const router = createRouter({ history: createMemoryHistory(), routes });
    await router.push('/');
    const page = mount(ProductSelection, { attachTo: document.body, global: { plugins: [createPinia(), router, createAppI18n('en')] } });
    await flushPromises();

    expect(page.text()).toContain('Coffee');
    for (const key of ['1', '2', '.', '5']) window.dispatchEvent(new KeyboardEvent('keydown', { key }));
    await flushPromises();
    expect(page.find('[data-testid=total]').text()).toBe('12.5');
    window.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter' }));
    await flushPromises();
    expect(router.currentRoute.value.path).toBe('/checkout');
    page.unmount();
  });

  it("sells on a cashier's key, which may not read the shop's settings", async () => {
    const forbidden: [number, unknown] = [403, { error: { code: 'forbidden', message: 'no' } }];
    const calls = serve({ '/api/v1/products': [200, [coffee]], 'PUT /api/v1/display': [200, {}], '/api/v1/settings': forbidden });
    const router = createRouter({ history: createMemoryHistory(), routes });
    await router.push('/');
    const page = mount(ProductSelection, { global: { plugins: [createPinia(), router, createAppI18n('en')] } });
    await flushPromises();

    expect(calls.map((c) => c.url)).toContain('/api/v1/settings');
    expect(page.text()).toContain('Coffee');
    expect(page.find('[role=alert]').exists()).toBe(false);
    expect(page.find('[data-testid=unconfigured]').exists()).toBe(false);
  });

  it('puts a tapped product into the cart, and one more of it on each tap', async () => {
    serve({ '/api/v1/products': [200, [coffee]], 'PUT /api/v1/display': [200, {}] });
    const router = createRouter({ history: createMemoryHistory(), routes });
    await router.push('/');
    const page = mount(ProductSelection, { global: { plugins: [createPinia(), router, createAppI18n('en')] } });
    await flushPromises();
    expect(page.find('[data-testid=cart]').exists()).toBe(false);

    await page.find('.product').trigger('click');
    await page.find('.product').trigger('click');

    expect(page.findAll('[data-testid=cart-line]')).toHaveLength(1);
    expect(page.get('[data-testid=cart-quantity]').text()).toBe('2');
    expect(page.get('[data-testid=product-quantity]').text()).toBe('×2');
    expect(page.find('[data-testid=total]').text()).toBe('7.00');
    expect(page.find('[data-testid=next]').attributes('disabled')).toBeUndefined();
  });
});

describe('ProductSelection building a cart', () => {
  /** The keypad, then the token choice, on one router and one store (as the app runs them). */
  async function till() {
    const calls = serve({
      '/api/v1/products': [200, [coffee, cake]],
      '/api/v1/pricing': [200, { currency: 'USD', source: 'fixed', markup_percent: '0', rates: [{ token: 'USDT', rate: '1', rate_at: new Date().toISOString(), stale: false }], last_error: null, tip_choices: [] }],
      '/health': [200, { status: 'ok', database: 'ok', version: '', uptime_seconds: 1 }],
      '/api/v1/tokens': [200, [{ symbol: 'USDT', name: 'Tether', network: 'bsc', contract_address: '0x55d3', decimals: 18, legacy: false, disabled: null }]],
      '/api/v1/networks': [200, [{ id: 'bsc', name: 'BNB Smart Chain', chain_id: 56, explorer_url: '' }]],
      'POST /api/v1/payments': [201, payment()],
      'PUT /api/v1/display': [200, {}],
    });
    const pinia = createPinia();
    const router = createRouter({ history: createMemoryHistory(), routes });
    await router.push('/');
    const keypad = mount(ProductSelection, { attachTo: document.body, global: { plugins: [pinia, router, createAppI18n('en')] } });
    await flushPromises();
    /** Moves on to the token choice and shows the QR code: the request body the sale was created with. */
    async function sell() {
      await keypad.get('[data-testid=next]').trigger('click');
      await flushPromises();
      expect(router.currentRoute.value.path).toBe('/checkout');
      keypad.unmount();
      const choice = mount(PaymentPage, { global: { plugins: [pinia, router, createAppI18n('en')] } });
      await flushPromises();
      await choice.get('[data-token="USDT"]').setValue(true);
      await choice.get('[data-testid=create]').trigger('click');
      await flushPromises();
      return { choice, body: JSON.parse(String(calls.find((c) => c.init?.method === 'POST')?.init?.body)) };
    }
    return { keypad, sell };
  }

  it('rings up two products and a named free amount with a percentage off, and sells them as items', async () => {
    const { keypad, sell } = await till();
    const [coffeeButton, cakeButton] = keypad.findAll('.product');
    await coffeeButton.trigger('click');
    await coffeeButton.trigger('click');
    await cakeButton.trigger('click');
    await type(keypad, '1.5');
    await keypad.get('[data-testid=cart-name]').setValue('Tip');
    await keypad.get('[data-testid=cart-add]').trigger('click');
    await keypad.get('[data-testid=discount]').setValue('10');

    expect(keypad.findAll('[data-testid=cart-line]').map((l) => l.get('[data-testid=cart-line-amount]').text())).toEqual(['$7.00', '$4.20', '$1.50']);
    expect(keypad.get('[data-testid=subtotal]').text()).toBe('$12.70');
    // 1.27 off
    expect(keypad.get('[data-testid=discount-amount]').text()).toBe('−$1.27');
    expect(keypad.get('[data-testid=total]').text()).toBe('$11.43');

    const { choice, body } = await sell();
    expect(choice.get('[data-testid=amount]').text()).toBe('$11.43');
    expect(body).toEqual({
      items: [
        { name: 'Coffee', quantity: 2, unit_price: '3.50', product_id: 'prod_1' },
        { name: 'Cake', quantity: 1, unit_price: '4.20', product_id: 'prod_2' },
        { name: 'Tip', quantity: 1, unit_price: '1.5' },
      ],
      discount: { percent: '10' },
      fiat_amount: '11.43',
      token: 'USDT',
      network: 'bsc',
    });
    choice.unmount();
  });

  it('adds a typed amount with "+" as an "Item", switches the discount to an amount, and says when it leaves nothing', async () => {
    const { keypad, sell } = await till();
    const press = (key: string) => window.dispatchEvent(new KeyboardEvent('keydown', { key }));
    for (const key of ['8', '+', '2']) press(key);
    await flushPromises();

    expect(keypad.findAll('[data-testid=cart-line]')).toHaveLength(1);
    expect(keypad.get('[data-testid=cart-line]').text()).toContain('Item');
    expect(keypad.get('[data-testid=total]').text()).toBe('$8.00');
    // The 2 is typed, not added: it must be added or cleared first.
    expect(keypad.find('[data-testid=entry-pending]').exists()).toBe(true);
    expect(keypad.get('[data-testid=next]').attributes('disabled')).toBeDefined();
    press('Enter');
    await flushPromises();
    expect(keypad.findAll('[data-testid=cart-line]')).toHaveLength(2);
    expect(keypad.get('[data-testid=total]').text()).toBe('$10.00');

    await keypad.get('[data-testid=discount-kind]').trigger('click');
    expect(keypad.get('[data-testid=discount-kind]').attributes('data-kind')).toBe('amount');
    await keypad.get('[data-testid=discount]').setValue('10');
    expect(keypad.get('[data-testid=discount-problem]').text()).toBe('The discount leaves nothing to pay.');
    expect(keypad.get('[data-testid=total]').text()).toBe('—');
    expect(keypad.get('[data-testid=next]').attributes('disabled')).toBeDefined();

    await keypad.get('[data-testid=discount]').setValue('2.5');
    expect(keypad.get('[data-testid=total]').text()).toBe('$7.50');
    // The 8 goes: 2 less 2.50 leaves nothing.
    await keypad.findAll('[data-testid=cart-remove]')[0].trigger('click');
    expect(keypad.get('[data-testid=total]').text()).toBe('—');
    await keypad.get('[data-testid=discount]').setValue('0.5');
    expect(keypad.get('[data-testid=total]').text()).toBe('$1.50');

    const { body, choice } = await sell();
    expect(body).toEqual({ items: [{ name: 'Item', quantity: 1, unit_price: '2' }], discount: { amount: '0.5' }, fiat_amount: '1.50', token: 'USDT', network: 'bsc' });
    choice.unmount();
  });

  it('still sells a typed amount alone by fiat_amount', async () => {
    const { keypad, sell } = await till();
    await type(keypad, '12.5');
    expect(keypad.find('[data-testid=cart]').exists()).toBe(false);
    expect(keypad.get('[data-testid=total]').text()).toBe('$12.5');

    const { body, choice } = await sell();
    expect(body).toEqual({ fiat_amount: '12.5', token: 'USDT', network: 'bsc' });
    expect(choice.find('[data-testid=cart-summary]').exists()).toBe(false);
    choice.unmount();
  });
});

describe('ProductSelection in a shop that prices in its own currency', () => {
  it('shows the typed amount in yuan and what it comes to in USDT', async () => {
    const page = await mountKeypad(cny(), 'zh-CN');
    expect(page.find('[data-testid=total]').text()).toBe('¥0');

    await type(page, '35.5');
    expect(page.find('[data-testid=total]').text()).toBe('¥35.5');
    await type(page, '0');

    expect(page.find('[data-testid=total]').text()).toBe('¥35.50');
    // 35.50 / 7.10 × 1.015 = 5.075, rounded up.
    expect(page.find('[data-testid=estimate]').text()).toBe('≈ 5.08 USDT');
    expect(page.find('[data-testid=rate-problem]').exists()).toBe(false);
  });

  it('writes the currency as English does', async () => {
    const page = await mountKeypad(cny());
    await type(page, '10');
    expect(page.find('[data-testid=total]').text()).toBe('CN¥10');
    expect(page.find('[data-testid=estimate]').text()).toBe('≈ 1.43 USDT');
  });

  it('shows no conversion for a shop in USD at 1', async () => {
    const page = await mountKeypad({ currency: 'USD', source: 'fixed', markup_percent: '0', rates: [{ token: 'USDT', rate: '1', rate_at: '2026-11-24T10:00:00Z', stale: false }], last_error: null, tip_choices: [] });
    await type(page, '10');
    expect(page.find('[data-testid=total]').text()).toBe('$10');
    expect(page.find('[data-testid=estimate]').exists()).toBe(false);
  });

  it('says in red, before the cashier tries, that the rate is too old, with its source and age', async () => {
    const page = await mountKeypad(cny({ stale: true, rate_at: new Date(Date.now() - 3_661_000).toISOString() }));
    await type(page, '10');

    const problem = page.find('[data-testid=rate-problem]');
    expect(problem.attributes('role')).toBe('alert');
    expect(problem.text()).toContain('The USDT rate from Coinbase is 1 hour 1 minute old: sales in CNY are refused until it is refreshed.');
    expect(page.find('[data-testid=estimate]').exists()).toBe(false);
    // The cashier may still go on and choose another token.
    expect(page.find('[data-testid=next]').attributes('disabled')).toBeUndefined();
  });

  it('says it in Chinese, and says when there is no rate at all', async () => {
    const stale = await mountKeypad(cny({ stale: true, rate_at: new Date(Date.now() - 3_661_000).toISOString() }), 'zh-CN');
    expect(stale.find('[data-testid=rate-problem]').text()).toContain('来自 Coinbase 的 USDT 汇率已是 1小时1分钟前的');

    const none = await mountKeypad({ ...cny(), rates: [], last_error: 'HTTP 503 from api.coinbase.com' });
    const text = none.find('[data-testid=rate-problem]').text();
    expect(text).toContain('There is no USDT rate from Coinbase yet');
    expect(text).toContain('Last attempt: HTTP 503 from api.coinbase.com');
  });
});
