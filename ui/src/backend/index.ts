// The one place the UI talks to the outside: the embedded StablePay server over HTTP and WebSocket.
// Same-origin by default, so the same build works in the Tauri window, in a browser on the LAN and
// under Playwright; VITE_API_BASE points a dev build elsewhere. Merchant calls carry a key: in the
// desktop app the window's own session key (handed over IPC, kept in memory only), elsewhere the
// API key saved in this browser (Settings), when there is one. The customer display trusts only
// socket messages signed by the server's key (./signing.ts).
import type { components } from './api.gen';
import { verified } from './signing';
import { keepSocket } from './socket';

/** An error answered by the API: match on `code`, never on `message`. */
export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

// --- the API's types ----------------------------------------------------------------------------
// Aliases onto the types generated from the server's OpenAPI document (./api.gen.ts, `npm run
// api:types`), so a DTO changed in Rust breaks the type check here instead of drifting. Where the
// document says less than the UI relies on (a documented set of strings typed as `string`), the UI's
// narrower type is an explicit override below; `Narrowed` refuses one that does not fit the
// generated field, so an override cannot silently contradict the server.

type Schemas = components['schemas'];

/**
 * A response as the server sends it: serde writes `None` as `null`, so every field is present, but
 * utoipa marks each `Option` field as not required, which the generator turns into `field?: T | null`.
 * (`LoggedMessage` does without it: the server leaves its `paymentId` out instead.)
 */
type Sent<T> = T extends readonly (infer U)[] ? Sent<U>[] : T extends object ? { -readonly [K in keyof T]-?: Sent<T[K]> } : T;

/** `T` with the fields in `N` replaced by the UI's narrower types (each must fit the generated one). */
type Narrowed<T, N extends { [K in keyof N]: K extends keyof T ? T[K] : never }> = Omit<T, keyof N> & N;

export type Health = Narrowed<
  Sent<Schemas['Health']>,
  {
    status: 'ok' | 'unavailable';
    database: 'ok' | 'error';
  }
>;

export type Token = Sent<Schemas['TokenResponse']>;

export type Network = Sent<Schemas['NetworkResponse']>;

export type PaymentStatus = 'pending' | 'confirming' | 'paid' | 'expired' | 'cancelled' | 'failed';

export type Payment = Narrowed<
  Sent<Schemas['PaymentResponse']>,
  {
    status: PaymentStatus;
    amount_match: 'exact' | 'underpaid' | 'overpaid' | null;
  }
>;

export type PaymentPage = Narrowed<Sent<Schemas['PaymentPage']>, { payments: Payment[] }>;

/** The history's query string (UI-only: the document describes it as separate parameters). */
export interface PaymentFilter {
  status?: string;
  token?: string;
  network?: string;
  from?: string;
  to?: string;
  limit?: number;
  cursor?: string;
}

/** A request body: its optional fields are really optional, so no `Sent`. */
export type CreatePayment = Schemas['CreatePaymentRequest'];

export type Product = Sent<Schemas['ProductResponse']>;

/** `ProductRequest` serves both create and update (every field optional); a new product needs a name and a price. */
export type ProductFields = Narrowed<Schemas['ProductRequest'], { name: string; price: string }>;

export type Transfer = Narrowed<
  Sent<Schemas['TransferResponse']>,
  {
    reason: 'paid_after_cancel' | 'second_payment' | 'before_sale' | 'same_transaction' | null;
  }
>;

export type DisplayState = Narrowed<
  Sent<Schemas['DisplayResponse']>,
  {
    mode: 'idle' | 'payment' | 'success';
    payment: Payment | null;
  }
>;

export type PaymentStats = Sent<Schemas['PaymentStatsResponse']>;

export type Capability = 'unknown' | 'served' | 'not_served' | 'lost';

export type RpcEndpointStatus = Narrowed<
  Sent<Schemas['RpcEndpointStatus']>,
  {
    status: 'ok' | 'unverified' | 'backing_off' | 'lagging' | 'wrong_chain' | 'untrusted';
    logs: Capability;
    finality: Capability;
  }
>;

export type MonitoringStats = Narrowed<Sent<Schemas['MonitoringResponse']>, { rpc_endpoints: RpcEndpointStatus[] }>;

export type SystemStats = Sent<Schemas['SystemResponse']>;

export type WebSocketStats = Sent<Schemas['WebSocketStatsResponse']>;

/** Not `Sent`: the server leaves `paymentId` out (rather than null) when there is none. */
export type LoggedMessage = Narrowed<
  Schemas['LoggedMessageView'],
  {
    source: 'frontend' | 'blockchain';
    direction: 'in' | 'out';
  }
>;

export type Alert = Narrowed<Sent<Schemas['AlertView']>, { severity: 'warning' | 'critical' }>;

export type Webhook = Narrowed<Sent<Schemas['WebhookResponse']>, { source: 'config' | 'api' }>;

export type Delivery = Narrowed<Sent<Schemas['DeliveryResponse']>, { status: 'pending' | 'delivered' | 'failed' }>;

export type Settings = Sent<Schemas['SettingsResponse']>;

export type PairingCode = Sent<Schemas['PairingResponse']>;

export type DisplayDevice = Sent<Schemas['DisplayDeviceResponse']>;

const base = (import.meta.env.VITE_API_BASE as string | undefined)?.replace(/\/$/, '') ?? '';
const KEY_STORAGE = 'stablepay.apiKey';

/** The API key this browser sends on merchant calls ('' = none). */
export function apiKey(): string {
  try {
    return globalThis.localStorage?.getItem(KEY_STORAGE) ?? '';
  } catch {
    return '';
  }
}

export function setApiKey(key: string) {
  if (key) localStorage.setItem(KEY_STORAGE, key);
  else localStorage.removeItem(KEY_STORAGE);
}

const DISPLAY_TOKEN_STORAGE = 'stablepay.displayToken';
const PUSH_KEY_STORAGE = 'stablepay.pushKey';

function stored(name: string): string {
  try {
    return globalThis.localStorage?.getItem(name) ?? '';
  } catch {
    return '';
  }
}

/** The display-role token this device got by pairing ('' = not paired). */
export function displayToken(): string {
  return stored(DISPLAY_TOKEN_STORAGE);
}

/** Keeps (or, with '', forgets) this device's display token and the push key pinned with it. */
export function setDisplayToken(token: string, pushKey = '') {
  if (token) {
    localStorage.setItem(DISPLAY_TOKEN_STORAGE, token);
    if (pushKey) localStorage.setItem(PUSH_KEY_STORAGE, pushKey);
  } else {
    localStorage.removeItem(DISPLAY_TOKEN_STORAGE);
    localStorage.removeItem(PUSH_KEY_STORAGE);
  }
}

let desktopPushKey: Promise<string | null> | null = null;

/**
 * The key socket messages must be signed with, from the most trusted source this screen has: the
 * desktop app (IPC), else the key pinned when this device paired — a paired display never takes a
 * key from the network again — else, for a screen on a staff key or on this computer, the server's
 * `GET /api/v1/push-key`. `null`: no key (a paired display from before keys were pinned: pair again).
 */
export async function pushKey(): Promise<string | null> {
  if (isDesktop()) {
    desktopPushKey ??= desktop<string>('push_key').catch(() => null);
    return desktopPushKey;
  }
  if (displayToken()) return stored(PUSH_KEY_STORAGE) || null;
  try {
    return (await request<Sent<Schemas['PushKeyResponse']>>('/api/v1/push-key')).public_key;
  } catch {
    return null;
  }
}

let desktopKey: Promise<string | null> | null = null;

/** The desktop window's key for this launch (asked once over IPC), or null outside the app. */
function sessionKey(): Promise<string | null> {
  if (!isDesktop()) return Promise.resolve(null);
  desktopKey ??= desktop<string>('session_token').catch(() => null);
  return desktopKey;
}

async function request<T>(path: string, init?: RequestInit): Promise<T> {
  let response: Response;
  const key = (await sessionKey()) ?? (apiKey() || displayToken());
  try {
    response = await fetch(`${base}${path}`, {
      ...init,
      headers: {
        Accept: 'application/json',
        ...(init?.body ? { 'Content-Type': 'application/json' } : {}),
        ...(key ? { Authorization: `Bearer ${key}` } : {}),
        ...init?.headers,
      },
    });
  } catch {
    throw new ApiError('network_error', 'The StablePay server cannot be reached.', 0);
  }
  const text = await response.text();
  let body: unknown = undefined;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    /* not JSON: handled below */
  }
  if (!response.ok) {
    const error = (body as { error?: { code?: string; message?: string } } | undefined)?.error;
    throw new ApiError(error?.code ?? 'http_error', error?.message ?? `HTTP ${response.status}`, response.status);
  }
  if (body === undefined && response.status !== 204) {
    throw new ApiError('invalid_response', 'The server sent an unreadable answer.', response.status);
  }
  return body as T;
}

const json = (method: string, body: unknown): RequestInit => ({ method, body: JSON.stringify(body) });

function query(params: object): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

/** Health is answered with a JSON body for both 200 and 503. */
export async function health(): Promise<Health> {
  try {
    return await request<Health>('/health');
  } catch (e) {
    if (e instanceof ApiError && e.status === 503) {
      return { status: 'unavailable', database: 'error', version: '', uptime_seconds: 0 };
    }
    throw e;
  }
}

export const listTokens = () => request<Token[]>('/api/v1/tokens');
export const listNetworks = () => request<Network[]>('/api/v1/networks');

/**
 * A fresh key for `Idempotency-Key` (a UUID v4). From `crypto.getRandomValues`, which every browser
 * has: `crypto.randomUUID` exists only in secure contexts, and a till on the LAN over plain HTTP is not one.
 */
export function newIdempotencyKey(): string {
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40; // version 4
  b[8] = (b[8] & 0x3f) | 0x80; // RFC 4122 variant
  const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** The server answers a replay with the same key and body with the payment the first request made. */
export const createPayment = (body: CreatePayment, idempotencyKey?: string) =>
  request<Payment>('/api/v1/payments', {
    ...json('POST', body),
    headers: idempotencyKey ? { 'Idempotency-Key': idempotencyKey } : {},
  });
export const getPayment = (id: string) => request<Payment>(`/api/v1/payments/${encodeURIComponent(id)}`);
export const listPayments = (filter: PaymentFilter = {}) => request<PaymentPage>(`/api/v1/payments${query(filter)}`);
export const cancelPayment = (id: string) => request<Payment>(`/api/v1/payments/${encodeURIComponent(id)}/cancel`, { method: 'POST' });
export const checkTransaction = (id: string, transactionHash: string) =>
  request<Payment>(`/api/v1/payments/${encodeURIComponent(id)}/process`, json('POST', { transaction_hash: transactionHash }));
export const attachTransfer = (id: string, transferId: number, reason: string) =>
  request<Payment>(`/api/v1/payments/${encodeURIComponent(id)}/attach`, json('POST', { transfer_id: transferId, reason }));
export const qrUrl = (id: string, kind: 'payment' | 'address' = 'payment') =>
  `${base}/api/v1/payments/${encodeURIComponent(id)}/qr.svg${kind === 'address' ? '?kind=address' : ''}`;

/** CSV export of the filtered history (downloaded with the API key, then saved by the browser). */
export async function exportCsv(filter: PaymentFilter = {}): Promise<Blob> {
  const key = (await sessionKey()) ?? apiKey();
  const response = await fetch(`${base}/api/v1/payments/export.csv${query(filter)}`, {
    headers: key ? { Authorization: `Bearer ${key}` } : {},
  });
  if (!response.ok) throw new ApiError('http_error', `HTTP ${response.status}`, response.status);
  return response.blob();
}

export const listProducts = () => request<Product[]>('/api/v1/products');
export const createProduct = (fields: ProductFields) => request<Product>('/api/v1/products', json('POST', fields));
export const updateProduct = (id: string, fields: Partial<ProductFields>) =>
  request<Product>(`/api/v1/products/${encodeURIComponent(id)}`, json('PATCH', fields));
export const deleteProduct = (id: string) => request<void>(`/api/v1/products/${encodeURIComponent(id)}`, { method: 'DELETE' });

export const listTransfers = (matched?: boolean) => request<Transfer[]>(`/api/v1/transfers${query({ matched })}`);

export const getDisplay = () => request<DisplayState>('/api/v1/display');
export const showOnDisplay = (paymentId: string | null) => request<DisplayState>('/api/v1/display', json('PUT', { payment_id: paymentId }));

export const paymentStats = () => request<PaymentStats>('/api/v1/stats/payments');
export const monitoringStats = () => request<MonitoringStats>('/api/v1/stats/monitoring');
export const systemStats = () => request<SystemStats>('/api/v1/stats/system');
export const websocketStats = () => request<WebSocketStats>('/api/v1/stats/websocket');
export const websocketMessages = (limit = 100) =>
  request<Narrowed<Schemas['MessagesResponse'], { messages: LoggedMessage[] }>>(`/api/v1/stats/websocket/messages?limit=${limit}`);
export const listAlerts = () => request<Narrowed<Sent<Schemas['AlertsResponse']>, { alerts: Alert[] }>>('/api/v1/alerts');

export const listWebhooks = () => request<Narrowed<Sent<Schemas['WebhookList']>, { data: Webhook[] }>>('/api/v1/webhooks');
export const createWebhook = (url: string, secret: string, events: string[]) =>
  request<Webhook>('/api/v1/webhooks', json('POST', { url, secret, events }));
export const deleteWebhook = (id: string) => request<void>(`/api/v1/webhooks/${encodeURIComponent(id)}`, { method: 'DELETE' });
export const listDeliveries = () => request<Narrowed<Sent<Schemas['DeliveryList']>, { data: Delivery[] }>>('/api/v1/webhooks/deliveries');
export const redeliver = (id: number) => request<Delivery>(`/api/v1/webhooks/deliveries/${id}/redeliver`, { method: 'POST' });

export const getSettings = () => request<Settings>('/api/v1/settings');

/** A pairing code for a customer display (replaces any earlier one; admin). */
export const startPairing = () => request<PairingCode>('/api/v1/displays/pairing', { method: 'POST' });
/** Pairs this device with a code from the owner's screen: its display token (shown once). */
export const pairDisplay = (code: string, name: string) =>
  request<Sent<Schemas['PairedResponse']>>('/api/v1/displays/pair', json('POST', { code, name }));
export const listDisplays = () => request<Sent<Schemas['DisplayDeviceList']>>('/api/v1/displays');
export const revokeDisplay = (id: string) => request<void>(`/api/v1/displays/${encodeURIComponent(id)}`, { method: 'DELETE' });

/** ws:// or wss:// URL of a server socket path, on the same origin as the API. */
export function socketUrl(path: string, ticket?: string): string {
  const origin = base || globalThis.location?.origin || 'http://localhost';
  const url = new URL(path, origin.endsWith('/') ? origin : `${origin}/`);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  if (ticket) url.searchParams.set('ticket', ticket);
  return url.toString();
}

/**
 * A single-use ticket for a merchant socket: browsers cannot send the key as a header on a
 * WebSocket, and a key must not travel in a URL, so the key buys a one-minute ticket instead.
 */
export const socketTicket = () => request<Sent<Schemas['TicketResponse']>>('/api/v1/socket-tickets', { method: 'POST' });

/**
 * `unpaired`: the server refused this device (no key, or a revoked display token);
 * `untrusted`: a message arrived that is not signed by the server's key (someone between this
 * screen and the server changed it) — nothing from it is shown.
 */
export type LinkState = 'connecting' | 'live' | 'polling' | 'closed' | 'unpaired' | 'untrusted';

export interface Live<T> {
  /** Stops the socket, its reconnects and the polling fallback. */
  close(): void;
  /** Called with each new value. */
  onValue: (value: T) => void;
  /** Called when the link changes state. */
  onState: (state: LinkState) => void;
}

/**
 * Follows a payment live: the payment socket (`connection_ack`, then `payment_status_update`), kept
 * open by ./socket.ts; while it is down, the payment is polled every 3 s so the screen never
 * freezes. Each update refetches the whole payment.
 */
export function followPayment(id: string, onValue: (p: Payment) => void, onState: (s: LinkState) => void = () => {}): Live<Payment> {
  let closed = false;
  let poll: ReturnType<typeof setInterval> | null = null;
  const live: Live<Payment> = {
    onValue,
    onState,
    close() {
      closed = true;
      socket.close();
    },
  };
  const refresh = () =>
    getPayment(id)
      .then((p) => !closed && live.onValue(p))
      .catch(() => {});
  const socket = keepSocket({
    url: async () => socketUrl(`/ws/payments/${encodeURIComponent(id)}`),
    waiting: 'polling',
    state(s) {
      if (s === 'polling' && !poll && !closed) poll = setInterval(refresh, 3000);
      if (s !== 'polling' && poll) {
        clearInterval(poll);
        poll = null;
      }
      live.onState(s);
    },
    message(_text, parsed) {
      const message = (parsed ?? {}) as { type?: string; payment?: Payment };
      if (message.type === 'connection_ack' && message.payment) live.onValue(message.payment);
      if (message.type === 'payment_status_update') void refresh();
    },
  });
  return live;
}

/**
 * Follows the customer display channel, kept open by ./socket.ts. Only messages signed by the
 * server's key count (see `pushKey`); an update older than the one shown (a replay) is ignored.
 *
 * While the socket is down the display says `connecting` and does not poll: `GET /api/v1/display`
 * is not signed, and this screen shows only what the server's key vouches for. A REST fallback
 * could not draw a payment's QR code, and even its idle or "payment received" screens would come
 * from an unsigned source a man in the middle could forge, so the display keeps what it last showed
 * and waits for the socket.
 */
export function followDisplay(onValue: (d: DisplayState) => void, onState: (s: LinkState) => void = () => {}): Live<DisplayState> {
  let key = '';
  let shown = -Infinity;
  const live: Live<DisplayState> = { onValue, onState, close: () => socket.close() };
  const unpaired = () => {
    if (displayToken()) setDisplayToken('');
    live.onState('unpaired');
    return null;
  };
  const socket = keepSocket({
    async url() {
      const pinned = await pushKey();
      if (!pinned && displayToken()) return unpaired();
      if (!pinned) throw new ApiError('network_error', 'The push key cannot be read.', 0);
      key = pinned;
      try {
        return socketUrl('/ws/display', (await socketTicket()).ticket);
      } catch (e) {
        // Not paired, or the owner revoked this display: stop until it pairs again.
        if (e instanceof ApiError && e.status === 401) return unpaired();
        throw e;
      }
    },
    waiting: 'connecting',
    state: (s) => live.onState(s),
    message(text) {
      const message = verified<{ type?: string; data?: DisplayState }>(text, key);
      if (!message) {
        live.onState('untrusted');
        return;
      }
      if (message.type === 'display_update' && message.data) {
        const at = Date.parse(message.data.updated_at);
        if (Number.isFinite(at) && at < shown) return;
        if (Number.isFinite(at)) shown = at;
        live.onState('live');
        live.onValue(message.data);
      }
    },
  });
  return live;
}

// --- the desktop shell (Tauri) ------------------------------------------------------------------

/** Running inside the StablePay desktop app (its IPC is available for the server's origin). */
export function isDesktop(): boolean {
  return typeof window !== 'undefined' && '__TAURI_INTERNALS__' in window;
}

export interface MonitorInfo {
  index: number;
  name: string;
  width: number;
  height: number;
}

export interface ShellSettings {
  server_bind: string | null;
  lan: boolean;
  language: string | null;
  display_monitor: number | null;
  last_token?: string | null;
  last_network?: string | null;
}

async function desktop<T>(command: string, args?: Record<string, unknown>): Promise<T> {
  const { invoke } = await import('@tauri-apps/api/core');
  try {
    return await invoke<T>(command, args);
  } catch (e) {
    throw new ApiError('desktop_error', String(e), 0);
  }
}

/** Opens the customer display: a fullscreen window on `monitor` in the app, a new tab in a browser. */
export async function openCustomerDisplay(monitor?: number): Promise<void> {
  if (isDesktop()) return desktop('open_customer_display', { monitor: monitor ?? null });
  window.open('#/display', '_blank', 'noopener');
}

export const listMonitors = () => desktop<MonitorInfo[]>('list_monitors');
export const getShellSettings = () => desktop<ShellSettings>('get_shell_settings');
/** Saves; answers whether the app restarts to apply them. */
export const saveShellSettings = (settings: ShellSettings) => desktop<boolean>('save_shell_settings', { settings });
/** The app remembers the last sale's token and network in its settings store. */
export const rememberSaleChoice = (token: string, network: string) =>
  desktop<void>('remember_sale_choice', { token, network: network || null });
