// The UI's types: the API's, as aliases over ./api.gen.ts, and the UI-only ones (links, the history
// filter, the desktop shell). Imports nothing but the generated types.
import type { components } from './api.gen';

// The API's: aliases onto the types generated from the server's OpenAPI document (`npm run
// api:types`), so a DTO changed in Rust breaks the type check here instead of drifting. Where the
// document says less than the UI relies on (a documented set of strings typed as `string`), the UI's
// narrower type is an explicit override below; `Narrowed` refuses one that does not fit the
// generated field, so an override cannot silently contradict the server.

export type Schemas = components['schemas'];

/**
 * A response as the server sends it: serde writes `None` as `null`, so every field is present, but
 * utoipa marks each `Option` field as not required, which the generator turns into `field?: T | null`.
 * (`LoggedMessage` does without it: the server leaves its `paymentId` out instead.)
 */
export type Sent<T> = T extends readonly (infer U)[] ? Sent<U>[] : T extends object ? { -readonly [K in keyof T]-?: Sent<T[K]> } : T;

/** `T` with the fields in `N` replaced by the UI's narrower types (each must fit the generated one). */
export type Narrowed<T, N extends { [K in keyof N]: K extends keyof T ? T[K] : never }> = Omit<T, keyof N> & N;

export type Health = Narrowed<
  Sent<Schemas['Health']>,
  {
    status: 'ok' | 'unavailable';
    database: 'ok' | 'error';
  }
>;

export type Token = Sent<Schemas['TokenResponse']>;

export type Network = Sent<Schemas['NetworkResponse']>;
/** Why payments are not being seen on a network (see the server's `watching` module). */
export type BlindReason = 'disabled' | 'starting' | 'no_node' | 'logs_refused' | 'behind';
export type NetworkWatch = Narrowed<Sent<Schemas['NetworkWatchView']>, { reason: BlindReason | null }>;
export type ChainStatus = Omit<Sent<Schemas['ChainStatusResponse']>, 'networks'> & { networks: NetworkWatch[] };

/** `partially_refunded` and `refunded` follow `paid`, as confirmed refunds give money back. */
export type PaymentStatus = 'pending' | 'confirming' | 'paid' | 'partially_refunded' | 'refunded' | 'expired' | 'cancelled' | 'failed';

export type Payment = Narrowed<
  Sent<Schemas['PaymentResponse']>,
  {
    status: PaymentStatus;
    amount_match: 'exact' | 'underpaid' | 'overpaid' | null;
  }
>;

export type PaymentPage = Narrowed<Sent<Schemas['PaymentPage']>, { payments: Payment[] }>;

/** A request body: its optional fields are really optional, so no `Sent`. */
export type CreatePayment = Schemas['CreatePaymentRequest'];

/** `awaiting`: to be sent from the shop's wallet; `confirming`: its transfer was seen. */
export type RefundStatus = 'awaiting' | 'confirming' | 'confirmed' | 'cancelled';
/** A refund, sent by the shop's own wallet (the app holds no keys) and matched on chain. */
export type Refund = Narrowed<Sent<Schemas['RefundResponse']>, { status: RefundStatus }>;
/** `GET /api/v1/payments/{id}/refunds`: the payer, what may still be refunded, the refunds (oldest first). */
export type RefundsView = Narrowed<Sent<Schemas['RefundsResponse']>, { refunds: Refund[] }>;
/** `GET /api/v1/payments/{id}/checkout`: the hosted checkout's shop name and where to go once paid. */
export type Checkout = Sent<Schemas['CheckoutResponse']>;
/** `POST /api/v1/payments/{id}/refunds`: every field may be left out (all that is left, to the payer). */
export type CreateRefund = Schemas['CreateRefundRequest'];

/** Where the shop's rates come from (see the server's `pricing` module). */
export type RateSource = 'fixed' | 'coingecko' | 'coinbase';
/** One token's rate: shop-currency units per token unit, and whether it is too old to sell at. */
export type TokenRate = Sent<Schemas['RateView']>;
/** `GET /api/v1/pricing`: the shop's currency, where its rates come from, the markup, each token's rate. */
export type Pricing = Narrowed<Sent<Schemas['PricingResponse']>, { source: RateSource }>;

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
/** `PATCH /api/v1/settings`: what the owner changes (absent fields stay as they are). */
export type SettingsUpdate = Schemas['SettingsUpdate'];
export type SettingsSaved = Sent<Schemas['SettingsSaved']>;
export type LogoSaved = Sent<Schemas['LogoSaved']>;
export type EndpointTestResult = Sent<Schemas['EndpointTestResult']>;
export type TrendSample = Sent<Schemas['TrendSampleView']>;

export type PairingCode = Sent<Schemas['PairingResponse']>;

export type DisplayDevice = Sent<Schemas['DisplayDeviceResponse']>;

/** A till attached to this hub as a counter (issue 21). */
export type Counter = Sent<Schemas['CounterResponse']>;
/** `GET /api/v1/counters`: newest first, revoked ones included. */
export type CounterList = Sent<Schemas['CounterList']>;

// --- UI-only -----------------------------------------------------------------------------------

/**
 * `unpaired`: the server refused this device (no key, or a revoked display token);
 * `untrusted`: a message arrived that is not signed by the server's key (someone between this
 * screen and the server changed it) — nothing from it is shown.
 */
export type LinkState = 'connecting' | 'live' | 'polling' | 'closed' | 'unpaired' | 'untrusted';

export interface Live<T> {
  /** Stops the socket, its reconnects and the polling fallback. */
  close(): void;
  /** Connects again now (the cashier's "Reconnect"), without waiting for the back-off. */
  reconnect(): void;
  /** Called with an `error` message's code and words (e.g. the payment does not exist). */
  onError?: (code: string, message: string) => void;
  /** Called with each new value. */
  onValue: (value: T) => void;
  /** Called when the link changes state. */
  onState: (state: LinkState) => void;
}

/** The history's query string (UI-only: the document describes it as separate parameters). */
export interface PaymentFilter {
  status?: string;
  token?: string;
  network?: string;
  /** Only the sales of this counter (`ctr_…`). */
  counter?: string;
  from?: string;
  to?: string;
  limit?: number;
  cursor?: string;
}

// The desktop shell's own (Tauri) types: see ./desktop.ts.

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
  /** The hub this app is a counter of (terminal mode), or null: the app's own server. Read-only: saving ignores it. */
  hub: HubLink | null;
}

/** The desktop app attached to a hub as one of its counters (its key never leaves the app). */
export interface HubLink {
  /** The hub's origin, e.g. `https://hub.shop.lan`. */
  url: string;
  /** `ctr_…` */
  counter_id: string;
  counter_name: string;
}

/** The day's (or a shift's) close: `GET /api/v1/reports/close`. */
export type CloseReport = Sent<Schemas['CloseResponse']>;

/** A paid (or refunded) sale's receipt, with its confirmed refunds: `GET /api/v1/payments/{id}/receipt`. */
export type Receipt = Sent<Schemas['ReceiptResponse']>;
