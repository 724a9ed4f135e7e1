import { flushPromises, mount } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createAppI18n } from '../i18n';
import ClosePage from '../pages/ClosePage.vue';
import { serve } from '../testing/fakes';
import { closeWindow, localDay } from './close';

beforeEach(() => setActivePinia(createPinia()));
afterEach(() => vi.unstubAllGlobals());

const HOUR = 3_600_000;

describe('the day’s close', () => {
  it('closes the till’s own local day, and a shift that runs past midnight', () => {
    const day = closeWindow('2026-12-01');
    expect(day.from).toBe(new Date('2026-12-01T00:00:00').toISOString());
    expect(Date.parse(day.to) - Date.parse(day.from)).toBe(24 * HOUR);
    const night = closeWindow('2026-12-01', '22:00', '06:00');
    expect(night.from).toBe(new Date('2026-12-01T22:00:00').toISOString());
    expect(Date.parse(night.to) - Date.parse(night.from)).toBe(8 * HOUR);
    expect(localDay(new Date(2026, 11, 1, 23, 59))).toBe('2026-12-01');
  });

  it('shows the takings in the shop currency and per token, for the chosen day', async () => {
    const calls = serve({});
    vi.mocked(fetch).mockImplementation(async (url) => {
      calls.push({ url: String(url) });
      // The page loads the catalog too (network names): none here.
      if (!String(url).startsWith('/api/v1/reports/')) return new Response('[]', { status: 200 });
      return new Response(
        JSON.stringify({
          from: '2026-12-01T00:00:00Z', to: '2026-12-02T00:00:00Z', currency: 'CNY',
          sales: { pending: 1, confirming: 0, paid: 3, expired: 0, cancelled: 1, failed: 0 },
          takings: [{ token: 'USDT', network: 'bsc', payments: 2, received: '15.00', fiat: '106.50' }, { token: 'USDC', network: 'bsc', payments: 1, received: '2.00', fiat: '14.20' }],
          fiat_total: '120.70', unpriced: 0, tips: '4.50', refunds: [], refunds_fiat_total: null, net_fiat_total: '120.70',
        }),
        { status: 200 },
      );
    });
    const page = mount(ClosePage, { global: { plugins: [createAppI18n('en')] } });
    await flushPromises();

    expect(calls[0]?.url).toMatch(/^\/api\/v1\/reports\/close\?from=.+&to=.+/);
    expect(page.get('[data-testid=close-total]').text()).toContain('120.70');
    expect(page.get('[data-testid=close-takings]').text()).toContain('15.00 USDT');
    expect(page.get('[data-testid=close-tips]').text()).toContain('4.50');
    expect(page.get('[data-testid=close-sales]').text()).not.toMatch(/expired/i);
    // No refunds: nothing about them.
    expect(page.find('[data-testid=close-refunds]').exists()).toBe(false);
    expect(page.find('[data-testid=close-net]').exists()).toBe(false);
  });

  it('lists the refunds per token, their total and what stayed after them', async () => {
    serve({});
    vi.mocked(fetch).mockImplementation(async (url) => {
      if (!String(url).startsWith('/api/v1/reports/')) return new Response('[]', { status: 200 });
      return new Response(
        JSON.stringify({
          from: '2026-12-01T00:00:00Z', to: '2026-12-02T00:00:00Z', currency: 'CNY',
          sales: { pending: 0, confirming: 0, paid: 2, partially_refunded: 1, refunded: 1, expired: 0, cancelled: 0, failed: 0 },
          takings: [{ token: 'USDT', network: 'bsc', payments: 4, received: '40.00', fiat: '284.00' }],
          refunds: [{ token: 'USDT', network: 'bsc', refunds: 2, amount: '13.00', fiat: '92.30' }],
          fiat_total: '284.00', refunds_fiat_total: '92.30', net_fiat_total: '191.70', unpriced: 0, tips: null,
        }),
        { status: 200 },
      );
    });
    const page = mount(ClosePage, { global: { plugins: [createAppI18n('en')] } });
    await flushPromises();

    const refunds = page.get('[data-testid=close-refunds]');
    expect(refunds.text()).toContain('13.00 USDT');
    expect(refunds.text()).toContain('92.30');
    expect(page.get('[data-testid=close-refunds-total]').text()).toContain('92.30');
    expect(page.get('[data-testid=close-net]').text()).toContain('191.70');
    const sales = page.get('[data-testid=close-sales]').text();
    expect(sales).toContain('Partially refunded');
    expect(sales).toContain('Refunded');
  });
});
