import { onBeforeUnmount, onMounted, ref } from 'vue';

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
