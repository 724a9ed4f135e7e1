import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import {
  ApiError,
  createPayment,
  getShellSettings,
  isDesktop,
  newIdempotencyKey,
  rememberSaleChoice,
  showOnDisplay,
  type Payment,
  type Product,
} from '../backend';
import { usePricingStore, type RateProblem } from './pricing';

/** The last sale's token and network: the desktop app keeps them in its settings store (shell.json),
 *  a browser in the page's storage. */
const LAST_CHOICE = 'stablepay.lastChoice';

/** The keypad's longest whole part: 9 digits (999,999,999) fit its display; the server's
 *  `payments.max_amount` refuses a sale over the shop's own largest with a clear message. */
export const MAX_WHOLE_DIGITS = 9;

/** Keypad input: digits and one decimal point (`.` or `,`: a comma-decimal keyboard works too), at
 *  most 2 decimals, at most [`MAX_WHOLE_DIGITS`] integer digits. */
export function pressKey(current: string, key: string): string {
  if (key === 'C') return '';
  if (key === '⌫') return current.slice(0, -1);
  if (key === '.' || key === ',') return current.includes('.') ? current : `${current || '0'}.`;
  if (!/^\d$/.test(key)) return current;
  const [whole, fraction] = current.split('.');
  if (fraction !== undefined && fraction.length >= 2) return current;
  if (fraction === undefined && whole.length >= MAX_WHOLE_DIGITS) return current;
  if (current === '0') return key;
  return current + key;
}

/** A positive amount with at most 2 decimals, as the API wants it (a string). */
export function validAmount(amount: string): boolean {
  return new RegExp(`^\\d{1,${MAX_WHOLE_DIGITS}}(\\.\\d{1,2})?$`).test(amount) && Number(amount) > 0;
}

/**
 * The sale being rung up: an amount in the shop's currency (the keypad) or a product (priced in
 * token units), token and network, then the created payment.
 */
export const useCheckoutStore = defineStore('checkout', () => {
  const pricing = usePricingStore();
  /** The keypad's amount, in the shop's currency. */
  const amount = ref('');
  const product = ref<Product | null>(null);
  const saved = (() => {
    try {
      return JSON.parse(localStorage.getItem(LAST_CHOICE) ?? '{}') as { token?: string; network?: string };
    } catch {
      return {};
    }
  })();
  const token = ref(saved.token ?? 'USDT');
  const network = ref(saved.network ?? '');
  if (isDesktop()) {
    getShellSettings()
      .then((s) => {
        if (s.last_token) token.value = s.last_token;
        if (s.last_network !== undefined) network.value = s.last_network ?? '';
      })
      .catch(() => {});
  }
  const creating = ref(false);
  const errorCode = ref<string | null>(null);
  /** The server's own words for the last refusal (in the cashier's language). */
  const errorMessage = ref('');
  const payment = ref<Payment | null>(null);

  // One key per sale, kept until its payment exists: a retry after a lost answer (the server made
  // the payment, the till never heard) replays the key and gets that payment, not a second one. It
  // is tied to the request it was made for, because the server refuses a key reused with another
  // body: a changed amount, product, token or network is another sale and gets a new key.
  let saleKey: { key: string; request: string } | null = null;

  const total = computed(() => (product.value ? product.value.price : amount.value));
  const ready = computed(() => (product.value ? true : validAmount(amount.value)));
  /** What the keypad's amount comes to in the chosen token (before the sale's unique offset). */
  const estimate = computed(() => (product.value || !validAmount(amount.value) ? null : pricing.estimate(amount.value, token.value)));

  /** Why the server would refuse this sale in the chosen token now (a keypad sale only: a product is priced in tokens). */
  function rateProblem(now = Date.now()): RateProblem | null {
    return product.value ? null : pricing.staleFor(token.value, now);
  }

  function press(key: string) {
    product.value = null;
    amount.value = pressKey(amount.value, key);
  }

  function pick(p: Product) {
    product.value = p;
    amount.value = '';
  }

  function reset() {
    saleKey = null;
    amount.value = '';
    product.value = null;
    payment.value = null;
    errorCode.value = null;
    errorMessage.value = '';
  }

  /**
   * Creates the payment and shows it on the customer display. Idempotent per sale (a double tap or a
   * retry makes one payment); `idempotencyKey` overrides the sale's own key.
   */
  async function create(idempotencyKey?: string): Promise<Payment | null> {
    creating.value = true;
    errorCode.value = null;
    errorMessage.value = '';
    try {
      const body = product.value
        ? { product_id: product.value.id, token: token.value, network: network.value || undefined }
        : { fiat_amount: amount.value, token: token.value, network: network.value || undefined };
      const request = JSON.stringify(body);
      if (saleKey?.request !== request) saleKey = { key: newIdempotencyKey(), request };
      payment.value = await createPayment(body, idempotencyKey ?? saleKey.key);
      saleKey = null;
      localStorage.setItem(LAST_CHOICE, JSON.stringify({ token: token.value, network: network.value }));
      if (isDesktop()) await rememberSaleChoice(token.value, network.value).catch(() => {});
      await showOnDisplay(payment.value.id).catch(() => {});
      return payment.value;
    } catch (e) {
      errorCode.value = e instanceof ApiError ? e.code : 'unknown_error';
      errorMessage.value = e instanceof ApiError ? e.message : '';
      // The rate went stale (or away) since the screen last asked: show why, for every token.
      if (errorCode.value === 'rate_stale' || errorCode.value === 'rate_unavailable') void pricing.refresh();
      return null;
    } finally {
      creating.value = false;
    }
  }

  return { amount, product, token, network, creating, errorCode, errorMessage, payment, total, ready, estimate, rateProblem, press, pick, reset, create };
});
