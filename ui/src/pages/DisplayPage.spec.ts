import { flushPromises, mount } from '@vue/test-utils';
import { createPinia } from 'pinia';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createMemoryHistory, createRouter } from 'vue-router';
import { displayToken, setDisplayToken } from '../backend';
import { createAppI18n } from '../i18n';
import { routes } from '../router';
import { cart, FakeSocket, fakeSockets, payment, PUSH_KEY, serve, signed } from '../testing/fakes';
import DisplayPage from './DisplayPage.vue';

beforeEach(() => {
  fakeSockets();
  localStorage.clear();
});
afterEach(() => vi.unstubAllGlobals());

async function mountAt(path: string) {
  const router = createRouter({ history: createMemoryHistory(), routes });
  await router.push(path);
  const page = mount(DisplayPage, { global: { plugins: [createPinia(), router, createAppI18n('en')] } });
  await flushPromises();
  return { page, router };
}

const unauthorized: [number, unknown] = [401, { error: { code: 'unauthorized', message: 'missing or invalid API key' } }];

describe('DisplayPage', () => {
  it('goes from idle to the payment to success as the display channel says', async () => {
    const calls = serve({ 'POST /api/v1/socket-tickets': [201, { ticket: 't-123', expires_in: 60 }] });
    const { page } = await mountAt('/display');
    const socket = FakeSocket.latest();
    expect(socket.url).toContain('/ws/display?ticket=t-123');
    expect(socket.url).not.toContain('api_key');
    expect(calls.some((c) => c.url.endsWith('/api/v1/socket-tickets'))).toBe(true);

    socket.push({ type: 'display_update', data: { mode: 'idle', payment: null, shop_name: 'Corner Café', updated_at: '' } });
    await flushPromises();
    expect(page.text()).toContain('Welcome to Corner Café');

    socket.push({ type: 'display_update', data: { mode: 'payment', payment: payment(), shop_name: 'Corner Café', updated_at: '' } });
    await flushPromises();
    expect(page.find('[data-testid=display-amount]').text()).toBe('10.01 USDT');
    // The QR code is drawn from the signed payment, not fetched.
    expect(page.find('img').attributes('src')).toMatch(/^data:image\/svg\+xml/);
    expect(page.find('img').attributes('data-qr-text')).toBe(payment().payment_uri);

    socket.push({ type: 'display_update', data: { mode: 'success', payment: payment({ status: 'paid' }), shop_name: 'Corner Café', updated_at: '' } });
    await flushPromises();
    expect(page.find('[data-testid=display-success]').text()).toBe('Payment received');
    expect(page.find('[data-testid=display]').attributes('data-mode')).toBe('success');
  });

  it('offers the tip choices instead of the QR code until the customer picks one', async () => {
    const asking = payment({ fiat_amount: '44.99', fiat_currency: 'CNY', rate: '7.1', tip: { choices: [10, 15], base: '44.99', percent: null, amount: null } });
    const calls = serve({
      'POST /api/v1/socket-tickets': [201, { ticket: 't-1', expires_in: 60 }],
      [`POST /api/v1/payments/${asking.id}/tip`]: [200, { ...asking, tip: { choices: [10, 15], base: '44.99', percent: 10, amount: '4.50' } }],
    });
    const { page } = await mountAt('/display');
    const socket = FakeSocket.latest();
    socket.push({ type: 'display_update', data: { mode: 'payment', payment: asking, shop_name: 'Corner Café', updated_at: '' } });
    await flushPromises();
    expect(page.find('[data-testid=display-tip]').exists()).toBe(true);
    expect(page.find('[data-testid=display-amount]').exists()).toBe(false);
    await page.get('[data-testid=tip-10]').trigger('click');
    await flushPromises();
    const posted = calls.find((c) => c.url.endsWith('/tip'));
    expect(JSON.parse(String(posted?.init?.body))).toEqual({ percent: 10 });

    const chosen = payment({ amount: '6.98', tip: { choices: [10, 15], base: '44.99', percent: 10, amount: '4.50' } });
    socket.push({ type: 'display_update', data: { mode: 'payment', payment: chosen, shop_name: 'Corner Café', updated_at: '' } });
    await flushPromises();
    expect(page.find('[data-testid=display-tip]').exists()).toBe(false);
    expect(page.find('[data-testid=display-amount]').text()).toBe('6.98 USDT');
  });

  it('asks an unknown device for a pairing code, then keeps its token and follows the display', async () => {
    let paired = false;
    const calls = serve({
      'POST /api/v1/socket-tickets': (init) =>
        String((init?.headers as Record<string, string>)?.Authorization ?? '') === 'Bearer tok-display-1' ? [201, { ticket: 't-9', expires_in: 60 }] : unauthorized,
      'POST /api/v1/displays/pair': (init) => {
        const body = JSON.parse(String(init?.body));
        if (body.code !== '123456') return [403, { error: { code: 'pairing_refused', message: 'no' } }];
        paired = true;
        return [201, { id: 'dsp_1', name: body.name, token: 'tok-display-1', push_key: PUSH_KEY }];
      },
    });
    const { page } = await mountAt('/display');
    expect(page.find('[data-testid=display-pairing]').exists()).toBe(true);

    await page.find('[data-testid=pair-code]').setValue('654321');
    await page.find('[data-testid=display-pairing]').trigger('submit');
    await flushPromises();
    expect(page.find('[role=alert]').text()).toContain('wrong or has expired');
    expect(displayToken()).toBe('');

    await page.find('[data-testid=pair-code]').setValue('123456');
    await page.find('[data-testid=pair-name]').setValue('Till 2');
    await page.find('[data-testid=display-pairing]').trigger('submit');
    await flushPromises();
    expect(paired).toBe(true);
    expect(JSON.parse(String(calls.find((c) => c.url.endsWith('/displays/pair') && c.init?.body?.toString().includes('123456'))?.init?.body)).name).toBe('Till 2');
    expect(displayToken()).toBe('tok-display-1');
    expect(page.find('[data-testid=display-pairing]').exists()).toBe(false);
    expect(FakeSocket.latest().url).toContain('ticket=t-9');
  });

  it('pairs at once from the pairing URL and drops the code from the address', async () => {
    serve({
      'POST /api/v1/displays/pair': [201, { id: 'dsp_2', name: 'Customer display', token: 'tok-2', push_key: PUSH_KEY }],
      'POST /api/v1/socket-tickets': [201, { ticket: 't-2', expires_in: 60 }],
    });
    const { router } = await mountAt('/display?pair=246810');
    expect(displayToken()).toBe('tok-2');
    expect(router.currentRoute.value.query.pair).toBeUndefined();
    expect(FakeSocket.latest().url).toContain('ticket=t-2');
  });

  it('forgets a revoked token and shows the pairing form again', async () => {
    setDisplayToken('tok-revoked');
    serve({ 'POST /api/v1/socket-tickets': unauthorized });
    const { page } = await mountAt('/display');
    expect(page.find('[data-testid=display-pairing]').exists()).toBe(true);
    expect(displayToken()).toBe('');
  });

  it('shows a warning instead of the QR code when a message was changed on the way', async () => {
    serve({ 'POST /api/v1/socket-tickets': [201, { ticket: 't-1', expires_in: 60 }] });
    const { page } = await mountAt('/display');
    const socket = FakeSocket.latest();
    const shown = { type: 'display_update', data: { mode: 'payment', payment: payment(), shop_name: 'Shop', updated_at: '2026-11-24T10:00:00.000Z' } };
    socket.push(shown);
    await flushPromises();
    expect(page.find('img').exists()).toBe(true);

    // A man in the middle swaps the address in a signed message.
    const text = JSON.stringify(signed({ ...shown, data: { ...shown.data, updated_at: '2026-11-24T10:00:01.000Z' } }));
    socket.pushRaw(text.replace(payment().pay_to, '0x000000000000000000000000000000000000dEaD'));
    await flushPromises();
    expect(page.find('[data-testid=display-untrusted]').exists()).toBe(true);
    expect(page.find('img').exists()).toBe(false);
    expect(page.text()).not.toContain('dEaD');

    // Unsigned, or signed by another key: the same.
    socket.push(shown);
    await flushPromises();
    expect(page.find('img').exists()).toBe(true);
    socket.pushRaw(JSON.stringify(shown));
    await flushPromises();
    expect(page.find('[data-testid=display-untrusted]').exists()).toBe(true);
    socket.pushRaw(JSON.stringify(signed(shown, 'other')));
    await flushPromises();
    expect(page.find('img').exists()).toBe(false);
  });

  it('a paired display trusts only the key it pinned at pairing, never one from the network', async () => {
    setDisplayToken('tok-display', PUSH_KEY);
    const calls = serve({
      'POST /api/v1/socket-tickets': [201, { ticket: 't-3', expires_in: 60 }],
      '/api/v1/push-key': [200, { algorithm: 'ed25519', public_key: '00'.repeat(32) }],
    });
    const { page } = await mountAt('/display');
    FakeSocket.latest().push({ type: 'display_update', data: { mode: 'payment', payment: payment(), shop_name: 'Shop', updated_at: '' } });
    await flushPromises();
    expect(page.find('[data-testid=display-amount]').text()).toBe('10.01 USDT');
    expect(calls.some((c) => c.url.endsWith('/push-key'))).toBe(false);
  });

  it('ignores an older update replayed after a newer one', async () => {
    serve({ 'POST /api/v1/socket-tickets': [201, { ticket: 't-4', expires_in: 60 }] });
    const { page } = await mountAt('/display');
    const socket = FakeSocket.latest();
    const old = { type: 'display_update', data: { mode: 'payment', payment: payment({ amount: '5.00' }), shop_name: 'Shop', updated_at: '2026-11-24T10:00:00.000Z' } };
    const now = { type: 'display_update', data: { mode: 'payment', payment: payment(), shop_name: 'Shop', updated_at: '2026-11-24T10:05:00.000Z' } };
    socket.push(now);
    socket.push(old);
    await flushPromises();
    expect(page.find('[data-testid=display-amount]').text()).toBe('10.01 USDT');
  });

  it('a display paired before keys were pinned is asked to pair again', async () => {
    setDisplayToken('tok-old');
    serve({ 'POST /api/v1/socket-tickets': [201, { ticket: 't-5', expires_in: 60 }] });
    const { page } = await mountAt('/display');
    expect(page.find('[data-testid=display-pairing]').exists()).toBe(true);
    expect(displayToken()).toBe('');
  });

  it('names the network and the item, and goes back to its welcome when the sale is cancelled', async () => {
    serve({
      'POST /api/v1/socket-tickets': [201, { ticket: 't-1', expires_in: 60 }],
      '/api/v1/networks': [200, [{ id: 'bsc', name: 'BNB Smart Chain', chain_id: 56, explorer_url: 'https://bscscan.com' }]],
    });
    const { page } = await mountAt('/display');
    const socket = FakeSocket.latest();
    socket.push({ type: 'display_update', data: { mode: 'payment', payment: payment({ description: 'Flat white' }), shop_name: 'Corner Café', updated_at: '' } });
    await flushPromises();
    expect(page.find('[data-testid=display-network]').text()).toBe('BNB Smart Chain · BEP-20');
    expect(page.find('[data-testid=display-item]').text()).toBe('Flat white');

    socket.push({ type: 'display_update', data: { mode: 'payment', payment: payment({ status: 'cancelled' }), shop_name: 'Corner Café', updated_at: '' } });
    await flushPromises();
    expect(page.find('[data-testid=display-amount]').exists()).toBe(false);
    expect(page.find('img').exists()).toBe(false);
    expect(page.text()).toContain('Welcome to Corner Café');
  });

  it("shows a cart's lines small under the amount, and at most eight of them", async () => {
    serve({ 'POST /api/v1/socket-tickets': [201, { ticket: 't-1', expires_in: 60 }] });
    const { page } = await mountAt('/display');
    const socket = FakeSocket.latest();
    socket.push({ type: 'display_update', data: { mode: 'payment', payment: payment({ amount: '44.99', fiat_amount: '44.99', cart: cart() }), shop_name: 'Corner Café', updated_at: '' } });
    await flushPromises();

    const items = page.get('[data-testid=display-items]');
    const row = (r: ReturnType<typeof items.get>) => r.findAll('td').map((c) => c.text()).filter(Boolean).join(' ');
    expect(items.findAll('[data-testid=cart-lines-item]').map(row)).toEqual(['2 × Flat white $37.00', '1 × Croissant $12.00', '1 × Tip jar $0.99']);
    expect(row(items.get('[data-testid=cart-lines-discount]'))).toBe('Discount (10 %) −$5.00');
    expect(page.get('[data-testid=display-amount]').text()).toBe('44.99 USDT');

    const long = { ...cart(), items: Array.from({ length: 12 }, (_, i) => ({ name: `Thing ${i + 1}`, quantity: 1, unit_price: '1.00', amount: '1.00', product_id: null })) };
    socket.push({ type: 'display_update', data: { mode: 'payment', payment: payment({ cart: long }), shop_name: 'Corner Café', updated_at: '' } });
    await flushPromises();
    expect(page.findAll('[data-testid=display-items] [data-testid=cart-lines-item]')).toHaveLength(7);
    expect(page.get('[data-testid=display-items]').text()).toContain('and 5 more');
  });

  it('says please wait instead of showing the QR code while payments are not being seen', async () => {
    serve({
      'POST /api/v1/socket-tickets': [201, { ticket: 't-1', expires_in: 60 }],
      '/api/v1/chain/status': [200, { seeing_payments: false, networks: [{ network: 'bsc', seeing_payments: false, reason: 'no_node', head: 0, last_block_processed: 0 }] }],
    });
    const { page } = await mountAt('/display');
    FakeSocket.latest().push({ type: 'display_update', data: { mode: 'payment', payment: payment(), shop_name: 'Corner Café', updated_at: '' } });
    await flushPromises();
    expect(page.find('[data-testid=display-wait]').text()).toContain('Please wait');
    expect(page.find('img').exists()).toBe(false);
  });

  it('shows the shop logo above its name while idle, and a new logo as soon as the state says so', async () => {
    serve({ 'POST /api/v1/socket-tickets': [201, { ticket: 't-1', expires_in: 60 }] });
    const { page } = await mountAt('/display');
    const socket = FakeSocket.latest();
    const idle = (logo_version: string | null, updated_at: string) => ({
      type: 'display_update',
      data: { mode: 'idle', payment: null, shop_name: 'Corner Café', logo_version, updated_at },
    });
    socket.push(idle(null, '2026-11-24T10:00:00Z'));
    await flushPromises();
    expect(page.find('[data-testid=display-logo]').exists()).toBe(false);
    expect(page.text()).toContain('Welcome to Corner Café');

    socket.push(idle('3f2a9c', '2026-11-24T10:00:01Z'));
    await flushPromises();
    const logo = page.find('[data-testid=display-logo]');
    expect(logo.attributes('src')).toBe('/api/v1/display/logo?v=3f2a9c');
    expect(logo.element.nextElementSibling?.textContent).toBe('Welcome to Corner Café');

    socket.push(idle('77b01d', '2026-11-24T10:00:02Z'));
    await flushPromises();
    expect(page.find('[data-testid=display-logo]').attributes('src')).toBe('/api/v1/display/logo?v=77b01d');

    // An image that does not load is hidden, not shown broken.
    await page.find('[data-testid=display-logo]').trigger('error');
    expect(page.find('[data-testid=display-logo]').exists()).toBe(false);
    expect(page.text()).toContain('Welcome to Corner Café');

    socket.push({ type: 'display_update', data: { mode: 'payment', payment: payment(), shop_name: 'Corner Café', logo_version: '77b01d', updated_at: '2026-11-24T10:00:03Z' } });
    await flushPromises();
    expect(page.find('[data-testid=display-logo]').exists()).toBe(false);
  });

  it('keeps the countdown clock and says it in words beneath', async () => {
    serve({ 'POST /api/v1/socket-tickets': [201, { ticket: 't-1', expires_in: 60 }] });
    const { page } = await mountAt('/display');
    const expires_at = new Date(Date.now() + 4 * 60_000 + 59_500).toISOString();
    FakeSocket.latest().push({ type: 'display_update', data: { mode: 'payment', payment: payment({ expires_at }), shop_name: 'Shop', updated_at: '' } });
    await flushPromises();
    expect(page.find('.countdown .clock').text()).toBe('4:59');
    expect(page.find('.countdown .clock').attributes('aria-hidden')).toBe('true');
    expect(page.find('[data-testid=display-expires]').text()).toBe('Expires in 4 minutes 59 seconds');
  });

  it('tells the customer what arrived and what the sale is when the amount was wrong', async () => {
    serve({ 'POST /api/v1/socket-tickets': [201, { ticket: 't-1', expires_in: 60 }] });
    const { page } = await mountAt('/display');
    const wrong = payment({ amount: '5.00', wrong_amount: { transfer_id: 7, amount: '4.99', amount_base_units: '4990000000000000000' } });
    FakeSocket.latest().push({ type: 'display_update', data: { mode: 'payment', payment: wrong, shop_name: 'Corner Café', updated_at: '' } });
    await flushPromises();
    const box = page.find('[data-testid=display-wrong-amount]');
    expect(box.text()).toContain('We received 4.99 USDT');
    expect(box.text()).toContain('This sale is 5.00 USDT. Please see the cashier.');
  });

  it('shows the price in yuan smaller under the exact token amount, and again when paid', async () => {
    serve({ 'POST /api/v1/socket-tickets': [201, { ticket: 't-1', expires_in: 60 }] });
    const { page } = await mountAt('/display');
    const sold = payment({ amount: '5.08', fiat_amount: '35.50', fiat_currency: 'CNY', rate: '7.1', rate_source: 'coinbase', rate_markup_percent: '1.5' });
    FakeSocket.latest().push({ type: 'display_update', data: { mode: 'payment', payment: sold, shop_name: 'Shop', updated_at: '2026-11-24T10:00:00Z' } });
    await flushPromises();
    expect(page.find('[data-testid=display-amount]').text()).toBe('5.08 USDT');
    const price = page.find('[data-testid=fiat-amount]');
    expect(price.text()).toBe('CN¥35.50');
    expect(price.element.parentElement?.previousElementSibling?.getAttribute('data-testid')).toBe('display-amount');

    FakeSocket.latest().push({ type: 'display_update', data: { mode: 'success', payment: { ...sold, status: 'paid' }, shop_name: 'Shop', updated_at: '2026-11-24T10:00:01Z' } });
    await flushPromises();
    expect(page.find('[data-testid=fiat-amount]').text()).toBe('CN¥35.50');
  });

  it('shows only the token amount for a shop in USD at 1', async () => {
    serve({ 'POST /api/v1/socket-tickets': [201, { ticket: 't-1', expires_in: 60 }] });
    const { page } = await mountAt('/display');
    FakeSocket.latest().push({ type: 'display_update', data: { mode: 'payment', payment: payment(), shop_name: 'Shop', updated_at: '' } });
    await flushPromises();
    expect(page.find('[data-testid=display-amount]').text()).toBe('10.01 USDT');
    expect(page.find('[data-testid=fiat-amount]').exists()).toBe(false);
  });

  it("follows one counter's channel when the address names it, and keeps it through pairing", async () => {
    const counter = `ctr_${'c'.repeat(24)}`;
    serve({ 'POST /api/v1/socket-tickets': [201, { ticket: 't-7', expires_in: 60 }] });
    await mountAt(`/display?counter=${counter}`);
    const url = new URL(FakeSocket.latest().url);
    expect(url.pathname).toBe('/ws/display');
    expect(url.searchParams.get('ticket')).toBe('t-7');
    expect(url.searchParams.get('counter')).toBe(counter);

    serve({
      'POST /api/v1/displays/pair': [201, { id: 'dsp_3', name: 'Customer display', token: 'tok-3', push_key: PUSH_KEY }],
      'POST /api/v1/socket-tickets': [201, { ticket: 't-8', expires_in: 60 }],
    });
    const { router } = await mountAt(`/display?pair=135790&counter=${counter}`);
    expect(router.currentRoute.value.query).toEqual({ counter });
    expect(new URL(FakeSocket.latest().url).searchParams.get('counter')).toBe(counter);
  });

  it("follows the shop's own channel when no counter is named", async () => {
    serve({ 'POST /api/v1/socket-tickets': [201, { ticket: 't-9', expires_in: 60 }] });
    await mountAt('/display');
    expect(new URL(FakeSocket.latest().url).searchParams.has('counter')).toBe(false);
  });
});
