import { onBeforeUnmount, onMounted, ref } from 'vue';

/** The current time, ticking every `everyMs` while the component is mounted. */
export function useNow(everyMs = 1000) {
  const now = ref(Date.now());
  let timer: ReturnType<typeof setInterval> | undefined;
  onMounted(() => (timer = setInterval(() => (now.value = Date.now()), everyMs)));
  onBeforeUnmount(() => clearInterval(timer));
  return now;
}

/** `m:ss` (or `h:mm:ss`) until `until`, never negative. */
export function countdown(until: string, now: number): string {
  const left = Math.max(0, Math.floor((Date.parse(until) - now) / 1000));
  const h = Math.floor(left / 3600);
  const m = Math.floor((left % 3600) / 60);
  const s = String(left % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
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
