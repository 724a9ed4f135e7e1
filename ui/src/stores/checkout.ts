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
  type CreatePayment,
  type Payment,
  type Product,
} from '../backend';
import { cartSums, MAX_LINES, MAX_QUANTITY, parseDiscount, type CartLine, type Discount } from './cart';
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
 * The sale being rung up, then the created payment. It is one of two kinds:
 *
 * - **One amount**: the keypad's amount with an empty cart — a `fiat_amount` sale in the shop's
 *   currency, as before carts existed.
 * - **A cart**: lines (products, each once with its quantity; amounts moved from the keypad, each
 *   its own line, named by the cashier or "Item") and a discount (an amount, or a percentage of the
 *   subtotal). The sale sends its `items` and `discount`, and its `total` as `fiat_amount` so that
 *   the server refuses it rather than ask another figure than the till showed.
 *
 * A product's price is taken as its unit price **in the shop's currency**: products carry one
 * price, which for a shop in USD at 1:1 (the defaults) is both its USD price and its token amount;
 * a shop in another currency enters its products' prices in that currency. (A product sold alone by
 * `product_id` is priced in token units by the server; the till no longer sells that way.)
 *
 * While the cart has lines, an amount typed on the keypad is not part of the total until it is
 * added (`addAmount`), and the sale is not `ready` until it is added or cleared: the total shown is
 * always the total asked.
 */
export const useCheckoutStore = defineStore('checkout', () => {
  const pricing = usePricingStore();
  /** The keypad's amount, in the shop's currency. */
  const amount = ref('');
  const lines = ref<CartLine[]>([]);
  const discount = ref<Discount>({ kind: 'percent', value: '' });
  /** Numbers typed amounts' lines, so each keeps its own key. */
  let typedLines = 0;
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
  // body: a changed amount, line, discount, token or network is another sale and gets a new key.
  let saleKey: { key: string; request: string } | null = null;

  const inCart = computed(() => lines.value.length > 0);
  /** The discount as the API takes it, or `'invalid'` (see `parseDiscount`). */
  const parsedDiscount = computed(() => parseDiscount(discount.value));
  const sums = computed(() => cartSums(lines.value, parsedDiscount.value === 'invalid' ? null : parsedDiscount.value));
  const subtotal = computed(() => sums.value.subtotal);
  const discountAmount = computed(() => sums.value.discount);
  /** The discount's percentage, when it is one. */
  const discountPercent = computed(() => (parsedDiscount.value && parsedDiscount.value !== 'invalid' && 'percent' in parsedDiscount.value ? parsedDiscount.value.percent : null));
  /** Why the cart cannot be sold as it is: a discount that is not one, or one that leaves nothing to pay. */
  const discountProblem = computed<'invalid' | 'nothing_left' | null>(() => {
    if (!inCart.value) return null;
    if (parsedDiscount.value === 'invalid') return 'invalid';
    return sums.value.total === null ? 'nothing_left' : null;
  });
  /** A keypad amount typed while the cart has lines, not yet added to it. */
  const pendingAmount = computed(() => inCart.value && amount.value !== '');
  /** What the customer pays in the shop's currency: the cart's total, or the keypad's amount. */
  const total = computed(() => (inCart.value ? (sums.value.total ?? '') : amount.value));
  const ready = computed(() => (inCart.value ? !discountProblem.value && !pendingAmount.value : validAmount(amount.value)));
  /** What the total comes to in the chosen token (before the sale's unique offset). */
  const estimate = computed(() => (validAmount(total.value) ? pricing.estimate(total.value, token.value) : null));

  /** Why the server would refuse this sale in the chosen token now (every sale is in the shop's currency). */
  function rateProblem(now = Date.now()): RateProblem | null {
    return pricing.staleFor(token.value, now);
  }

  function press(key: string) {
    amount.value = pressKey(amount.value, key);
  }

  /** One more of `p`: a new line, or the product's line one higher. */
  function addProduct(p: Product) {
    const line = lines.value.find((l) => l.productId === p.id);
    if (line) line.quantity = Math.min(MAX_QUANTITY, line.quantity + 1);
    else if (lines.value.length < MAX_LINES) lines.value.push({ key: `product:${p.id}`, name: p.name, quantity: 1, unitPrice: p.price, productId: p.id });
  }

  /** Whether the keypad's amount can become a line now. */
  const canAddAmount = computed(() => validAmount(amount.value) && lines.value.length < MAX_LINES);

  /**
   * Moves the keypad's amount into the cart as a line named `name` (the screen passes its
   * translated "Item" when the cashier named nothing; a blank name adds nothing, as the server
   * would refuse it).
   */
  function addAmount(name: string): boolean {
    const named = name.trim().slice(0, 120);
    if (!canAddAmount.value || !named) return false;
    typedLines += 1;
    lines.value.push({ key: `amount:${typedLines}`, name: named, quantity: 1, unitPrice: amount.value, productId: null });
    amount.value = '';
    return true;
  }

  function line(key: string): CartLine | undefined {
    return lines.value.find((l) => l.key === key);
  }

  function increment(key: string) {
    const l = line(key);
    if (l) l.quantity = Math.min(MAX_QUANTITY, l.quantity + 1);
  }

  /** One fewer, never below one (`remove` takes the line away). */
  function decrement(key: string) {
    const l = line(key);
    if (l) l.quantity = Math.max(1, l.quantity - 1);
  }

  function remove(key: string) {
    lines.value = lines.value.filter((l) => l.key !== key);
    if (!lines.value.length) discount.value = { kind: discount.value.kind, value: '' };
  }

  function clearCart() {
    lines.value = [];
    discount.value = { kind: discount.value.kind, value: '' };
  }

  function reset() {
    saleKey = null;
    amount.value = '';
    clearCart();
    payment.value = null;
    errorCode.value = null;
    errorMessage.value = '';
  }

  /** The request body for this sale (a cart's lines, or the one amount), without a key. A shop
   *  with tip choices asks the customer for one on the display before the amount is fixed. */
  function body(): CreatePayment {
    const where = { token: token.value, network: network.value || undefined, ...(pricing.tipChoices.length ? { ask_tip: true } : {}) };
    if (!inCart.value) return { fiat_amount: amount.value, ...where };
    const off = parsedDiscount.value === 'invalid' ? null : parsedDiscount.value;
    return {
      items: lines.value.map((l) => ({ name: l.name, quantity: l.quantity, unit_price: l.unitPrice, product_id: l.productId ?? undefined })),
      discount: off ?? undefined,
      fiat_amount: total.value,
      ...where,
    };
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
      const request = body();
      const text = JSON.stringify(request);
      if (saleKey?.request !== text) saleKey = { key: newIdempotencyKey(), request: text };
      payment.value = await createPayment(request, idempotencyKey ?? saleKey.key);
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

  return {
    amount, lines, discount, token, network, creating, errorCode, errorMessage, payment,
    inCart, subtotal, discountAmount, discountPercent, discountProblem, pendingAmount, total, ready, estimate, canAddAmount,
    rateProblem, press, addProduct, addAmount, increment, decrement, remove, clearCart, reset, create,
  };
});
