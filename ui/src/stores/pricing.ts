import { defineStore } from 'pinia';
import { sharedPoll } from '../composables/sharedPoll';
import { computed, ref } from 'vue';
import { ApiError, getPricing, type Pricing, type RateSource, type TokenRate } from '../backend';
import { showsShopCurrency } from '../composables/useNow';

/** How often the sale screens ask for the rates (a live source refreshes them every minute or so). */
export const PRICING_POLL_MS = 30_000;

/** A non-negative decimal string as an integer and its number of decimals (`"7.10"` → 710n, 2). */
function decimal(value: string): { units: bigint; scale: number } | null {
  const m = /^(\d+)(?:\.(\d+))?$/.exec(value.trim());
  if (!m) return null;
  const fraction = m[2] ?? '';
  return { units: BigInt(m[1] + fraction), scale: fraction.length };
}

/**
 * The token amount for `fiat` in the shop's currency, as the server prices it (`core/src/pricing`):
 * `fiat ÷ rate × (1 + markup / 100)`, rounded **up** to `stepDecimals` decimals (the amount step,
 * 0.01). Worked in integers, so `10` at `7.1234` is `1.41` and `35.50` at `7.10` with 1.5 % is `5.08`
 * — no float rounds money the wrong way. Null when a figure is not a decimal or the rate is zero.
 * The server adds the sale's unique offset after this: the customer pays this amount or a little more.
 */
export function tokenEstimate(fiat: string, rate: string, markupPercent: string, stepDecimals = 2): string | null {
  const f = decimal(fiat);
  const r = decimal(rate);
  const m = decimal(markupPercent);
  if (!f || !r || !m || r.units === 0n) return null;
  const ten = (n: number) => 10n ** BigInt(n);
  // f/10^fs × (100·10^ms + mu)/(100·10^ms) × 10^rs/ru, counted in steps of 10^-stepDecimals.
  const numerator = f.units * (100n * ten(m.scale) + m.units) * ten(r.scale + stepDecimals);
  const denominator = ten(f.scale + m.scale) * 100n * r.units;
  const steps = (numerator + denominator - 1n) / denominator;
  if (!stepDecimals) return steps.toString();
  const text = steps.toString().padStart(stepDecimals + 1, '0');
  return `${text.slice(0, -stepDecimals)}.${text.slice(-stepDecimals)}`;
}

/** Why a sale in the shop's currency would be refused for a token, before the cashier tries. */
export interface RateProblem {
  /** The server's refusal: `rate_stale` (the rate is too old) or `rate_unavailable` (none yet). */
  code: 'rate_stale' | 'rate_unavailable';
  token: string;
  source: RateSource;
  /** How old the rate is, in seconds (null when there is none). */
  ageSeconds: number | null;
  /** Why the last fetch failed, in the server's words, while it does. */
  lastError: string | null;
}

/**
 * The shop's currency and the rates a sale in it is converted at (`GET /api/v1/pricing`), polled
 * while at least one sale screen watches it. Until the first answer nothing is known: no estimate,
 * no warning, and the server decides.
 */
export const usePricingStore = defineStore('pricing', () => {
  const pricing = ref<Pricing | null>(null);
  const errorCode = ref<string | null>(null);

  async function refresh() {
    try {
      pricing.value = await getPricing();
      errorCode.value = null;
    } catch (e) {
      errorCode.value = e instanceof ApiError ? e.code : 'unknown_error';
    }
  }

  /** Starts polling for one more screen; call the returned function when it goes. */
  const watch = sharedPoll(refresh, PRICING_POLL_MS);

  /** The shop's currency (ISO 4217), null until known. */
  const currency = computed(() => pricing.value?.currency ?? null);
  /** The tip choices the customer display offers (`[tips]`); empty: tips are not asked. */
  const tipChoices = computed(() => pricing.value?.tip_choices ?? []);

  function rateOf(token: string): TokenRate | null {
    return pricing.value?.rates.find((r) => r.token === token) ?? null;
  }

  /**
   * The token amount a sale of `fiat` in the shop's currency asks in `token` (before its unique
   * offset); null when there is no rate to sell at (none known, or too old: the server refuses).
   */
  function estimate(fiat: string, token: string): string | null {
    const rate = rateOf(token);
    if (!pricing.value || !rate || rate.stale) return null;
    return tokenEstimate(fiat, rate.rate, pricing.value.markup_percent);
  }

  /** Why a sale in the shop's currency in `token` would be refused now, or null when it would not. */
  function staleFor(token: string, now = Date.now()): RateProblem | null {
    const p = pricing.value;
    if (!p) return null;
    const rate = rateOf(token);
    const common = { token, source: p.source, lastError: p.last_error };
    if (!rate) return { code: 'rate_unavailable', ageSeconds: null, ...common };
    if (!rate.stale) return null;
    return { code: 'rate_stale', ageSeconds: Math.max(0, Math.floor((now - Date.parse(rate.rate_at)) / 1000)), ...common };
  }

  /** Whether the screens show a shop-currency amount beside `token`'s (see `showsShopCurrency`). */
  function converts(token: string): boolean {
    return !!pricing.value && showsShopCurrency(pricing.value.currency, rateOf(token)?.rate);
  }

  return { pricing, errorCode, currency, tipChoices, refresh, watch, rateOf, estimate, staleFor, converts };
});
