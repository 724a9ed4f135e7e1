import { flushPromises, mount } from '@vue/test-utils';
import { createPinia } from 'pinia';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createMemoryHistory, createRouter } from 'vue-router';
import type { Payment } from '../backend';
import { createAppI18n } from '../i18n';
import { routes } from '../router';
import { cart, payment, serve } from '../testing/fakes';
import HistoryPage from './HistoryPage.vue';

afterEach(() => vi.unstubAllGlobals());

const inYuan = payment({ id: `pay_${'1'.repeat(32)}`, amount: '5.08', fiat_amount: '35.50', fiat_currency: 'CNY', rate: '7.1', rate_source: 'coinbase' });
const inDollars = payment({ id: `pay_${'2'.repeat(32)}` });

async function history(payments: Payment[]) {
  serve({
    '/api/v1/payments?limit=50': [200, { payments, next_cursor: null }],
    '/health': [200, { status: 'ok' }],
    '/api/v1/tokens': [200, []],
    '/api/v1/networks': [200, []],
  });
  const router = createRouter({ history: createMemoryHistory(), routes });
  await router.push('/history');
  const page = mount(HistoryPage, { global: { plugins: [createPinia(), router, createAppI18n('en')] } });
  await flushPromises();
  return page;
}

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
});
