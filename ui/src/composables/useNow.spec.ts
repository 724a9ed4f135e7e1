import { describe, expect, it } from 'vitest';
import { countdown, formatDuration, formatFiat, formatTypedFiat, secondsLeft, shopPrice } from './useNow';

describe('formatDuration', () => {
  it('says a duration in English words, its two largest units', () => {
    expect(formatDuration(299, 'en')).toBe('4 minutes 59 seconds');
    expect(formatDuration(61, 'en')).toBe('1 minute 1 second');
    expect(formatDuration(900, 'en')).toBe('15 minutes');
    expect(formatDuration(3 * 3600 + 12 * 60 + 40, 'en')).toBe('3 hours 12 minutes');
    expect(formatDuration(3600 + 1, 'en')).toBe('1 hour');
    expect(formatDuration(86_400, 'en')).toBe('1 day');
    expect(formatDuration(2 * 86_400 + 5 * 3600, 'en')).toBe('2 days 5 hours');
    expect(formatDuration(1, 'en')).toBe('1 second');
  });

  it('says it in Chinese words', () => {
    expect(formatDuration(299, 'zh-CN')).toBe('4分钟59秒');
    expect(formatDuration(900, 'zh-CN')).toBe('15分钟');
    expect(formatDuration(3 * 3600 + 12 * 60, 'zh-CN')).toBe('3小时12分钟');
    expect(formatDuration(86_400, 'zh-CN')).toBe('1天');
    expect(formatDuration(61, 'zh-CN')).toBe('1分钟1秒');
  });

  it('says nothing left as zero seconds, and rounds to the second', () => {
    expect(formatDuration(0, 'en')).toBe('0 seconds');
    expect(formatDuration(-5, 'en')).toBe('0 seconds');
    expect(formatDuration(Number.NaN, 'zh-CN')).toBe('0秒');
    expect(formatDuration(12.6, 'en')).toBe('13 seconds');
  });

  it('has shorter words when asked', () => {
    expect(formatDuration(299, 'en', { style: 'short' })).toBe('4 min 59 sec');
    expect(formatDuration(299, 'en', { style: 'narrow' })).toBe('4m 59s');
  });
});

describe('countdown', () => {
  it('counts whole seconds down to the expiry, never below zero', () => {
    const now = Date.parse('2026-11-24T10:00:00Z');
    expect(secondsLeft('2026-11-24T10:04:59.900Z', now)).toBe(299);
    expect(countdown('2026-11-24T10:04:59.900Z', now)).toBe('4:59');
    expect(countdown('2026-11-24T11:00:05Z', now)).toBe('1:00:05');
    expect(secondsLeft('2026-11-24T09:00:00Z', now)).toBe(0);
  });
});

describe('amounts in the shop currency', () => {
  it("writes a price with the currency where the locale puts it", () => {
    expect(formatFiat('35.5', 'CNY', 'zh-CN')).toBe('¥35.50');
    expect(formatFiat('35.50', 'CNY', 'en')).toBe('CN¥35.50');
    expect(formatFiat('1234.5', 'USD', 'en')).toBe('$1,234.50');
    expect(formatFiat('35.5', 'EUR', 'de')).toBe('35,50\u00a0€');
    expect(formatFiat('7.1234', 'CNY', 'en', { digits: 'all' })).toBe('CN¥7.1234');
    // No currency known yet: the plain amount; a code the browser does not know: after it.
    expect(formatFiat('35.5', null, 'en')).toBe('35.50');
    expect(formatFiat('35.5', 'XX', 'en')).toBe('35.50 XX');
  });

  it('shows the keypad digits as typed, with the currency', () => {
    expect(formatTypedFiat('', 'CNY', 'zh-CN')).toBe('¥0');
    expect(formatTypedFiat('12', 'CNY', 'zh-CN')).toBe('¥12');
    expect(formatTypedFiat('12.', 'CNY', 'zh-CN')).toBe('¥12.');
    expect(formatTypedFiat('12.5', 'USD', 'en')).toBe('$12.5');
    expect(formatTypedFiat('1234.05', 'CNY', 'en')).toBe('CN¥1,234.05');
    expect(formatTypedFiat('3.', 'EUR', 'de')).toBe('3,\u00a0€');
    expect(formatTypedFiat('12.5', null, 'en')).toBe('12.5');
  });

  it('adds the shop-currency line only when it says something the token amount does not', () => {
    const cny = { fiat_amount: '35.50', fiat_currency: 'CNY', rate: '7.1' };
    expect(shopPrice(cny, 'zh-CN')).toBe('¥35.50');
    expect(shopPrice({ fiat_amount: '10.00', fiat_currency: 'USD', rate: '1' }, 'en')).toBeNull();
    expect(shopPrice({ fiat_amount: '10.00', fiat_currency: 'USD', rate: '1.000' }, 'en')).toBeNull();
    expect(shopPrice({ fiat_amount: '9.99', fiat_currency: 'USD', rate: '0.9990' }, 'en')).toBe('$9.99');
    expect(shopPrice({ ...cny, fiat_amount: null }, 'en')).toBeNull();
  });
});
