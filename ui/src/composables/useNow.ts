import { onBeforeUnmount, onMounted, ref } from 'vue';
import type { Payment, PaymentStatus } from '../backend';

/** The current time, ticking every `everyMs` while the component is mounted. */
export function useNow(everyMs = 1000) {
  const now = ref(Date.now());
  let timer: ReturnType<typeof setInterval> | undefined;
  onMounted(() => (timer = setInterval(() => (now.value = Date.now()), everyMs)));
  onBeforeUnmount(() => clearInterval(timer));
  return now;
}

/** Whole seconds from `now` (ms) until `until` (RFC 3339), never negative. */
export function secondsLeft(until: string, now: number): number {
  return Math.max(0, Math.floor((Date.parse(until) - now) / 1000));
}

/** `m:ss` (or `h:mm:ss`) until `until`, never negative. */
export function countdown(until: string, now: number): string {
  const left = secondsLeft(until, now);
  const h = Math.floor(left / 3600);
  const m = Math.floor((left % 3600) / 60);
  const s = String(left % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

const UNITS = [
  ['day', 86_400],
  ['hour', 3_600],
  ['minute', 60],
  ['second', 1],
] as const;

/**
 * Languages whose long unit words are not the ones people write: Chinese writes 秒, where its long
 * form says 秒钟; its short words are the whole words (秒, 分钟, 小时, 天).
 */
const WRITTEN_AS_SHORT = new Set(['zh']);

/**
 * A duration as a person says it, in the UI's locale: its largest unit and the one below it when
 * that is not zero (`299` → "4 minutes 59 seconds" / "4分钟59秒", `3_600` → "1 hour", `90_000` →
 * "1 day 1 hour"), rounded to the second (`0` → "0 seconds"). The words are the locale's own
 * (`Intl.NumberFormat` units); `style` is their length (`short`: "4 min 59 sec").
 */
export function formatDuration(seconds: number, locale: string, { style = 'long' }: { style?: 'long' | 'short' | 'narrow' } = {}): string {
  const unitDisplay = style === 'long' && WRITTEN_AS_SHORT.has(new Intl.Locale(locale).language) ? 'short' : style;
  let left = Number.isFinite(seconds) ? Math.max(0, Math.round(seconds)) : 0;
  const amounts = UNITS.map(([unit, size]) => {
    const n = Math.floor(left / size);
    left -= n * size;
    return { unit, n };
  });
  const largest = amounts.findIndex((a) => a.n > 0);
  const said = largest < 0 ? [amounts[amounts.length - 1]] : amounts.slice(largest, largest + 2).filter((a) => a.n > 0);
  const words = said.map(({ unit, n }) => new Intl.NumberFormat(locale, { style: 'unit', unit, unitDisplay }).format(n));
  // A unit list without commas: "4 minutes 59 seconds", "4分钟59秒".
  return new Intl.ListFormat(locale, { type: 'unit', style: 'narrow' }).format(words);
}

/** Explorer link for a transaction, when the network has an explorer. */
export function explorerTx(explorer: string | undefined, hash: string | null): string | null {
  return explorer && hash ? `${explorer.replace(/\/$/, '')}/tx/${hash}` : null;
}

/**
 * An amount (a decimal string) as the shop reads it: grouped, with two decimals, in the UI's
 * locale (`3.5` → `3.50`, `12345` → `12,345.00`). Text that is not a number is shown as is.
 */
export function formatAmount(value: string, locale: string): string {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) return value;
  return new Intl.NumberFormat(locale, { minimumFractionDigits: 2, maximumFractionDigits: 8 }).format(n);
}

/** `value` when it is a decimal string Intl can format exactly (a string, so no float in between). */
function numeric(value: string): `${number}` | null {
  return /^-?\d+(\.\d+)?$/.test(value.trim()) ? (value.trim() as `${number}`) : null;
}

/**
 * A price in the shop's currency, in the UI's locale: `("35.5", "CNY")` → "CN¥35.50" (en) /
 * "¥35.50" (zh-CN), `("35.5", "USD")` → "$35.50". The decimal string is formatted as it is (never
 * through a float); the currency's own decimals are kept, and cents are never cut off (`digits:
 * 'all'` keeps every decimal: a rate such as `7.1234`). With no currency known yet (the pricing
 * not loaded) it is the plain amount; a code the browser does not know is written after it.
 */
export function formatFiat(amount: string, currency: string | null | undefined, locale: string, { digits = 'cents' }: { digits?: 'cents' | 'all' } = {}): string {
  const n = numeric(amount);
  if (!n) return amount;
  if (!currency) return formatAmount(amount, locale);
  try {
    const own = new Intl.NumberFormat(locale, { style: 'currency', currency }).resolvedOptions().minimumFractionDigits ?? 2;
    const most = digits === 'all' ? 20 : Math.max(own, 2);
    return new Intl.NumberFormat(locale, { style: 'currency', currency, minimumFractionDigits: own, maximumFractionDigits: most }).format(n);
  } catch {
    return `${formatAmount(amount, locale)} ${currency}`;
  }
}

/**
 * What the keypad shows while the cashier types: the typed digits as they are (`12.5` stays
 * `12.5`, `12.` keeps its point), with the shop's currency where the locale puts it (`$12.5`,
 * `12,5 €`). Nothing typed is `0`; with no currency known yet, the digits alone.
 */
export function formatTypedFiat(typed: string, currency: string | null | undefined, locale: string): string {
  const value = typed || '0';
  const [whole, fraction] = value.split('.');
  const n = numeric(`${whole || '0'}${fraction ? `.${fraction}` : ''}`);
  if (!currency || !n) return value;
  try {
    const digits = fraction?.length ?? 0;
    const parts = new Intl.NumberFormat(locale, { style: 'currency', currency, minimumFractionDigits: digits, maximumFractionDigits: digits }).formatToParts(n);
    if (fraction === '') {
      // The point is typed, no decimal yet: show the locale's point after the whole part.
      const point = new Intl.NumberFormat(locale).formatToParts(1.5).find((p) => p.type === 'decimal')?.value ?? '.';
      let last = -1;
      parts.forEach((p, i) => p.type === 'integer' && (last = i));
      parts.splice(last + 1, 0, { type: 'decimal', value: point });
    }
    return parts.map((p) => p.value).join('');
  } catch {
    return `${value} ${currency}`;
  }
}

/**
 * Whether a shop-currency amount says something the token amount does not: the shop's currency is
 * not USD, or the rate is not exactly 1 (`"1"`, `"1.00"`). A shop on the defaults — USD at the fixed
 * rate 1 — sees the token amount alone, as before it could price in its own currency. (The markup
 * is not part of the rule: at USD 1:1 the token amount already says what the customer pays.)
 */
export function showsShopCurrency(currency: string | null | undefined, rate: string | null | undefined): boolean {
  return !!currency && (currency.toUpperCase() !== 'USD' || !/^0*1(\.0*)?$/.test((rate ?? '').trim()));
}

/**
 * The payment's price in the shop's currency, formatted for `locale`, when a screen should show it
 * beside the token amount; otherwise null. Shown when the server recorded one (`fiat_amount` is
 * null when no fresh rate was known at the sale) and [`showsShopCurrency`] says it is worth a line.
 * Every screen that shows a payment asks this, so they all agree.
 */
export function shopPrice(p: { fiat_amount: string | null; fiat_currency: string | null; rate: string | null }, locale: string): string | null {
  if (!p.fiat_amount || !showsShopCurrency(p.fiat_currency, p.rate)) return null;
  return formatFiat(p.fiat_amount, p.fiat_currency, locale);
}

/** A sale that was paid, whether or not refunded since: its place is the success page. */
export function wasPaid(status: PaymentStatus | undefined): boolean {
  return status === 'paid' || status === 'partially_refunded' || status === 'refunded';
}

/** Whether a sale may still be refunded (some of it, at least: the server says how much). */
export function refundable(status: PaymentStatus | undefined): boolean {
  return status === 'paid' || status === 'partially_refunded';
}

/**
 * What `<CartLines>` shows of a payment's cart: its lines, the discount, the tip once chosen, and
 * (with `total`) what is asked — the cart's total, or with a tip the tipped price.
 */
export function cartLinesOf(p: Payment, { total = true }: { total?: boolean } = {}) {
  const cart = p.cart;
  if (!cart) return null;
  return {
    lines: cart.items,
    currency: p.fiat_currency,
    discount: cart.discount,
    discountPercent: cart.discount_percent,
    tip: p.tip,
    total: total ? (p.tip?.amount ? p.fiat_amount : cart.total) : null,
  };
}
