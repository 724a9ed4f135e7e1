import { describe, expect, it } from 'vitest';
import { countdown, formatDuration, secondsLeft } from './useNow';

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
