import { flushPromises, mount } from '@vue/test-utils';
import { createPinia } from 'pinia';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createMemoryHistory, createRouter } from 'vue-router';
import type { Payment } from '../backend';
import { createAppI18n } from '../i18n';
import { routes } from '../router';
import { fakeSockets, payment, serve } from '../testing/fakes';
import CheckoutPage from './CheckoutPage.vue';

beforeEach(() => {
  fakeSockets();
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
});
afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

async function mountCheckout(p: Payment, redirect: string | null, locale: 'en' | 'zh-CN' = 'en') {
  serve({
    [`/api/v1/payments/${p.id}`]: [200, p],
    [`/api/v1/payments/${p.id}/checkout`]: [200, { shop_name: 'Corner Café', redirect_url: redirect }],
    '/health': [200, { status: 'ok' }],
  });
  const router = createRouter({ history: createMemoryHistory(), routes });
  await router.push(`/checkout/${p.id}`);
  const page = mount(CheckoutPage, { global: { plugins: [createPinia(), router, createAppI18n(locale)] } });
  await flushPromises();
  return page;
}

describe('CheckoutPage', () => {
  it('shows what to pay, a QR of the payment request and a link that opens it in a wallet', async () => {
    const p = payment({ status: 'pending' });
    const page = await mountCheckout(p, null);
    expect(page.get('[data-testid=checkout-shop]').text()).toBe('Corner Café');
    expect(page.get('[data-testid=checkout-amount]').text()).toBe(`${p.amount} USDT`);
    expect(page.get('[data-testid=checkout-wallet]').attributes('href')).toBe(p.payment_uri);
    expect(page.get('[data-testid=checkout-qr]').attributes('data-qr-text')).toBe(p.payment_uri);
    page.unmount();
  });

  it('sends the customer back to the shop once paid, after a moment, and says so in Chinese', async () => {
    const assign = vi.fn();
    vi.stubGlobal('location', { ...globalThis.location, assign, search: '' });
    const page = await mountCheckout(payment({ status: 'paid', transaction_hash: `0x${'1'.repeat(64)}` }), 'https://shop.example.com/return', 'zh-CN');
    expect(page.get('[data-testid=checkout-paid]').text()).toContain('付款成功');
    expect(assign).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(3000);
    expect(assign).toHaveBeenCalledWith('https://shop.example.com/return');
    page.unmount();
  });

  it('stays on the page when paid without an allowed place to return to, and says an expired one is over', async () => {
    const assign = vi.fn();
    vi.stubGlobal('location', { ...globalThis.location, assign, search: '' });
    const paid = await mountCheckout(payment({ status: 'paid' }), null);
    await vi.advanceTimersByTimeAsync(3000);
    expect(assign).not.toHaveBeenCalled();
    expect(paid.find('[data-testid=checkout-return]').exists()).toBe(false);
    paid.unmount();
    const expired = await mountCheckout(payment({ status: 'expired' }), null);
    expect(expired.get('[data-testid=checkout-over]').text()).toContain('This payment expired');
    expired.unmount();
  });
});
