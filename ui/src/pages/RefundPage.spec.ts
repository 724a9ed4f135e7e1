import { flushPromises, mount } from '@vue/test-utils';
import { createPinia } from 'pinia';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createMemoryHistory, createRouter } from 'vue-router';
import type { Refund, RefundsView } from '../backend';
import { createAppI18n } from '../i18n';
import { routes } from '../router';
import { payment, refund, serve } from '../testing/fakes';
import RefundPage from './RefundPage.vue';

const sale = payment({ status: 'paid', amount: '10.00', amount_received: '10.00', transaction_hash: `0x${'1'.repeat(64)}`, block_number: 42, confirmations: 3 });
const PAYER = '0x1111111111111111111111111111111111111111';
const OTHER = '0x2222222222222222222222222222222222222222';
const TX = `0x${'9'.repeat(64)}`;

/** The fake server's state: the sale's refunds and the refund being sent; tests change them. */
let view: RefundsView;
let sent: Refund;

function serveRefunds(extra: Parameters<typeof serve>[0] = {}) {
  return serve({
    [`/api/v1/payments/${sale.id}`]: [200, sale],
    [`GET /api/v1/payments/${sale.id}/refunds`]: () => [200, view],
    [`POST /api/v1/payments/${sale.id}/refunds`]: [201, refund()],
    [`/api/v1/refunds/${refund().id}`]: () => [200, sent],
    '/health': [200, { status: 'ok' }],
    '/api/v1/tokens': [200, []],
    '/api/v1/networks': [200, [{ id: 'bsc', name: 'BNB Smart Chain', chain_id: 56, explorer_url: 'https://bscscan.com' }]],
    ...extra,
  });
}

async function mountRefund(locale: 'en' | 'zh-CN' = 'en') {
  const router = createRouter({ history: createMemoryHistory(), routes });
  await router.push(`/pay/${sale.id}/refund`);
  const page = mount(RefundPage, { global: { plugins: [createPinia(), router, createAppI18n(locale)] } });
  await flushPromises();
  return page;
}

/** The page polls every 2 s: move the clock on and let the answers land. */
async function nextPoll() {
  await vi.advanceTimersByTimeAsync(2000);
  await flushPromises();
}

const refundCalls = (calls: { url: string; init?: RequestInit }[]) => calls.filter((c) => c.url === `/api/v1/refunds/${refund().id}`).length;

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
  view = { payer: PAYER, received: '10.00', refunded: '0', refundable: '10.00', refunds: [] };
  sent = refund();
});
afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

describe('RefundPage', () => {
  it('prefills the payer and all that may still be refunded, beside what was received and refunded', async () => {
    view = { ...view, refunded: '2.00', refundable: '8.00' };
    serveRefunds();
    const page = await mountRefund();
    expect((page.get('[data-testid=refund-to]').element as HTMLInputElement).value).toBe(PAYER);
    expect((page.get('[data-testid=refund-amount]').element as HTMLInputElement).value).toBe('8.00');
    expect(page.get('[data-testid=refund-refundable]').text()).toBe('8.00 USDT');
    expect(page.get('[data-testid=refund-figures]').text()).toContain('10.00 USDT');
    page.unmount();
  });

  it('posts the recipient, the amount and the reason as typed', async () => {
    const calls = serveRefunds();
    const page = await mountRefund();
    await page.get('[data-testid=refund-to]').setValue(OTHER);
    await page.get('[data-testid=refund-amount]').setValue('3.00');
    await page.get('[data-testid=refund-reason]').setValue('  Cold coffee ');
    await page.get('[data-testid=refund-form]').trigger('submit');
    await flushPromises();
    const post = calls.find((c) => c.init?.method === 'POST' && c.url === `/api/v1/payments/${sale.id}/refunds`);
    expect(JSON.parse(String(post?.init?.body))).toEqual({ to: OTHER, amount: '3.00', reason: 'Cold coffee' });
    page.unmount();
  });

  it('leaves the amount out when it is cleared, so the server takes all that is left', async () => {
    const calls = serveRefunds();
    const page = await mountRefund();
    await page.get('[data-testid=refund-amount]').setValue('');
    await page.get('[data-testid=refund-form]').trigger('submit');
    await flushPromises();
    const post = calls.find((c) => c.init?.method === 'POST' && c.url.endsWith('/refunds'));
    expect(JSON.parse(String(post?.init?.body))).toEqual({ to: PAYER });
    page.unmount();
  });

  it("shows what the shop's wallet must send, and follows the refund until it is confirmed", async () => {
    const calls = serveRefunds();
    const page = await mountRefund();
    await page.get('[data-testid=refund-form]').trigger('submit');
    await flushPromises();

    const panel = page.get('[data-testid=refund-request]');
    expect(panel.get('[data-testid=refund-qr]').attributes('src')).toMatch(/^data:image\/svg\+xml;charset=utf-8,%3Csvg/);
    expect(panel.get('[data-testid=refund-request-amount]').text()).toContain('3.00 USDT');
    expect(panel.get('[data-testid=refund-request-to]').text()).toContain(PAYER);
    expect(panel.get('[data-testid=refund-request-from]').text()).toContain(sale.pay_to);
    expect(panel.text()).toContain('BNB Smart Chain (chain 56)');
    expect(panel.text()).toContain(refund().payment_uri);
    expect(panel.text()).toContain('StablePay holds no keys');
    expect(page.get('[data-testid=refund-status]').text()).toContain('Waiting for the transfer');
    expect(page.find('[data-testid=refund-form]').exists()).toBe(false);

    sent = refund({ status: 'confirming', transaction_hash: TX, block_number: 205, confirmations: 1 });
    await nextPoll();
    expect(page.get('[data-testid=refund-status]').text()).toBe('Transfer seen in block 205 — 1 confirmations so far');
    expect(page.find('[data-testid=refund-cancel]').exists()).toBe(false);

    sent = refund({ status: 'confirmed', transaction_hash: TX, block_number: 205, confirmations: 3, confirmed_at: '2026-11-24T11:05:00Z' });
    view = { ...view, refunded: '3.00', refundable: '7.00', refunds: [sent] };
    await nextPoll();
    const done = page.get('[data-testid=refund-done]');
    expect(done.text()).toContain(`Refunded 3.00 USDT to ${PAYER}`);
    expect(done.get('[data-testid=refund-done-tx]').text()).toBe(TX);
    expect(page.get('[data-testid=refund-slip-link]').attributes('href')).toBe(`/pay/${sale.id}/receipt?refund=${refund().id}`);
    expect(page.find('[data-testid=refund-request]').exists()).toBe(false);
    expect(page.get('[data-testid=refund-refundable]').text()).toBe('7.00 USDT');
    expect(page.get(`[data-testid=refund-list] [data-refund=${refund().id}]`).text()).toContain('Refunded');

    // Confirmed: no more asking.
    const asked = refundCalls(calls);
    await nextPoll();
    expect(refundCalls(calls)).toBe(asked);
    page.unmount();
  });

  it('says in words why the server refused the refund', async () => {
    serveRefunds({
      [`POST /api/v1/payments/${sale.id}/refunds`]: [422, { error: { code: 'refund_too_large', message: 'at most 10.00 may still be refunded' } }],
    });
    const page = await mountRefund();
    await page.get('[data-testid=refund-amount]').setValue('12.00');
    await page.get('[data-testid=refund-form]').trigger('submit');
    await flushPromises();
    const error = page.get('[data-testid=refund-error]');
    expect(error.attributes('role')).toBe('alert');
    expect(error.text()).toContain('That is more than this sale can still refund.');
    expect(page.find('[data-testid=refund-request]').exists()).toBe(false);
    page.unmount();
  });

  it('shows a refund still waiting to be sent, and cancels it after asking once more', async () => {
    view = { ...view, refundable: '7.00', refunds: [refund()] };
    const calls = serveRefunds({
      [`POST /api/v1/refunds/${refund().id}/cancel`]: () => {
        view = { ...view, refundable: '10.00', refunds: [refund({ status: 'cancelled', cancelled_at: '2026-11-24T11:02:00Z' })] };
        return [200, view.refunds[0]];
      },
    });
    const page = await mountRefund();
    expect(page.find('[data-testid=refund-request]').exists()).toBe(true);

    await page.get('[data-testid=refund-cancel]').trigger('click');
    expect(calls.some((c) => c.url.endsWith('/cancel'))).toBe(false);
    await page.get('[data-testid=refund-cancel-yes]').trigger('click');
    await flushPromises();

    expect(calls.some((c) => c.init?.method === 'POST' && c.url === `/api/v1/refunds/${refund().id}/cancel`)).toBe(true);
    expect(page.find('[data-testid=refund-request]').exists()).toBe(false);
    expect(page.get('[data-testid=refund-cancelled]').text()).toBe('The refund was cancelled.');
    expect((page.get('[data-testid=refund-amount]').element as HTMLInputElement).value).toBe('10.00');
    expect(page.get(`[data-refund=${refund().id}]`).text()).toContain('Cancelled');
    page.unmount();
  });

  it('stops asking for the refund once the page is left', async () => {
    view = { ...view, refundable: '7.00', refunds: [refund()] };
    const calls = serveRefunds();
    const page = await mountRefund();
    await nextPoll();
    const asked = refundCalls(calls);
    expect(asked).toBeGreaterThan(0);
    page.unmount();
    await nextPoll();
    expect(refundCalls(calls)).toBe(asked);
  });

  it('says a sale refunded in full is done, in Chinese too, and offers no form', async () => {
    serve({
      [`/api/v1/payments/${sale.id}`]: [200, { ...sale, status: 'refunded', refunded_amount: '10.00' }],
      [`/api/v1/payments/${sale.id}/refunds`]: [200, { ...view, refunded: '10.00', refundable: '0', refunds: [refund({ status: 'confirmed', amount: '10.00', transaction_hash: TX })] }],
      '/health': [200, { status: 'ok' }],
      '/api/v1/tokens': [200, []],
      '/api/v1/networks': [200, []],
    });
    const page = await mountRefund('zh-CN');
    expect(page.get('[data-testid=refund-complete]').text()).toBe('此订单已全额退款。');
    expect(page.get('[data-testid=refund-sale-status]').text()).toBe('已退款');
    expect(page.find('[data-testid=refund-form]').exists()).toBe(false);
    page.unmount();
  });

  it('checks a refund by the transaction hash the wallet sent it in, and says in words when it is not the refund', async () => {
    view = { ...view, refundable: '7.00', refunds: [refund()] };
    const calls = serveRefunds({
      [`POST /api/v1/refunds/${refund().id}/check`]: (init?: RequestInit) =>
        JSON.parse(String(init?.body)).transaction_hash === TX
          ? [200, refund({ status: 'confirming', transaction_hash: TX, block_number: 50, confirmations: 1 })]
          : [422, { error: { code: 'amount_mismatch', message: 'different amount' } }],
    });
    const page = await mountRefund();
    await page.get('[data-testid=refund-check-tx]').setValue(`0x${'8'.repeat(64)}`);
    await page.get('form.check').trigger('submit');
    await flushPromises();
    expect(page.get('[data-testid=refund-check-error]').text()).toBe('That transaction sends a different amount than this refund.');
    await page.get('[data-testid=refund-check-tx]').setValue(TX);
    await page.get('form.check').trigger('submit');
    await flushPromises();
    expect(calls.filter((c) => c.url.endsWith('/check')).length).toBe(2);
    expect(page.get('[data-testid=refund-status]').attributes('data-status')).toBe('confirming');
    page.unmount();
  });
});
