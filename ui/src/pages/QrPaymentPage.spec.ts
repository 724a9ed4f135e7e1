import { flushPromises, mount } from '@vue/test-utils';
import { createPinia } from 'pinia';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createMemoryHistory, createRouter } from 'vue-router';
import { createAppI18n } from '../i18n';
import { routes } from '../router';
import { cart, FakeSocket, fakeSockets, payment, serve } from '../testing/fakes';
import QrPaymentPage from './QrPaymentPage.vue';

const id = payment().id;

async function mountAt(path: string, locale: 'en' | 'zh-CN' = 'en') {
  const router = createRouter({ history: createMemoryHistory(), routes });
  await router.push(path);
  const page = mount(QrPaymentPage, { global: { plugins: [createPinia(), router, createAppI18n(locale)] } });
  await flushPromises();
  return { page, router };
}

beforeEach(() => fakeSockets());
afterEach(() => vi.unstubAllGlobals());

describe('QrPaymentPage', () => {
  it('shows the QR, the exact amount, address, token and network as text, and goes to success when paid', async () => {
    let current = payment();
    serve({
      [`/api/v1/payments/${id}`]: () => [200, current],
      '/health': [200, { status: 'ok' }],
      '/api/v1/tokens': [200, []],
      '/api/v1/networks': [200, [{ id: 'bsc', name: 'BNB Smart Chain', chain_id: 56, explorer_url: 'https://bscscan.com' }]],
    });
    const { page, router } = await mountAt(`/pay/${id}`);

    expect(page.find('[data-testid=qr]').attributes('src')).toBe(`/api/v1/payments/${id}/qr.svg`);
    expect(page.text()).toContain('10.01 USDT');
    expect(page.text()).toContain(current.pay_to);
    expect(page.text()).toContain('BNB Smart Chain (chain 56)');
    expect(page.find('[data-testid=countdown]').text()).toMatch(/^Expires in (15 minutes|14 minutes 59 seconds)$/);
    expect(page.text()).toContain('Exchanges deduct withdrawal fees');

    await page.find('.qr-box button').trigger('click');
    expect(page.find('[data-testid=qr]').attributes('src')).toContain('kind=address');

    current = payment({ status: 'paid', transaction_hash: `0x${'1'.repeat(64)}`, block_number: 42, confirmations: 3 });
    FakeSocket.latest().push({ type: 'payment_status_update', paymentId: id, data: { status: 'paid' } });
    await flushPromises();
    await vi.waitFor(() => expect(router.currentRoute.value.path).toBe(`/pay/${id}/success`));
  });

  it("lists a cart's lines beside the amount to send", async () => {
    serve({
      [`/api/v1/payments/${id}`]: [200, payment({ cart: cart() })],
      '/health': [200, { status: 'ok' }],
      '/api/v1/tokens': [200, []],
      '/api/v1/networks': [200, []],
    });
    const { page } = await mountAt(`/pay/${id}`);

    const items = page.get('[data-testid=qr-items]');
    expect(items.findAll('[data-testid=cart-lines-item]')).toHaveLength(3);
    expect(items.text()).toContain('Flat white');
    expect(items.get('[data-testid=cart-lines-total]').text()).toBe('$44.99');
  });

  it('says plainly, in Chinese, that an expired payment must not be paid as is', async () => {
    serve({
      [`/api/v1/payments/${id}`]: [200, payment({ status: 'expired' })],
      '/health': [200, { status: 'ok' }],
      '/api/v1/tokens': [200, []],
      '/api/v1/networks': [200, []],
    });
    const { page } = await mountAt(`/pay/${id}`, 'zh-CN');

    expect(page.find('[role=alert]').text()).toContain('此付款已过期');
    expect(page.find('[data-testid=countdown]').exists()).toBe(false);
  });

  it('explains an unknown payment id', async () => {
    serve({
      '/api/v1/payments/pay_ffffffffffffffffffffffffffffffff': [404, { error: { code: 'payment_not_found', message: 'payment not found' } }],
      '/api/v1/tokens': [200, []],
      '/api/v1/networks': [200, []],
      '/health': [200, { status: 'ok' }],
    });
    const { page } = await mountAt('/pay/pay_ffffffffffffffffffffffffffffffff');

    expect(page.text()).toContain('No payment with this id.');
  });

  it('says the payment is awaited again when the block holding it left the chain', async () => {
    let current = payment({ status: 'confirming', transaction_hash: `0x${'2'.repeat(64)}`, block_number: 77, confirmations: 1 });
    serve({
      [`/api/v1/payments/${id}`]: () => [200, current],
      '/health': [200, { status: 'ok' }],
      '/api/v1/tokens': [200, []],
      '/api/v1/networks': [200, []],
    });
    const { page } = await mountAt(`/pay/${id}`);
    expect(page.find('[data-testid=reverted]').exists()).toBe(false);

    current = payment({ status: 'pending' });
    FakeSocket.latest().push({ type: 'payment_status_update', event: 'payment.reverted', paymentId: id, data: { status: 'pending' } });
    await flushPromises();

    await vi.waitFor(() => expect(page.find('[data-testid=reverted]').text()).toContain('left the chain'));
    expect(page.find('[data-testid=countdown]').exists()).toBe(true);
  });

  it('refuses an old transaction offered by hand with the reason in plain words', async () => {
    serve({
      [`/api/v1/payments/${id}`]: [200, payment()],
      [`POST /api/v1/payments/${id}/process`]: [422, { error: { code: 'transaction_too_old', message: 'too old' } }],
      '/health': [200, { status: 'ok' }],
      '/api/v1/tokens': [200, []],
      '/api/v1/networks': [200, []],
    });
    const { page } = await mountAt(`/pay/${id}`);

    await page.find('#tx-hash').setValue(`0x${'3'.repeat(64)}`);
    await page.find('form.check').trigger('submit');
    await flushPromises();

    expect(page.find('form.check [role=alert]').text()).toContain('made before this payment existed');
  });

  it('says in red, in words, that payments are not being seen when no node answers', async () => {
    serve({
      [`/api/v1/payments/${id}`]: [200, payment()],
      '/api/v1/chain/status': [200, { seeing_payments: false, networks: [{ network: 'bsc', seeing_payments: false, reason: 'no_node', head: 0, last_block_processed: 0 }] }],
    });
    const { page } = await mountAt(`/pay/${id}`);
    const warning = page.find('[data-testid=not-seen]');
    expect(warning.attributes('role')).toBe('alert');
    expect(warning.text()).toContain('Payments are not being seen right now.');
    expect(warning.text()).toContain('No blockchain node answers');
    expect(warning.text()).toContain('Do not ask the customer to pay');
  });

  it('shows a wrong amount beside the asked one and accepts it in one click', async () => {
    const wrong = payment({ amount: '5.00', wrong_amount: { transfer_id: 7, amount: '4.99', amount_base_units: '4990000000000000000' } });
    const calls = serve({
      [`/api/v1/payments/${id}`]: [200, wrong],
      [`POST /api/v1/payments/${id}/attach`]: [200, payment({ status: 'confirming', amount: '5.00', amount_received: '4.99', amount_match: 'underpaid' })],
    });
    const { page } = await mountAt(`/pay/${id}`);
    const box = page.find('[data-testid=wrong-amount]');
    expect(box.text()).toContain('4.99 USDT arrived — this sale asks 5.00 USDT.');
    await page.find('[data-testid=accept-wrong-amount]').trigger('click');
    await flushPromises();
    const attach = calls.find((c) => c.url.endsWith('/attach'));
    expect(JSON.parse(String(attach?.init?.body))).toEqual({ transfer_id: 7, reason: 'accepted at the counter: received 4.99 USDT for a sale of 5.00 USDT' });
    expect(page.find('[data-testid=wrong-amount]').exists()).toBe(false);
  });

  it('asks once more before cancelling a sale', async () => {
    const calls = serve({
      [`/api/v1/payments/${id}`]: [200, payment()],
      [`POST /api/v1/payments/${id}/cancel`]: [200, payment({ status: 'cancelled' })],
    });
    const { page } = await mountAt(`/pay/${id}`);
    await page.find('[data-testid=cancel]').trigger('click');
    expect(calls.some((c) => c.url.endsWith('/cancel'))).toBe(false);
    await page.find('[data-testid=cancel-no]').trigger('click');
    expect(page.find('[data-testid=cancel]').exists()).toBe(true);
    await page.find('[data-testid=cancel]').trigger('click');
    await page.find('[data-testid=cancel-yes]').trigger('click');
    await flushPromises();
    expect(calls.filter((c) => c.url.endsWith('/cancel')).length).toBe(1);
    expect(page.text()).toContain('cancelled');
  });

  it("shows the socket's error in plain words and offers to reconnect", async () => {
    serve({ [`/api/v1/payments/${id}`]: [200, payment()] });
    const { page } = await mountAt(`/pay/${id}`);
    FakeSocket.latest().push({ type: 'error', error: { code: 'payment_not_found', message: 'payment not found' } });
    await flushPromises();
    expect(page.find('[data-testid=socket-error]').text()).toBe('No payment with this id.');
    FakeSocket.latest().drop();
    await flushPromises();
    const before = FakeSocket.all.length;
    await page.find('[data-testid=reconnect]').trigger('click');
    await flushPromises();
    expect(FakeSocket.all.length).toBe(before + 1);
  });

  it('shows the price in yuan beside the exact token amount, with the rate it was converted at', async () => {
    const sold = payment({ amount: '5.08', fiat_amount: '35.50', fiat_currency: 'CNY', rate: '7.1', rate_source: 'coinbase', rate_markup_percent: '1.5' });
    serve({ [`/api/v1/payments/${id}`]: [200, sold] });
    const { page } = await mountAt(`/pay/${id}`);

    expect(page.find('[data-testid=exact-amount]').text()).toContain('5.08 USDT');
    expect(page.find('[data-testid=fiat-amount]').text()).toBe('CN¥35.50');
    expect(page.find('[data-testid=fiat-rate]').text()).toBe('1 USDT = CN¥7.10 · Coinbase · markup 1.5 %');

    const zh = await mountAt(`/pay/${id}`, 'zh-CN');
    expect(zh.page.find('[data-testid=fiat-amount]').text()).toBe('¥35.50');
    expect(zh.page.find('[data-testid=fiat-rate]').text()).toBe('1 USDT = ¥7.10 · Coinbase · 加价 1.5%');
  });

  it('shows only the token amount for a shop in USD at 1', async () => {
    serve({ [`/api/v1/payments/${id}`]: [200, payment()] });
    const { page } = await mountAt(`/pay/${id}`);
    expect(page.find('[data-testid=exact-amount]').text()).toContain('10.01 USDT');
    expect(page.find('[data-testid=fiat-amount]').exists()).toBe(false);
    expect(page.find('[data-testid=fiat-rate]').exists()).toBe(false);
  });

  it("says the sale's price in yuan in the wrong-amount box", async () => {
    const wrong = payment({ amount: '5.08', fiat_amount: '35.50', fiat_currency: 'CNY', rate: '7.1', wrong_amount: { transfer_id: 7, amount: '5.00', amount_base_units: '5000000000000000000' } });
    serve({ [`/api/v1/payments/${id}`]: [200, wrong] });
    const { page } = await mountAt(`/pay/${id}`);
    expect(page.find('[data-testid=wrong-amount-price]').text()).toBe('This sale: CN¥35.50 (5.08 USDT)');
  });
});
