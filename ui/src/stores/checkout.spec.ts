import { createPinia, setActivePinia } from 'pinia';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { newIdempotencyKey, type Payment } from '../backend';
import { payment, serve } from '../testing/fakes';
import { formatAmount } from '../composables/useNow';
import { MAX_WHOLE_DIGITS, pressKey, useCheckoutStore, validAmount } from './checkout';
import { usePricingStore } from './pricing';

const product = (id: string, name: string, price: string) => ({ id, name, price, description: null, active: true, created_at: '', updated_at: '' });

beforeEach(() => {
  setActivePinia(createPinia());
  localStorage.clear();
});
afterEach(() => vi.unstubAllGlobals());

describe('the keypad', () => {
  it('builds an amount with one dot and at most two decimals', () => {
    let a = '';
    for (const k of ['0', '1', '2', '.', '5', '.', '0', '9']) a = pressKey(a, k);
    expect(a).toBe('12.50');
    expect(pressKey('12.50', '⌫')).toBe('12.5');
    expect(pressKey('12.5', 'C')).toBe('');
    expect(pressKey('', '.')).toBe('0.');
  });

  it('takes a comma as the decimal point and stops at nine whole digits', () => {
    let a = '';
    for (const k of ['3', ',', '5']) a = pressKey(a, k);
    expect(a).toBe('3.5');
    let big = '';
    for (const k of '123456789012') big = pressKey(big, k);
    expect(big).toBe('123456789');
    expect(big.length).toBe(MAX_WHOLE_DIGITS);
    expect(validAmount('1234567890')).toBe(false);
  });

  it("shows amounts grouped with two decimals in the shop's language", () => {
    expect(formatAmount('3.5', 'en')).toBe('3.50');
    expect(formatAmount('12345', 'en')).toBe('12,345.00');
    expect(formatAmount('1234.5', 'de')).toBe('1.234,50');
    expect(formatAmount('', 'en')).toBe('');
  });

  it('accepts only positive amounts the API takes', () => {
    expect(validAmount('10')).toBe(true);
    expect(validAmount('0.01')).toBe(true);
    expect(validAmount('0')).toBe(false);
    expect(validAmount('0.')).toBe(false);
    expect(validAmount('1.234')).toBe(false);
    expect(validAmount('')).toBe(false);
  });
});

describe('the checkout store', () => {
  it("creates the payment with the keypad amount in the shop's currency as a string and an idempotency key, then shows it on the customer display", async () => {
    const created = payment();
    const calls = serve({
      'POST /api/v1/payments': [201, created],
      'PUT /api/v1/display': [200, { mode: 'payment', payment: created, shop_name: 'Shop', updated_at: '' }],
    });
    const store = useCheckoutStore();
    for (const k of ['1', '0']) store.press(k);

    const p = await store.create('key-1');

    expect(p?.id).toBe(created.id);
    const post = calls.find((c) => c.init?.method === 'POST')!;
    expect(JSON.parse(String(post.init?.body))).toEqual({ fiat_amount: '10', token: 'USDT' });
    expect((post.init?.headers as Record<string, string>)['Idempotency-Key']).toBe('key-1');
    const put = calls.find((c) => c.init?.method === 'PUT')!;
    expect(JSON.parse(String(put.init?.body))).toEqual({ payment_id: created.id });
    expect(JSON.parse(localStorage.getItem('stablepay.lastChoice')!)).toMatchObject({ token: 'USDT' });
  });

  it('asks the customer for a tip when the shop offers tip choices', async () => {
    const created = payment();
    const calls = serve({
      '/api/v1/pricing': [200, { currency: 'USD', source: 'fixed', markup_percent: '0', rates: [{ token: 'USDT', rate: '1', rate_at: '2026-11-24T10:00:00Z', stale: false }], last_error: null, tip_choices: [10, 15] }],
      'POST /api/v1/payments': [201, created],
      'PUT /api/v1/display': [200, { mode: 'payment', payment: created, shop_name: 'Shop', updated_at: '' }],
    });
    await usePricingStore().refresh();
    const store = useCheckoutStore();
    for (const k of ['1', '0']) store.press(k);
    await store.create('key-2');
    const post = calls.find((c) => c.init?.method === 'POST')!;
    expect(JSON.parse(String(post.init?.body))).toEqual({ fiat_amount: '10', token: 'USDT', ask_tip: true });
  });

  it('sells a cart by its lines, its discount and its total; a product line names its product', async () => {
    const calls = serve({ 'POST /api/v1/payments': [201, payment()], 'PUT /api/v1/display': [200, {}] });
    const store = useCheckoutStore();
    store.addProduct(product('prod_1', 'Coffee', '3.50'));
    store.addProduct(product('prod_1', 'Coffee', '3.50'));
    for (const k of '4.2') store.press(k);
    expect(store.addAmount('Cake')).toBe(true);
    store.discount = { kind: 'amount', value: '1' };

    await store.create();

    expect(JSON.parse(String(calls.find((c) => c.init?.method === 'POST')!.init?.body))).toEqual({
      items: [
        { name: 'Coffee', quantity: 2, unit_price: '3.50', product_id: 'prod_1' },
        { name: 'Cake', quantity: 1, unit_price: '4.2' },
      ],
      discount: { amount: '1' },
      fiat_amount: '10.20',
      token: 'USDT',
    });
  });
  it("keeps a stale rate's refusal with the server's words, and asks for the rates again", async () => {
    const calls = serve({
      'POST /api/v1/payments': [409, { error: { code: 'rate_stale', message: 'the coinbase rate is 3601 s old (the limit is 3600 s)' } }],
      '/api/v1/pricing': [200, { currency: 'CNY', source: 'coinbase', markup_percent: '0', rates: [{ token: 'USDT', rate: '7.1', rate_at: '2026-11-24T09:00:00Z', stale: true }], last_error: null, tip_choices: [] }],
    });
    const store = useCheckoutStore();
    store.press('9');

    expect(await store.create()).toBeNull();

    expect(store.errorCode).toBe('rate_stale');
    expect(store.errorMessage).toBe('the coinbase rate is 3601 s old (the limit is 3600 s)');
    await vi.waitFor(() => expect(store.rateProblem()?.code).toBe('rate_stale'));
    expect(calls.some((c) => c.url === '/api/v1/pricing')).toBe(true);
  });

  it('keeps the stable error code when the server refuses', async () => {
    serve({ 'POST /api/v1/payments': [409, { error: { code: 'merchant_not_configured', message: 'x' } }] });
    const store = useCheckoutStore();
    store.press('5');

    expect(await store.create()).toBeNull();
    expect(store.errorCode).toBe('merchant_not_configured');
  });

  it('retries a sale whose answer was lost with the same key and ends with the one payment; a new sale gets a new key', async () => {
    // The fake server keeps payments by key, as the real one does; it drops the answer to the first request.
    const byKey = new Map<string, Payment>();
    let answers = 0;
    const calls = serve({
      'POST /api/v1/payments': (init) => {
        const key = (init?.headers as Record<string, string>)['Idempotency-Key'];
        if (!byKey.has(key)) byKey.set(key, payment({ id: `pay_${String(byKey.size + 1).padStart(32, '0')}` }));
        if (++answers === 1) throw new TypeError('fetch failed');
        return [201, byKey.get(key)];
      },
      'PUT /api/v1/display': [200, {}],
    });
    const keys = () =>
      calls.filter((c) => c.init?.method === 'POST').map((c) => (c.init?.headers as Record<string, string>)['Idempotency-Key']);
    const store = useCheckoutStore();
    for (const k of ['1', '0']) store.press(k);

    expect(await store.create()).toBeNull();
    expect(store.errorCode).toBe('network_error');
    const retried = await store.create();

    expect(keys()).toHaveLength(2);
    expect(keys()[1]).toBe(keys()[0]);
    expect(byKey.size).toBe(1);
    expect(retried?.id).toBe([...byKey.values()][0].id);
    expect(store.payment?.id).toBe(retried?.id);

    store.reset();
    for (const k of ['1', '0']) store.press(k);
    await store.create();

    expect(keys()).toHaveLength(3);
    expect(keys()[2]).not.toBe(keys()[0]);
    expect(byKey.size).toBe(2);
  });

  it('makes a new key when the sale changes before the retry', async () => {
    let answers = 0;
    const calls = serve({
      'POST /api/v1/payments': () => {
        if (++answers === 1) throw new TypeError('fetch failed');
        return [201, payment()];
      },
      'PUT /api/v1/display': [200, {}],
    });
    const store = useCheckoutStore();
    store.press('5');
    await store.create();
    store.press('0');
    await store.create();

    const [first, second] = calls.filter((c) => c.init?.method === 'POST').map((c) => (c.init?.headers as Record<string, string>)['Idempotency-Key']);
    expect(second).not.toBe(first);
  });

  it('makes keys where crypto.randomUUID does not exist (a page on plain HTTP)', async () => {
    const webcrypto = globalThis.crypto;
    vi.stubGlobal('crypto', { getRandomValues: <T extends ArrayBufferView>(a: T) => webcrypto.getRandomValues(a as never) as T });
    expect((globalThis.crypto as Partial<Crypto>).randomUUID).toBeUndefined();
    const uuidV4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

    const a = newIdempotencyKey();
    const b = newIdempotencyKey();
    expect(a).toMatch(uuidV4);
    expect(b).toMatch(uuidV4);
    expect(a).not.toBe(b);

    const calls = serve({ 'POST /api/v1/payments': [201, payment()], 'PUT /api/v1/display': [200, {}] });
    const store = useCheckoutStore();
    store.press('7');
    expect(await store.create()).not.toBeNull();
    expect((calls[0].init?.headers as Record<string, string>)['Idempotency-Key']).toMatch(uuidV4);
  });
});

describe('the cart', () => {
  it('adds up lines with quantities and takes a percentage off, rounded half up to the cent', () => {
    const store = useCheckoutStore();
    store.addProduct(product('prod_1', 'Flat white', '18.50'));
    store.addProduct(product('prod_2', 'Croissant', '12'));
    store.addProduct(product('prod_1', 'Flat white', '18.50'));
    for (const k of '0.99') store.press(k);
    store.addAmount('Tip jar');
    store.discount = { kind: 'percent', value: '10' };

    expect(store.lines.map((l) => [l.name, l.quantity])).toEqual([['Flat white', 2], ['Croissant', 1], ['Tip jar', 1]]);
    expect(store.subtotal).toBe('49.99');
    // 4.999 → 5.00
    expect(store.discountAmount).toBe('5.00');
    expect(store.total).toBe('44.99');
    expect(store.ready).toBe(true);
  });

  it('rounds a percentage off half up, as the server does, and the total up to the cent', () => {
    const store = useCheckoutStore();
    store.addProduct(product('prod_1', 'Mint', '0.25'));
    store.discount = { kind: 'percent', value: '10' };
    // 0.025 → 0.03 (half up; half-even or down would say 0.02)
    expect(store.discountAmount).toBe('0.03');
    expect(store.total).toBe('0.22');

    store.reset();
    store.addProduct(product('prod_2', 'Gum', '0.24'));
    store.discount = { kind: 'percent', value: '10' };
    // 0.024 → 0.02 (never up from below the half)
    expect(store.discountAmount).toBe('0.02');
    expect(store.total).toBe('0.22');

    store.reset();
    store.addProduct(product('prod_3', 'Nail', '0.333'));
    expect(store.subtotal).toBe('0.333');
    expect(store.total).toBe('0.34');
  });

  it('takes an amount off, and a comma for the point', () => {
    const store = useCheckoutStore();
    store.addProduct(product('prod_1', 'Cake', '9.90'));
    store.increment('product:prod_1');
    store.increment('product:prod_1');
    store.discount = { kind: 'amount', value: '4,70' };

    expect(store.subtotal).toBe('29.70');
    expect(store.discountAmount).toBe('4.70');
    expect(store.total).toBe('25.00');
  });

  it('is not ready when the discount leaves nothing to pay, or is not a discount', () => {
    const store = useCheckoutStore();
    store.addProduct(product('prod_1', 'Cake', '9.90'));

    store.discount = { kind: 'amount', value: '9.90' };
    expect(store.total).toBe('');
    expect(store.discountProblem).toBe('nothing_left');
    expect(store.ready).toBe(false);

    store.discount = { kind: 'percent', value: '100' };
    expect(store.discountProblem).toBe('nothing_left');
    store.discount = { kind: 'percent', value: '120' };
    expect(store.discountProblem).toBe('invalid');
    store.discount = { kind: 'amount', value: '1.234' };
    expect(store.discountProblem).toBe('invalid');
    expect(store.ready).toBe(false);

    // Zero is no discount (the server refuses a zero one).
    store.discount = { kind: 'percent', value: '0' };
    expect(store.discountProblem).toBeNull();
    expect(store.total).toBe('9.90');
    expect(store.ready).toBe(true);
  });

  it('keeps quantities between 1 and 9999, and removes a line only when asked', () => {
    const store = useCheckoutStore();
    store.addProduct(product('prod_1', 'Cake', '1'));
    store.decrement('product:prod_1');
    expect(store.lines[0].quantity).toBe(1);
    store.lines[0].quantity = 9999;
    store.addProduct(product('prod_1', 'Cake', '1'));
    store.increment('product:prod_1');
    expect(store.lines[0].quantity).toBe(9999);

    store.discount = { kind: 'percent', value: '5' };
    store.remove('product:prod_1');
    expect(store.inCart).toBe(false);
    expect(store.discount.value).toBe('');
  });

  it('waits for a typed amount to be added or cleared while the cart has lines', () => {
    const store = useCheckoutStore();
    store.addProduct(product('prod_1', 'Cake', '5'));
    store.press('3');

    expect(store.pendingAmount).toBe(true);
    expect(store.total).toBe('5.00');
    expect(store.ready).toBe(false);

    expect(store.addAmount('  ')).toBe(false);
    store.addAmount('Item');
    expect(store.pendingAmount).toBe(false);
    expect(store.total).toBe('8.00');
    expect(store.ready).toBe(true);
  });
});
