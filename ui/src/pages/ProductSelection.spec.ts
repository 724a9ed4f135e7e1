import { flushPromises, mount } from '@vue/test-utils';
import { createPinia } from 'pinia';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createMemoryHistory, createRouter } from 'vue-router';
import { createAppI18n } from '../i18n';
import { routes } from '../router';
import type { Pricing } from '../backend';
import { serve } from '../testing/fakes';
import ProductSelection from './ProductSelection.vue';

beforeEach(() => localStorage.clear());
afterEach(() => vi.unstubAllGlobals());

/** A CNY shop at 7.10 CNY per USDT (Coinbase), with a 1.5 % markup. */
const cny = (over: Partial<Pricing['rates'][number]> = {}): Pricing => ({
  currency: 'CNY',
  source: 'coinbase',
  markup_percent: '1.5',
  rates: [{ token: 'USDT', rate: '7.10', rate_at: new Date(Date.now() - 5_000).toISOString(), stale: false, ...over }],
  last_error: null,
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
    serve({ '/api/v1/products': [200, [{ id: 'prod_1', name: 'Coffee', price: '3.50', description: null, active: true, created_at: '', updated_at: '' }]], 'PUT /api/v1/display': [200, {}] });
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

  it('picks a product instead of a typed amount', async () => {
    serve({ '/api/v1/products': [200, [{ id: 'prod_1', name: 'Coffee', price: '3.50', description: null, active: true, created_at: '', updated_at: '' }]], 'PUT /api/v1/display': [200, {}] });
    const router = createRouter({ history: createMemoryHistory(), routes });
    await router.push('/');
    const page = mount(ProductSelection, { global: { plugins: [createPinia(), router, createAppI18n('en')] } });
    await flushPromises();

    await page.find('.product').trigger('click');

    expect(page.find('[data-testid=total]').text()).toBe('3.50');
    expect(page.find('[data-testid=next]').attributes('disabled')).toBeUndefined();
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
    const page = await mountKeypad({ currency: 'USD', source: 'fixed', markup_percent: '0', rates: [{ token: 'USDT', rate: '1', rate_at: '2026-11-24T10:00:00Z', stale: false }], last_error: null });
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
