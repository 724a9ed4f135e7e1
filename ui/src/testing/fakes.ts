// Test doubles for the browser's edges only (fetch, WebSocket and the desktop app's IPC); the code
// under test is real.
import { ed25519 } from '@noble/curves/ed25519.js';
import { vi } from 'vitest';
import type { Payment, Refund } from '../backend';
import { canonical } from '../backend/signing';

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
const SERVER_SECRET = new Uint8Array(32).fill(7);
const OTHER_SECRET = new Uint8Array(32).fill(9);

/** The public key the fake server signs socket messages with (served at /api/v1/push-key). */
export const PUSH_KEY = hex(ed25519.getPublicKey(SERVER_SECRET));

/** `message` with the signature the server would add (or, with `by: 'other'`, someone else's key). */
export function signed(message: object, by: 'server' | 'other' = 'server'): object {
  const secret = by === 'server' ? SERVER_SECRET : OTHER_SECRET;
  return { ...message, signature: hex(ed25519.sign(new TextEncoder().encode(canonical(message)), secret)) };
}

export function payment(overrides: Partial<Payment> = {}): Payment {
  return {
    id: 'pay_0123456789abcdef0123456789abcdef',
    status: 'pending',
    amount: '10.01',
    requested_amount: '10.00',
    amount_base_units: '10010000000000000000',
    token: 'USDT',
    token_contract: '0x55d398326f99059fF775485246999027B3197955',
    decimals: 18,
    network: 'bsc',
    chain_id: 56,
    pay_to: '0x8AC76a51cc950d9822D68b83fE1Ad97B32Cd580d',
    payment_uri: 'ethereum:0x55d3@56/transfer',
    address_only_uri: 'ethereum:0x8AC7@56',
    confirmations: 0,
    required_confirmations: 3,
    transaction_hash: null,
    block_number: null,
    amount_received: null,
    amount_match: null,
    start_block: 100,
    late: false,
    wrong_amount: null,
    fiat_amount: '10.00',
    fiat_currency: 'USD',
    rate: '1',
    rate_source: 'fixed',
    rate_at: '2026-01-15T12:00:00Z',
    rate_markup_percent: '0',
    remainder_of: null,
    shortfall: null,
    cart: null,
    tip: null,
    description: null,
    order_reference: null,
    metadata: null,
    product_id: null,
    created_at: '2026-11-24T10:00:00Z',
    expires_at: new Date(Date.now() + 15 * 60_000).toISOString(),
    paid_at: null,
    refunded_amount: null,
    counter: null,
    ...overrides,
  };
}

/** A refund of `payment()` just asked for: 3.00 USDT back to the payer, to be sent by the shop's wallet. */
export function refund(overrides: Partial<Refund> = {}): Refund {
  return {
    id: 'rfd_fedcba9876543210fedcba9876543210',
    payment_id: 'pay_0123456789abcdef0123456789abcdef',
    status: 'awaiting',
    network: 'bsc',
    chain_id: 56,
    token: 'USDT',
    token_contract: '0x55d398326f99059fF775485246999027B3197955',
    from: '0x8AC76a51cc950d9822D68b83fE1Ad97B32Cd580d',
    to: '0x1111111111111111111111111111111111111111',
    amount: '3.00',
    amount_base_units: '3000000000000000000',
    fiat_amount: '3.00',
    fiat_currency: 'USD',
    reason: null,
    created_by: 'till',
    payment_uri: 'ethereum:0x55d398326f99059fF775485246999027B3197955@56/transfer?address=0x1111111111111111111111111111111111111111&uint256=3000000000000000000',
    qr_svg: '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1 1"><rect width="1" height="1"/></svg>',
    start_block: 200,
    transaction_hash: null,
    block_number: null,
    confirmations: 0,
    created_at: '2026-11-24T11:00:00Z',
    matched_at: null,
    confirmed_at: null,
    cancelled_at: null,
    ...overrides,
  };
}

/** A sale rung up as a cart: two flat whites, a croissant and a tip, 10 % off (as the server answers it). */
export function cart(): NonNullable<Payment['cart']> {
  return {
    items: [
      { name: 'Flat white', quantity: 2, unit_price: '18.50', amount: '37.00', product_id: 'prod_1' },
      { name: 'Croissant', quantity: 1, unit_price: '12.00', amount: '12.00', product_id: 'prod_2' },
      { name: 'Tip jar', quantity: 1, unit_price: '0.99', amount: '0.99', product_id: null },
    ],
    subtotal: '49.99',
    discount: '5.00',
    discount_percent: '10',
    total: '44.99',
  };
}

type Handler = (init: RequestInit | undefined) => [number, unknown];

/** What every fake server answers unless a test says otherwise. */
const defaults: Record<string, [number, unknown]> = {
  '/api/v1/push-key': [200, { algorithm: 'ed25519', public_key: PUSH_KEY }],
};

/** Stubs fetch with `routes` ("METHOD /path" or "/path" → handler or [status, body]). */
export function serve(routes: Record<string, Handler | [number, unknown]>) {
  const calls: { url: string; init?: RequestInit }[] = [];
  vi.stubGlobal(
    'fetch',
    vi.fn(async (url: string, init?: RequestInit) => {
      calls.push({ url, init });
      const method = init?.method ?? 'GET';
      const route = routes[`${method} ${url}`] ?? routes[url] ?? defaults[url];
      const [status, body] = typeof route === 'function' ? route(init) : (route ?? [404, { error: { code: 'not_found', message: url } }]);
      return new Response(status === 204 ? null : JSON.stringify(body), { status });
    }),
  );
  return calls;
}

/** A WebSocket whose server side the test drives. */
export class FakeSocket {
  static all: FakeSocket[] = [];
  onmessage: ((e: { data: string }) => void) | null = null;
  onclose: (() => void) | null = null;
  sent: string[] = [];
  closed = false;
  constructor(readonly url: string) {
    FakeSocket.all.push(this);
  }
  send(data: string) {
    this.sent.push(data);
  }
  close() {
    this.closed = true;
  }
  /** The server sends `message`, signed as the real server signs every socket message. */
  push(message: object) {
    this.pushRaw(JSON.stringify(signed(message)));
  }
  /** Something arrives as it is: unsigned, tampered with, or signed by another key. */
  pushRaw(text: string) {
    this.onmessage?.({ data: text });
  }
  /** The connection drops. */
  drop() {
    this.onclose?.();
  }
  static latest(): FakeSocket {
    const s = FakeSocket.all.at(-1);
    if (!s) throw new Error('no socket opened');
    return s;
  }
}

export function fakeSockets() {
  FakeSocket.all = [];
  vi.stubGlobal('WebSocket', FakeSocket);
}

type Command = (args: Record<string, unknown> | undefined) => unknown;

/**
 * Runs the page inside a fake desktop app: its IPC answers `commands` (a value, or a function of the
 * command's arguments; one that throws is the app's refusal, its text the error). Answers the calls
 * made, in order. `unfakeShell()` takes it away.
 */
export function fakeShell(commands: Record<string, Command | unknown>) {
  const calls: { command: string; args?: Record<string, unknown> }[] = [];
  const invoke = vi.fn(async (command: string, args?: Record<string, unknown>) => {
    calls.push({ command, args });
    if (!(command in commands)) throw `unknown command ${command}`;
    const answer = commands[command];
    return typeof answer === 'function' ? (answer as Command)(args) : answer;
  });
  Object.defineProperty(window, '__TAURI_INTERNALS__', { value: { invoke }, configurable: true });
  return calls;
}

export function unfakeShell() {
  delete (window as { __TAURI_INTERNALS__?: unknown }).__TAURI_INTERNALS__;
}
