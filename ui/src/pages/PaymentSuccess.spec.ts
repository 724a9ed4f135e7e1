import { flushPromises, mount } from '@vue/test-utils';
import { createPinia } from 'pinia';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createMemoryHistory, createRouter } from 'vue-router';
import type { Payment } from '../backend';
import { createAppI18n } from '../i18n';
import { routes } from '../router';
import { cart, fakeSockets, payment, serve } from '../testing/fakes';
import PaymentSuccess from './PaymentSuccess.vue';

beforeEach(() => fakeSockets());
afterEach(() => vi.unstubAllGlobals());

async function mountPaid(paid: Payment, locale: 'en' | 'zh-CN') {
  const { page } = await mountWithRouter(paid, locale);
  return page;
}

async function mountWithRouter(paid: Payment, locale: 'en' | 'zh-CN') {
  serve({ [`/api/v1/payments/${paid.id}`]: [200, paid], '/health': [200, { status: 'ok' }], '/api/v1/tokens': [200, []], '/api/v1/networks': [200, []] });
  const router = createRouter({ history: createMemoryHistory(), routes });
  await router.push(`/pay/${paid.id}/success`);
  const page = mount(PaymentSuccess, { global: { plugins: [createPinia(), router, createAppI18n(locale)] } });
  await flushPromises();
  return { page, router };
}

const chain = { status: 'paid' as const, transaction_hash: `0x${'1'.repeat(64)}`, block_number: 42, confirmations: 3 };

describe('PaymentSuccess', () => {
  it('shows the price in the shop currency under the amount paid', async () => {
    const page = await mountPaid(payment({ ...chain, amount: '5.08', fiat_amount: '35.50', fiat_currency: 'CNY', rate: '7.1' }), 'zh-CN');
    expect(page.find('[data-testid=paid-amount]').text()).toBe('5.08 USDT');
    expect(page.find('[data-testid=fiat-amount]').text()).toBe('¥35.50');
    page.unmount();
  });

  it("lists a cart's lines, its discount and its total", async () => {
    const page = await mountPaid(payment({ ...chain, amount: '44.99', fiat_amount: '44.99', cart: cart() }), 'zh-CN');
    const items = page.get('[data-testid=success-items]');
    expect(items.findAll('[data-testid=cart-lines-item] .name').map((n) => n.text())).toEqual(['Flat white', 'Croissant', 'Tip jar']);
    expect(items.get('[data-testid=cart-lines-discount]').text()).toContain('折扣（10%）');
    expect(items.get('[data-testid=cart-lines-total]').text()).toBe('US$44.99');
    page.unmount();
  });

  it('shows only the token amount for a shop in USD at 1', async () => {
    const page = await mountPaid(payment(chain), 'en');
    expect(page.find('[data-testid=paid-amount]').text()).toBe('10.01 USDT');
    expect(page.find('[data-testid=fiat-amount]').exists()).toBe(false);
    page.unmount();
  });

  it('offers a refund of a paid sale, and shows nothing refunded yet', async () => {
    const paid = payment(chain);
    const page = await mountPaid(paid, 'en');
    expect(page.get('[data-testid=refund-link]').attributes('href')).toBe(`/pay/${paid.id}/refund`);
    expect(page.find('[data-testid=refunded-amount]').exists()).toBe(false);
    expect(page.find('[data-testid=success-status]').exists()).toBe(false);
    page.unmount();
  });

  it('stays on a partly refunded sale, says how much went back and offers to refund more', async () => {
    const sale = payment({ ...chain, status: 'partially_refunded', refunded_amount: '3.00' });
    const { page, router } = await mountWithRouter(sale, 'zh-CN');
    expect(router.currentRoute.value.path).toBe(`/pay/${sale.id}/success`);
    expect(page.get('[data-testid=success-status]').text()).toBe('部分退款');
    expect(page.get('[data-testid=refunded-amount]').text()).toBe('已退款 3.00 USDT');
    expect(page.find('[data-testid=refund-link]').exists()).toBe(true);
    page.unmount();
  });

  it('stays on a sale refunded in full, without offering another refund', async () => {
    const sale = payment({ ...chain, status: 'refunded', refunded_amount: '10.01' });
    const { page, router } = await mountWithRouter(sale, 'en');
    expect(router.currentRoute.value.path).toBe(`/pay/${sale.id}/success`);
    expect(page.get('[data-testid=success-status]').text()).toBe('Refunded');
    expect(page.get('[data-testid=refunded-amount]').text()).toBe('Refunded 10.01 USDT');
    expect(page.find('[data-testid=refund-link]').exists()).toBe(false);
    expect(page.find('[data-testid=receipt-link]').exists()).toBe(true);
    page.unmount();
  });

  it('sends a sale that is not paid back to its QR page', async () => {
    const sale = payment();
    const { page, router } = await mountWithRouter(sale, 'en');
    await vi.waitFor(() => expect(router.currentRoute.value.path).toBe(`/pay/${sale.id}`));
    page.unmount();
  });

  it('says what a short sale still lacks and asks for the rest in one click', async () => {
    const short = payment({ ...chain, amount: '20.00', amount_received: '19.70', amount_match: 'underpaid', shortfall: { missing: '0.30', remainder_id: null, remainder_amount: null, remainder_status: null, paid_in_full: false } });
    const page = await mountPaid(short, 'en');
    expect(page.get('[data-testid=shortfall]').text()).toContain('0.30 USDT is still missing');
    const rest = payment({ id: 'pay_ffffffffffffffffffffffffffffffff', amount: '0.30', remainder_of: short.id });
    const calls = serve({ [`POST /api/v1/payments/${short.id}/remainder`]: [200, rest] });
    await page.get('[data-testid=ask-rest]').trigger('click');
    await flushPromises();
    expect(calls.some((c) => c.init?.method === 'POST' && c.url.endsWith('/remainder'))).toBe(true);
    page.unmount();
  });
});
