import { createPinia, setActivePinia } from 'pinia';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Pricing } from '../backend';
import { serve } from '../testing/fakes';
import { PRICING_POLL_MS, tokenEstimate, usePricingStore } from './pricing';

beforeEach(() => setActivePinia(createPinia()));
afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

/** A CNY shop on Coinbase: USDT fresh at 7.10, USDC an hour old, no BUSD rate yet. */
function cnyShop(over: Partial<Pricing> = {}): Pricing {
  return {
    currency: 'CNY',
    source: 'coinbase',
    markup_percent: '1.5',
    rates: [
      { token: 'USDT', rate: '7.10', rate_at: '2026-11-24T10:00:00Z', stale: false },
      { token: 'USDC', rate: '7.12', rate_at: '2026-11-24T09:00:00Z', stale: true },
    ],
    last_error: null,
    tip_choices: [],
    ...over,
  };
}

describe('the token amount of a shop-currency price', () => {
  it('divides by the rate and rounds up to the cent', () => {
    // 10 / 7.1234 = 1.4038…: up, to 1.41 (a float rounding to nearest would say 1.40).
    expect(tokenEstimate('10', '7.1234', '0')).toBe('1.41');
    expect(tokenEstimate('71', '7.2', '0')).toBe('9.87');
    expect(tokenEstimate('71', '7.10', '0')).toBe('10.00');
  });

  it('adds the markup before rounding, in exact arithmetic', () => {
    // 35.50 / 7.10 × 1.015 = 5.075 exactly: up to 5.08.
    expect(tokenEstimate('35.50', '7.10', '1.5')).toBe('5.08');
    // In floats 0.30 × 100 is 30.000000000000004, which would round up to 0.31.
    expect(tokenEstimate('0.30', '1', '0')).toBe('0.30');
    expect(tokenEstimate('999999999.99', '0.0001', '50')).toBe('14999999999850.00');
  });

  it('has no answer for what is not a decimal, or a zero rate', () => {
    expect(tokenEstimate('', '7.10', '0')).toBeNull();
    expect(tokenEstimate('1e3', '7.10', '0')).toBeNull();
    expect(tokenEstimate('10', '0', '0')).toBeNull();
    expect(tokenEstimate('10', '7.10', '-1')).toBeNull();
  });
});

describe('the pricing store', () => {
  it('estimates from the loaded rate and markup, and not from a stale or missing rate', async () => {
    serve({ '/api/v1/pricing': [200, cnyShop()] });
    const pricing = usePricingStore();
    expect(pricing.estimate('35.50', 'USDT')).toBeNull();

    await pricing.refresh();

    expect(pricing.currency).toBe('CNY');
    expect(pricing.estimate('35.50', 'USDT')).toBe('5.08');
    expect(pricing.estimate('35.50', 'USDC')).toBeNull();
    expect(pricing.estimate('35.50', 'BUSD')).toBeNull();
  });

  it('says why a token cannot be sold in the shop currency: its source, its age, the last error', async () => {
    serve({ '/api/v1/pricing': [200, cnyShop({ last_error: 'HTTP 429' })] });
    const pricing = usePricingStore();
    expect(pricing.staleFor('USDC')).toBeNull(); // nothing known yet: the server decides
    await pricing.refresh();
    const now = Date.parse('2026-11-24T10:01:01Z');

    expect(pricing.staleFor('USDT', now)).toBeNull();
    expect(pricing.staleFor('USDC', now)).toEqual({ code: 'rate_stale', token: 'USDC', source: 'coinbase', ageSeconds: 3661, lastError: 'HTTP 429' });
    expect(pricing.staleFor('BUSD', now)).toEqual({ code: 'rate_unavailable', token: 'BUSD', source: 'coinbase', ageSeconds: null, lastError: 'HTTP 429' });
  });

  it('shows a conversion for a CNY shop, and none for USD at 1', async () => {
    let answer = cnyShop();
    serve({ '/api/v1/pricing': () => [200, answer] });
    const pricing = usePricingStore();
    await pricing.refresh();
    expect(pricing.converts('USDT')).toBe(true);

    answer = { currency: 'USD', source: 'fixed', markup_percent: '0', rates: [{ token: 'USDT', rate: '1', rate_at: '2026-11-24T10:00:00Z', stale: false }], last_error: null, tip_choices: [] };
    await pricing.refresh();
    expect(pricing.converts('USDT')).toBe(false);
  });

  it('polls while a screen watches, and stops when the last one goes', async () => {
    vi.useFakeTimers();
    const calls = serve({ '/api/v1/pricing': [200, cnyShop()] });
    const pricing = usePricingStore();
    const asked = () => calls.filter((c) => c.url === '/api/v1/pricing').length;

    const releaseA = pricing.watch();
    const releaseB = pricing.watch();
    await vi.advanceTimersByTimeAsync(0);
    expect(asked()).toBe(1);
    await vi.advanceTimersByTimeAsync(PRICING_POLL_MS);
    expect(asked()).toBe(2);

    releaseA();
    releaseA();
    await vi.advanceTimersByTimeAsync(PRICING_POLL_MS);
    expect(asked()).toBe(3);
    releaseB();
    await vi.advanceTimersByTimeAsync(3 * PRICING_POLL_MS);
    expect(asked()).toBe(3);
  });
});
