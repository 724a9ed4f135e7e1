import { flushPromises, mount } from '@vue/test-utils';
import { createPinia } from 'pinia';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createMemoryHistory, createRouter } from 'vue-router';
import type { Payment } from '../backend';
import { createAppI18n } from '../i18n';
import { routes } from '../router';
import { cart, payment, serve } from '../testing/fakes';
import HistoryPage from './HistoryPage.vue';

afterEach(() => {
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

const inYuan = payment({ id: `pay_${'1'.repeat(32)}`, amount: '5.08', fiat_amount: '35.50', fiat_currency: 'CNY', rate: '7.1', rate_source: 'coinbase' });
const inDollars = payment({ id: `pay_${'2'.repeat(32)}` });

async function history(payments: Payment[], more: Parameters<typeof serve>[0] = {}) {
  const calls = serve({
    '/api/v1/payments?limit=50': [200, { payments, next_cursor: null }],
    '/health': [200, { status: 'ok' }],
    '/api/v1/tokens': [200, []],
    '/api/v1/networks': [200, []],
    ...more,
  });
  const router = createRouter({ history: createMemoryHistory(), routes });
  await router.push('/history');
  const page = mount(HistoryPage, { global: { plugins: [createPinia(), router, createAppI18n('en')] } });
  await flushPromises();
  return Object.assign(page, { calls });
}

const front = { id: `ctr_${'a'.repeat(24)}`, name: 'Front desk', paired_at: '2026-12-01T09:00:00Z', revoked_at: null };
const terrace = { id: `ctr_${'b'.repeat(24)}`, name: 'Terrace', paired_at: '2026-12-01T08:00:00Z', revoked_at: null };

describe('HistoryPage', () => {
  it('has a price column beside the token amount when a sale was priced in the shop currency', async () => {
    const page = await history([inYuan, inDollars]);

    expect(page.findAll('th').map((th) => th.text())).toContain('Price');
    expect(page.find(`[data-id=${inYuan.id}] [data-testid=fiat-amount]`).text()).toBe('CN¥35.50');
    expect(page.find(`[data-id=${inYuan.id}]`).text()).toContain('5.08 USDT');
    expect(page.find(`[data-id=${inDollars.id}] [data-testid=fiat-amount]`).text()).toBe('');
  });

  it('has no price column in a shop in USD at 1', async () => {
    const page = await history([inDollars]);
    expect(page.findAll('th').map((th) => th.text())).not.toContain('Price');
    expect(page.find('[data-testid=fiat-amount]').exists()).toBe(false);
  });

  it("shows a cart's size, its lines' names in the summary's title, and its lines when opened", async () => {
    const sale = payment({ id: `pay_${'3'.repeat(32)}`, amount: '44.99', fiat_amount: '44.99', cart: cart() });
    const page = await history([sale, inDollars]);

    const items = page.get(`[data-id=${sale.id}] [data-testid=history-items]`);
    expect(items.get('summary').text()).toBe('4 items');
    expect(items.get('summary').attributes('title')).toBe('2 × Flat white, 1 × Croissant, 1 × Tip jar');
    expect(items.findAll('[data-testid=cart-lines-item] .name').map((n) => n.text())).toEqual(['Flat white', 'Croissant', 'Tip jar']);
    expect(items.get('[data-testid=cart-lines-discount]').text()).toContain('Discount (10 %)');
    expect(items.get('[data-testid=cart-lines-total]').text()).toBe('$44.99');
    expect(page.find(`[data-id=${inDollars.id}] [data-testid=history-items]`).exists()).toBe(false);
  });

  it("narrows the list and the CSV export to the counter chosen, and names each sale's counter", async () => {
    const atFront = payment({ id: `pay_${'4'.repeat(32)}`, counter: { id: front.id, name: front.name } });
    URL.createObjectURL = vi.fn(() => 'blob:history');
    URL.revokeObjectURL = vi.fn();
    // The browser would save the file; jsdom cannot.
    vi.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(() => {});
    const page = await history([atFront, inDollars], {
      '/api/v1/counters': [200, { data: [front, terrace] }],
      [`/api/v1/payments?limit=50&counter=${front.id}`]: [200, { payments: [atFront], next_cursor: null }],
      [`/api/v1/payments/export.csv?counter=${front.id}`]: [200, 'id,status'],
    });

    const select = page.get('[data-testid=history-counter]');
    expect(select.findAll('option').map((o) => o.text())).toEqual(['All counters', 'Front desk', 'Terrace']);
    expect(page.get(`[data-id=${atFront.id}] [data-testid=payment-counter]`).text()).toBe('Front desk');
    expect(page.get(`[data-id=${inDollars.id}] [data-testid=payment-counter]`).text()).toBe('');

    await select.setValue(front.id);
    await page.get('form.filters').trigger('submit');
    await flushPromises();
    expect(page.calls.at(-1)?.url).toBe(`/api/v1/payments?limit=50&counter=${front.id}`);
    expect(page.findAll('tbody tr').map((r) => r.attributes('data-id'))).toEqual([atFront.id]);

    await page.get('form.filters button[type=button]').trigger('click');
    await flushPromises();
    expect(page.calls.at(-1)?.url).toBe(`/api/v1/payments/export.csv?counter=${front.id}`);
  });

  it('has no counter filter nor column where there is no counter to choose', async () => {
    const page = await history([inDollars], { '/api/v1/counters': [403, { error: { code: 'forbidden', message: 'no' } }] });
    expect(page.find('[data-testid=history-counter]').exists()).toBe(false);
    expect(page.find('[data-testid=payment-counter]').exists()).toBe(false);
  });
});
