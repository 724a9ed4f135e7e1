import { createPinia, setActivePinia } from 'pinia';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { payment, serve } from '../testing/fakes';
import { pressKey, useCheckoutStore, validAmount } from './checkout';

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
  it('creates the payment with the amount as a string and an idempotency key, then shows it on the customer display', async () => {
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
    expect(JSON.parse(String(post.init?.body))).toMatchObject({ amount: '10', token: 'USDT' });
    expect((post.init?.headers as Record<string, string>)['Idempotency-Key']).toBe('key-1');
    const put = calls.find((c) => c.init?.method === 'PUT')!;
    expect(JSON.parse(String(put.init?.body))).toEqual({ payment_id: created.id });
    expect(JSON.parse(localStorage.getItem('stablepay.lastChoice')!)).toMatchObject({ token: 'USDT' });
  });

  it('keeps the stable error code when the server refuses', async () => {
    serve({ 'POST /api/v1/payments': [409, { error: { code: 'merchant_not_configured', message: 'x' } }] });
    const store = useCheckoutStore();
    store.press('5');

    expect(await store.create()).toBeNull();
    expect(store.errorCode).toBe('merchant_not_configured');
  });
});
