// The one place the UI talks to the outside: the embedded StablePay server over HTTP and WebSocket.
// Same-origin by default, so the same build works in the Tauri window, in a browser on the LAN and
// under Playwright; VITE_API_BASE points a dev build elsewhere. Merchant calls carry a key: in the
// desktop app the window's own session key (handed over IPC, kept in memory only), elsewhere the
// API key saved in this browser (Settings), when there is one. The customer display trusts only
// socket messages signed by the server's key (./signing.ts).
import { verified } from './signing';

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

export interface Health {
  status: 'ok' | 'unavailable';
  database: 'ok' | 'error';
  version: string;
  uptime_seconds: number;
}

export interface Token {
  symbol: string;
  name: string;
  network: string;
  contract_address: string;
  decimals: number;
  legacy: boolean;
  /** Why no payment can be made in it now (its contract disagrees with the configuration). */
  disabled: string | null;
}

export interface Network {
  id: string;
  name: string;
  chain_id: number;
  explorer_url: string;
}

export type PaymentStatus = 'pending' | 'confirming' | 'paid' | 'expired' | 'cancelled' | 'failed';

export interface Payment {
  id: string;
  status: PaymentStatus;
  amount: string;
  requested_amount: string;
  amount_base_units: string;
  token: string;
  token_contract: string;
  decimals: number;
  network: string;
  chain_id: number;
  pay_to: string;
  payment_uri: string;
  address_only_uri: string;
  confirmations: number;
  required_confirmations: number;
  transaction_hash: string | null;
  block_number: number | null;
  /** What the crediting transfer carried; differs from `amount` only for a transfer attached by hand. */
  amount_received: string | null;
  amount_match: 'exact' | 'underpaid' | 'overpaid' | null;
  start_block: number | null;
  late: boolean;
  description: string | null;
  order_reference: string | null;
  metadata: Record<string, unknown> | null;
  product_id: string | null;
  created_at: string;
  expires_at: string;
  paid_at: string | null;
}

export interface PaymentPage {
  payments: Payment[];
  next_cursor: string | null;
}

export interface PaymentFilter {
  status?: string;
  token?: string;
  network?: string;
  from?: string;
  to?: string;
  limit?: number;
  cursor?: string;
}

export interface CreatePayment {
  amount?: string;
  product_id?: string;
  token: string;
  network?: string;
  description?: string;
  order_reference?: string;
}

export interface Product {
  id: string;
  name: string;
  price: string;
  description: string | null;
  active: boolean;
  created_at: string;
  updated_at: string;
}

export interface ProductFields {
  name: string;
  price: string;
  description?: string | null;
  active?: boolean;
}

export interface Transfer {
  id: number;
  network: string;
  chain_id: number;
  token_contract: string;
  token: string | null;
  transaction_hash: string;
  log_index: number;
  block_number: number;
  from: string;
  to: string;
  value_base_units: string;
  value: string | null;
  payment_id: string | null;
  /** The sale it matched but could not pay (cancelled, already paid, or newer than the transfer). */
  related_payment_id: string | null;
  reason: 'paid_after_cancel' | 'second_payment' | 'before_sale' | 'same_transaction' | null;
  seen_at: string;
}

export interface DisplayState {
  mode: 'idle' | 'payment' | 'success';
  payment: Payment | null;
  shop_name: string;
  updated_at: string;
}

export interface PaymentStats {
  total_payments: number;
  successful_payments: number;
  failed_payments: number;
  success_rate: number;
  payments_by_token: Record<string, number>;
  payments_by_period: Record<string, number>;
  average_processing_time: number;
  failure_reasons: Record<string, number>;
  daily: { date: string; created: number; paid: number }[];
}

export type Capability = 'unknown' | 'served' | 'not_served' | 'lost';

export interface RpcEndpointStatus {
  network: string;
  endpoint: string;
  health: number;
  status: 'ok' | 'unverified' | 'backing_off' | 'lagging' | 'wrong_chain' | 'untrusted';
  head: number | null;
  logs: Capability;
  finality: Capability;
}

export interface MonitoringStats {
  websocket_connections: { active: number; healthy: number; degraded: number };
  blockchain_monitoring: { average_latency: number; last_block_processed: number; blocks_behind: number; events_detected: number };
  validation_performance: { average_validation_time: number; validation_success_rate: number };
  rpc_endpoints: RpcEndpointStatus[];
}

export interface SystemStats {
  uptime: number;
  cpu_usage: number;
  memory_usage: number;
  disk_usage: number;
  api_response_time: number;
  error_rate: number;
  database_health: string;
  blockchain_connection: string;
}

export interface WebSocketStats {
  frontend: {
    totalConnections: number;
    activeConnections: number;
    connectionErrors: number;
    reconnectAttempts: number;
    lastConnectionTime: string | null;
    lastDisconnectionTime: string | null;
  };
  blockchain: {
    isConnected: boolean;
    currentEndpoint: string | null;
    totalConnectionAttempts: number;
    reconnectAttempts: number;
    activeSubscriptions: number;
    lastConnectionTime: string | null;
    lastDisconnectionTime: string | null;
  };
}

export interface LoggedMessage {
  source: 'frontend' | 'blockchain';
  type: string;
  paymentId?: string;
  direction: 'in' | 'out';
  data: unknown;
  timestamp: string;
}

export interface Alert {
  id: string;
  kind: string;
  severity: 'warning' | 'critical';
  message: string;
  value: number;
  threshold: number;
  since: string;
}

export interface Webhook {
  id: string;
  url: string;
  secret_hint: string;
  events: string[];
  source: 'config' | 'api';
  enabled: boolean;
  created_at: string;
}

export interface Delivery {
  id: number;
  event_id: string;
  event_type: string;
  webhook_id: string;
  url: string;
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  last_status_code: number | null;
  last_error: string | null;
  next_attempt_at: string;
  delivered_at: string | null;
  created_at: string;
}

export interface Settings {
  merchant: { name: string; receive_address: string | null };
  payments: {
    confirmations: number;
    require_finalized: boolean;
    expiry_seconds: number;
    amount_step: string;
    late_grace_seconds: number;
  };
  server: {
    bind: string;
    api_keys_configured: number;
    public_url: string;
    cors_origins: string[];
    /** Null when the server speaks plain HTTP. */
    tls: { fingerprint_sha256: string; self_signed: boolean } | null;
    /** The key socket messages are signed with (Ed25519, hex). */
    push_key: string;
  };
  chain: { enabled: boolean; poll_interval_ms: number };
  networks: { id: string; name: string; chain_id: number; rpc_endpoints: string[]; ws_endpoints: string[]; explorer_url: string }[];
  tokens: Token[];
}

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
    return (await request<{ public_key: string }>('/api/v1/push-key')).public_key;
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
  request<{ messages: LoggedMessage[]; count: number }>(`/api/v1/stats/websocket/messages?limit=${limit}`);
export const listAlerts = () => request<{ alerts: Alert[]; count: number }>('/api/v1/alerts');

export const listWebhooks = () => request<{ data: Webhook[] }>('/api/v1/webhooks');
export const createWebhook = (url: string, secret: string, events: string[]) =>
  request<Webhook>('/api/v1/webhooks', json('POST', { url, secret, events }));
export const deleteWebhook = (id: string) => request<void>(`/api/v1/webhooks/${encodeURIComponent(id)}`, { method: 'DELETE' });
export const listDeliveries = () => request<{ data: Delivery[] }>('/api/v1/webhooks/deliveries');
export const redeliver = (id: number) => request<Delivery>(`/api/v1/webhooks/deliveries/${id}/redeliver`, { method: 'POST' });

export const getSettings = () => request<Settings>('/api/v1/settings');

export interface PairingCode {
  code: string;
  expires_at: string;
  /** What a tablet opens to pair (the code is in it). */
  pair_url: string;
  /** `pair_url` as an SVG QR code. */
  qr_svg: string;
}

export interface DisplayDevice {
  id: string;
  name: string;
  paired_at: string;
  revoked_at: string | null;
}

/** A pairing code for a customer display (replaces any earlier one; admin). */
export const startPairing = () => request<PairingCode>('/api/v1/displays/pairing', { method: 'POST' });
/** Pairs this device with a code from the owner's screen: its display token (shown once). */
export const pairDisplay = (code: string, name: string) =>
  request<{ id: string; name: string; token: string; push_key: string }>('/api/v1/displays/pair', json('POST', { code, name }));
export const listDisplays = () => request<{ data: DisplayDevice[] }>('/api/v1/displays');
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
export const socketTicket = () => request<{ ticket: string; expires_in: number }>('/api/v1/socket-tickets', { method: 'POST' });

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
 * Follows a payment live: the payment socket (`connection_ack`, then `payment_status_update`)
 * with reconnects (backoff up to 10 s); while the socket is down, the payment is polled every 3 s so
 * the screen never freezes. Each update refetches the whole payment.
 */
export function followPayment(id: string, onValue: (p: Payment) => void, onState: (s: LinkState) => void = () => {}): Live<Payment> {
  let socket: WebSocket | null = null;
  let closed = false;
  let attempt = 0;
  let poll: ReturnType<typeof setInterval> | null = null;
  let retry: ReturnType<typeof setTimeout> | null = null;
  const live: Live<Payment> = {
    onValue,
    onState,
    close() {
      closed = true;
      if (poll) clearInterval(poll);
      if (retry) clearTimeout(retry);
      socket?.close();
      live.onState('closed');
    },
  };
  const refresh = () =>
    getPayment(id)
      .then((p) => !closed && live.onValue(p))
      .catch(() => {});
  const startPolling = () => {
    if (!poll && !closed) {
      poll = setInterval(refresh, 3000);
      live.onState('polling');
    }
  };
  const connect = () => {
    if (closed) return;
    live.onState(attempt === 0 ? 'connecting' : 'polling');
    socket = new WebSocket(socketUrl(`/ws/payments/${encodeURIComponent(id)}`));
    socket.onmessage = (event) => {
      let message: { type?: string; payment?: Payment } = {};
      try {
        message = JSON.parse(String(event.data));
      } catch {
        return;
      }
      if (message.type === 'ping') socket?.send(JSON.stringify({ type: 'pong' }));
      if (message.type === 'connection_ack') {
        attempt = 0;
        if (poll) clearInterval(poll);
        poll = null;
        live.onState('live');
        if (message.payment) live.onValue(message.payment);
      }
      if (message.type === 'payment_status_update') void refresh();
    };
    socket.onclose = () => {
      if (closed) return;
      startPolling();
      attempt += 1;
      retry = setTimeout(connect, Math.min(10_000, 500 * 2 ** attempt));
    };
  };
  connect();
  return live;
}

/**
 * Follows the customer display channel, reconnecting with backoff. Only messages signed by the
 * server's key count (see `pushKey`); an update older than the one shown (a replay) is ignored.
 */
export function followDisplay(onValue: (d: DisplayState) => void, onState: (s: LinkState) => void = () => {}): Live<DisplayState> {
  let socket: WebSocket | null = null;
  let closed = false;
  let attempt = 0;
  let retry: ReturnType<typeof setTimeout> | null = null;
  let shown = -Infinity;
  const live: Live<DisplayState> = {
    onValue,
    onState,
    close() {
      closed = true;
      if (retry) clearTimeout(retry);
      socket?.close();
      live.onState('closed');
    },
  };
  const unpaired = () => {
    if (displayToken()) setDisplayToken('');
    live.onState('unpaired');
  };
  const connect = async () => {
    if (closed) return;
    live.onState('connecting');
    let ticket: string;
    let key: string;
    try {
      const pinned = await pushKey();
      if (!pinned && displayToken()) return unpaired();
      if (!pinned) throw new ApiError('network_error', 'The push key cannot be read.', 0);
      key = pinned;
      ticket = (await socketTicket()).ticket;
    } catch (e) {
      // Not paired, or the owner revoked this display: stop until it pairs again.
      if (e instanceof ApiError && e.status === 401) return unpaired();
      attempt += 1;
      live.onState('polling');
      retry = setTimeout(connect, Math.min(10_000, 500 * 2 ** attempt));
      return;
    }
    if (closed) return;
    socket = new WebSocket(socketUrl('/ws/display', ticket));
    socket.onmessage = (event) => {
      const message = verified<{ type?: string; data?: DisplayState }>(String(event.data), key);
      if (!message) {
        live.onState('untrusted');
        return;
      }
      if (message.type === 'ping') socket?.send(JSON.stringify({ type: 'pong' }));
      if (message.type === 'display_update' && message.data) {
        const at = Date.parse(message.data.updated_at);
        if (Number.isFinite(at) && at < shown) return;
        if (Number.isFinite(at)) shown = at;
        attempt = 0;
        live.onState('live');
        live.onValue(message.data);
      }
    };
    socket.onclose = () => {
      if (closed) return;
      attempt += 1;
      live.onState('polling');
      retry = setTimeout(connect, Math.min(10_000, 500 * 2 ** attempt));
    };
  };
  void connect();
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
