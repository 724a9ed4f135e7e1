// A cart's sums (issue 19), made exactly as the server makes them (`core/src/cart.rs`): every
// figure is a BigInt at 18 decimals, a percentage off is rounded half up to the cent, the total is
// rounded up to the cent, and a discount that leaves nothing refuses the cart. No float touches
// money, so the total the till shows is the total the server asks for (the sale sends it as
// `fiat_amount`, which the server refuses unless it is its own total).

/** The largest quantity of one line, and the most lines a cart may hold (the server's limits). */
export const MAX_QUANTITY = 9999;
export const MAX_LINES = 100;

/** One line: a product, or an amount typed on the keypad. Prices are in the shop's currency. */
export interface CartLine {
  /** Stable within the cart: `product:<id>`, or `amount:<n>` for a typed amount. */
  key: string;
  /** What the line is (1–120 characters): the product's name, or the cashier's words. */
  name: string;
  quantity: number;
  /** The price of one, a decimal string in the shop's currency. */
  unitPrice: string;
  productId: string | null;
}

/** A discount as the cashier typed it: an amount in the shop's currency, or a percentage of the subtotal. */
export interface Discount {
  kind: 'amount' | 'percent';
  /** Typed text: `''` is no discount; `,` is taken as the decimal point. */
  value: string;
}

/** A discount the server takes, or why not. */
export type ParsedDiscount = { amount: string } | { percent: string } | null;

/** What the cart comes to; `total` is null when the discount leaves nothing to pay. */
export interface CartSums {
  subtotal: string;
  discount: string;
  total: string | null;
}

const SCALE = 18;
const ONE = 10n ** BigInt(SCALE);
const CENT = 10n ** BigInt(SCALE - 2);

/** A non-negative decimal string at [`SCALE`] decimals (`"18.50"` → 18.5·10¹⁸); null when it is not one. */
export function scaled(value: string): bigint | null {
  const m = /^(\d+)(?:\.(\d+))?$/.exec(value.trim());
  if (!m || (m[2]?.length ?? 0) > SCALE) return null;
  return BigInt(m[1]) * ONE + BigInt((m[2] ?? '').padEnd(SCALE, '0'));
}

/** A scaled figure as decimal text with at least two decimals (`5·10¹⁸` → `"5.00"`, more when it has more). */
export function unscaled(value: bigint): string {
  const whole = value / ONE;
  const fraction = (value % ONE).toString().padStart(SCALE, '0').replace(/0+$/, '').padEnd(2, '0');
  return `${whole}.${fraction}`;
}

function toCent(value: bigint, halfUp: boolean): bigint {
  const rest = value % CENT;
  const up = halfUp ? rest * 2n >= CENT : rest > 0n;
  return (value / CENT + (up ? 1n : 0n)) * CENT;
}

/**
 * The discount as the API takes it (`{ amount }` or `{ percent }`, the typed text with `.` as the
 * point), `null` for none (empty, or zero: the server refuses a zero discount), or `'invalid'`: an
 * amount with more than 2 decimals, a percentage above 100 or with more than 2 decimals.
 */
export function parseDiscount(d: Discount): ParsedDiscount | 'invalid' {
  const value = d.value.trim().replace(',', '.');
  if (value === '') return null;
  const pattern = d.kind === 'percent' ? /^\d{1,3}(\.\d{1,2})?$/ : /^\d{1,9}(\.\d{1,2})?$/;
  const n = pattern.test(value) ? scaled(value) : null;
  if (n === null || (d.kind === 'percent' && n > 100n * ONE)) return 'invalid';
  if (n === 0n) return null;
  return d.kind === 'percent' ? { percent: value } : { amount: value };
}

/** quantity × unit price, exactly (null when the price is not a decimal). */
export function lineAmount(line: Pick<CartLine, 'quantity' | 'unitPrice'>): string | null {
  const unit = scaled(line.unitPrice);
  return unit === null ? null : unscaled(unit * BigInt(line.quantity));
}

/**
 * Subtotal (Σ quantity × unit price), what the discount takes off (an amount as it is; a
 * percentage of the subtotal, half up to the cent) and the total (subtotal − discount, up to the
 * cent; null when nothing is left to pay).
 */
export function cartSums(lines: readonly Pick<CartLine, 'quantity' | 'unitPrice'>[], discount: ParsedDiscount): CartSums {
  const sub = lines.reduce((sum, l) => sum + (scaled(l.unitPrice) ?? 0n) * BigInt(l.quantity), 0n);
  let off = 0n;
  if (discount && 'amount' in discount) off = scaled(discount.amount) ?? 0n;
  if (discount && 'percent' in discount) off = toCent((sub * (scaled(discount.percent) ?? 0n)) / (100n * ONE), true);
  return { subtotal: unscaled(sub), discount: unscaled(off), total: off >= sub ? null : unscaled(toCent(sub - off, false)) };
}
