// The server's REST API, one function per call: pricing, payments (and their CSV export and QR codes),
// refunds, products, transfers, the customer display, stats, webhooks, settings (and the shop's
// logo), counters, display pairing and socket tickets. Every call goes through ./http.ts.
import { ApiError } from './errors';
import { apiKey, base, json, query, request, sessionKey } from './http';
import type {
  CloseReport,
  Receipt,
  Alert,
  ChainStatus,
  CreatePayment,
  CreateRefund,
  Delivery,
  DisplayState,
  Health,
  LogoSaved,
  LoggedMessage,
  MonitoringStats,
  Narrowed,
  Network,
  PairingCode,
  Payment,
  PaymentFilter,
  PaymentPage,
  PaymentStats,
  Pricing,
  Product,
  ProductFields,
  Refund,
  RefundsView,
  Checkout,
  CounterList,
  Schemas,
  Sent,
  EndpointTestResult,
  Settings,
  SettingsSaved,
  SettingsUpdate,
  SystemStats,
  Token,
  Transfer,
  TrendSample,
  Webhook,
  WebSocketStats,
} from './types';

/** Health is answered with a JSON body for both 200 and 503. */
export async function health(): Promise<Health> {
  try {
    return await request<Health>('/health');
  } catch (e) {
    if (e instanceof ApiError && e.status === 503) {
      // Nothing is known of the replica of a server whose database does not answer.
      return {
        status: 'unavailable',
        database: 'error',
        version: '',
        uptime_seconds: 0,
        replica: { database: '', name: '', leader: false, leader_name: null },
      };
    }
    throw e;
  }
}

export const listTokens = () => request<Token[]>('/api/v1/tokens');
export const listNetworks = () => request<Network[]>('/api/v1/networks');
/** The shop's currency and each token's rate, with whether it is too old to sell at (public). */
export const getPricing = () => request<Pricing>('/api/v1/pricing');
/** Whether payments are being seen right now (public: the customer display asks it too). */
export const chainStatus = () => request<ChainStatus>('/api/v1/chain/status');

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
/** The customer's tip choice (0: no tip) for a sale asking one: the sale takes its amount. */
export const chooseTip = (id: string, percent: number) =>
  request<Payment>(`/api/v1/payments/${encodeURIComponent(id)}/tip`, json('POST', { percent }));
/** Asks for the rest of a short sale: the payment for what is missing (shown on the customer display). */
export const requestRemainder = (id: string) =>
  request<Payment>(`/api/v1/payments/${encodeURIComponent(id)}/remainder`, { method: 'POST' });
export const listPayments = (filter: PaymentFilter = {}) => request<PaymentPage>(`/api/v1/payments${query(filter)}`);
export const cancelPayment = (id: string) => request<Payment>(`/api/v1/payments/${encodeURIComponent(id)}/cancel`, { method: 'POST' });
export const checkTransaction = (id: string, transactionHash: string) =>
  request<Payment>(`/api/v1/payments/${encodeURIComponent(id)}/process`, json('POST', { transaction_hash: transactionHash }));
export const attachTransfer = (id: string, transferId: number, reason: string) =>
  request<Payment>(`/api/v1/payments/${encodeURIComponent(id)}/attach`, json('POST', { transfer_id: transferId, reason }));
/** The hosted checkout's extras: the shop's name and where to go once paid (customer route). */
export const getCheckout = (id: string) => request<Checkout>(`/api/v1/payments/${encodeURIComponent(id)}/checkout`);
export const qrUrl = (id: string, kind: 'payment' | 'address' = 'payment') =>
  `${base}/api/v1/payments/${encodeURIComponent(id)}/qr.svg${kind === 'address' ? '?kind=address' : ''}`;

/** A file the API answers (CSV), fetched with the API key; the browser then saves it. */
async function download(path: string): Promise<Blob> {
  const key = (await sessionKey()) ?? apiKey();
  const response = await fetch(`${base}${path}`, { headers: key ? { Authorization: `Bearer ${key}` } : {} });
  if (!response.ok) throw new ApiError('http_error', `HTTP ${response.status}`, response.status);
  return response.blob();
}

/** Hands `blob` to the browser to save as `name`. */
export function saveAs(blob: Blob, name: string) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.click();
  URL.revokeObjectURL(url);
}

/** CSV export of the filtered history. */
export const exportCsv = (filter: PaymentFilter = {}) => download(`/api/v1/payments/export.csv${query(filter)}`);

/** A sale's refunds, its payer and what may still be refunded. */
export const getRefunds = (id: string) => request<RefundsView>(`/api/v1/payments/${encodeURIComponent(id)}/refunds`);
/** Asks for a refund (201): the shop's wallet then sends it, from the answer's `payment_uri` / `qr_svg`. */
export const createRefund = (id: string, body: CreateRefund) =>
  request<Refund>(`/api/v1/payments/${encodeURIComponent(id)}/refunds`, json('POST', body));
export const getRefund = (rid: string) => request<Refund>(`/api/v1/refunds/${encodeURIComponent(rid)}`);
/** Calls off a refund whose transfer was not seen yet (409 `invalid_state` after). */
/** The refund's manual check: the transaction the shop's wallet sent it in. */
export const checkRefund = (rid: string, transactionHash: string) =>
  request<Refund>(`/api/v1/refunds/${encodeURIComponent(rid)}/check`, json('POST', { transaction_hash: transactionHash }));
export const cancelRefund = (rid: string) => request<Refund>(`/api/v1/refunds/${encodeURIComponent(rid)}/cancel`, { method: 'POST' });

/** A paid (or refunded) sale's receipt, with its confirmed refunds. */
export const getReceipt = (id: string) => request<Receipt>(`/api/v1/payments/${encodeURIComponent(id)}/receipt`);
/** Prints it on the shop's receipt printer; answers the printer. */
export const printReceipt = (id: string) =>
  request<{ printer: string }>(`/api/v1/payments/${encodeURIComponent(id)}/receipt/print`, { method: 'POST' });

const closeQuery = (from: string, to: string) => `from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`;
/** The close of `[from, to)` (RFC 3339). */
export const closeReport = (from: string, to: string) => request<CloseReport>(`/api/v1/reports/close?${closeQuery(from, to)}`);
/** The same close as CSV. */
export const closeReportCsv = (from: string, to: string) => download(`/api/v1/reports/close?${closeQuery(from, to)}&format=csv`);

export const listProducts = () => request<Product[]>('/api/v1/products');
export const createProduct = (fields: ProductFields) => request<Product>('/api/v1/products', json('POST', fields));
export const updateProduct = (id: string, fields: Partial<ProductFields>) =>
  request<Product>(`/api/v1/products/${encodeURIComponent(id)}`, json('PATCH', fields));
export const deleteProduct = (id: string) => request<void>(`/api/v1/products/${encodeURIComponent(id)}`, { method: 'DELETE' });

export const listTransfers = (matched?: boolean) => request<Transfer[]>(`/api/v1/transfers${query({ matched })}`);

/** What the display shows: the shop's channel, or with `counter` (`ctr_…`) that counter's. */
export const getDisplay = (counter?: string) => request<DisplayState>(`/api/v1/display${query({ counter })}`);
export const showOnDisplay = (paymentId: string | null) => request<DisplayState>('/api/v1/display', json('PUT', { payment_id: paymentId }));

/** The payment statistics, over every sale or (with `counter`) one counter's. */
export const paymentStats = (counter?: string) => request<PaymentStats>(`/api/v1/stats/payments${query({ counter })}`);
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
/** The monitoring figures sampled over the last `hours` (kept in the database, 30 days). */
export const statsHistory = (hours = 24) => request<{ samples: TrendSample[]; bucket_seconds: number }>(`/api/v1/stats/history?hours=${hours}`);
/** Tries an RPC endpoint: chain id, head, latency, whether it serves logs and finality (admin). */
export const testEndpoint = (url: string) => request<EndpointTestResult>('/api/v1/settings/test-endpoint', json('POST', { url }));
/** Saves the owner's changes into the config file and applies them at once (admin). */
export const updateSettings = (change: SettingsUpdate) => request<SettingsSaved>('/api/v1/settings', json('PATCH', change));

/**
 * Saves `change` and waits until the server runs on it (it reloads in place): answers the settings
 * in force, or throws the reason it could not start with them (it stayed on the previous ones) —
 * `unavailable` after `waitMs`. `onSaved` hears when the file is written, before the reload.
 */
export async function applySettings(change: SettingsUpdate, { waitMs = 15_000, onSaved }: { waitMs?: number; onSaved?: () => void } = {}): Promise<Settings> {
  const saved = await updateSettings(change);
  onSaved?.();
  const deadline = Date.now() + waitMs;
  for (;;) {
    await new Promise((r) => setTimeout(r, 300));
    const now = await getSettings().catch(() => null);
    if (now?.reload_failure && now.reload_failure.generation >= saved.generation) throw new ApiError('invalid_settings', now.reload_failure.message, 0);
    if (now && now.generation >= saved.generation) return now;
    if (Date.now() > deadline) throw new ApiError('unavailable', 'the server did not apply the settings in time', 0);
  }
}
/**
 * Makes `image` the shop's logo (admin): the file's bytes as they are (PNG, JPEG or WebP, at most
 * 512 KiB); the server reads the type from the bytes themselves.
 */
export const uploadLogo = (image: Blob) =>
  request<LogoSaved>('/api/v1/settings/logo', { method: 'PUT', body: image, headers: { 'Content-Type': image.type || 'application/octet-stream' } });
export const removeLogo = () => request<void>('/api/v1/settings/logo', { method: 'DELETE' });
/** The shop's logo (public, for an `<img>`) at `version`: a new version is a new URL, so no stale copy is shown. */
export const logoUrl = (version: string) => `${base}/api/v1/display/logo?v=${encodeURIComponent(version)}`;

/** The tills attached to this hub as counters, newest first (revoked ones too). */
export const listCounters = () => request<CounterList>('/api/v1/counters');

/** A pairing code for a customer display (replaces any earlier one; admin). */
export const startPairing = () => request<PairingCode>('/api/v1/displays/pairing', { method: 'POST' });
/** Pairs this device with a code from the owner's screen: its display token (shown once). */
export const pairDisplay = (code: string, name: string) =>
  request<Sent<Schemas['PairedResponse']>>('/api/v1/displays/pair', json('POST', { code, name }));
export const listDisplays = () => request<Sent<Schemas['DisplayDeviceList']>>('/api/v1/displays');
export const revokeDisplay = (id: string) => request<void>(`/api/v1/displays/${encodeURIComponent(id)}`, { method: 'DELETE' });
/** Revokes a counter (admin): its key stops working at once. */
export const revokeCounter = (id: string) => request<void>(`/api/v1/counters/${encodeURIComponent(id)}`, { method: 'DELETE' });

/**
 * A single-use ticket for a merchant socket: browsers cannot send the key as a header on a
 * WebSocket, and a key must not travel in a URL, so the key buys a one-minute ticket instead.
 */
export const socketTicket = () => request<Sent<Schemas['TicketResponse']>>('/api/v1/socket-tickets', { method: 'POST' });
