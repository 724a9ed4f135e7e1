import { createPinia, setActivePinia } from 'pinia';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { newIdempotencyKey, type Payment } from '../backend';
import { payment, serve } from '../testing/fakes';
import { formatAmount } from '../composables/useNow';
import { MAX_WHOLE_DIGITS, pressKey, useCheckoutStore, validAmount } from './checkout';

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

  it('sells a product by its id (its price is in token units)', async () => {
    const calls = serve({ 'POST /api/v1/payments': [201, payment()], 'PUT /api/v1/display': [200, {}] });
    const store = useCheckoutStore();
    store.pick({ id: 'prod_1', name: 'Coffee', price: '3.50', description: null, active: true, created_at: '', updated_at: '' });

    await store.create();

    expect(JSON.parse(String(calls.find((c) => c.init?.method === 'POST')!.init?.body))).toEqual({ product_id: 'prod_1', token: 'USDT' });
    expect(store.estimate).toBeNull();
    expect(store.rateProblem()).toBeNull();
  });

  it("keeps a stale rate's refusal with the server's words, and asks for the rates again", async () => {
    const calls = serve({
      'POST /api/v1/payments': [409, { error: { code: 'rate_stale', message: 'the coinbase rate is 3601 s old (the limit is 3600 s)' } }],
      '/api/v1/pricing': [200, { currency: 'CNY', source: 'coinbase', markup_percent: '0', rates: [{ token: 'USDT', rate: '7.1', rate_at: '2026-11-24T09:00:00Z', stale: true }], last_error: null }],
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
