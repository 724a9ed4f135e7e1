// Live links to the server's sockets: a payment (/ws/payments/{id}, with a polling fallback) and the
// customer display (/ws/display, signed messages only), kept open by ./socket.ts and checked by
// ./signing.ts against the push key.
import { getPayment, socketTicket } from './api';
import { desktop, isDesktop } from './desktop';
import { ApiError } from './errors';
import { base, displayToken, pinnedPushKey, request, setDisplayToken } from './http';
import { verified } from './signing';
import { keepSocket } from './socket';
import type { DisplayState, LinkState, Live, Payment, Schemas, Sent } from './types';

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
  if (displayToken()) return pinnedPushKey() || null;
  try {
    return (await request<Sent<Schemas['PushKeyResponse']>>('/api/v1/push-key')).public_key;
  } catch {
    return null;
  }
}

/** ws:// or wss:// URL of a server socket path, on the same origin as the API, with `params` set. */
export function socketUrl(path: string, ticket?: string, params: Record<string, string | undefined> = {}): string {
  const origin = base || globalThis.location?.origin || 'http://localhost';
  const url = new URL(path, origin.endsWith('/') ? origin : `${origin}/`);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  if (ticket) url.searchParams.set('ticket', ticket);
  for (const [k, v] of Object.entries(params)) if (v) url.searchParams.set(k, v);
  return url.toString();
}

/**
 * Follows a payment live: the payment socket (`connection_ack`, then `payment_status_update`), kept
 * open by ./socket.ts; while it is down, the payment is polled every 3 s so the screen never
 * freezes. Each message carries the payment (as a customer may see it), used as is; `known` (the
 * staff view fetched first) supplies the staff-only fields. An update without a payment (an older
 * server) is refetched.
 */
export function followPayment(
  id: string,
  onValue: (p: Payment) => void,
  onState: (s: LinkState) => void = () => {},
  known: Payment | null = null,
  onError?: (code: string, message: string) => void,
): Live<Payment> {
  let closed = false;
  let poll: ReturnType<typeof setInterval> | null = null;
  const live: Live<Payment> = {
    onValue,
    onState,
    onError,
    close() {
      closed = true;
      socket.close();
    },
    reconnect() {
      socket.reconnect();
    },
  };
  let last: Payment | null = known;
  const refresh = () =>
    getPayment(id)
      .then((p) => {
        if (closed) return;
        last = p;
        live.onValue(p);
      })
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
      const message = (parsed ?? {}) as { type?: string; payment?: Payment; error?: { code?: string; message?: string } };
      if (message.type === 'error') {
        live.onError?.(message.error?.code ?? 'unknown_error', message.error?.message ?? '');
        return;
      }
      if (message.type !== 'connection_ack' && message.type !== 'payment_status_update') return;
      // The message carries the payment as a customer may see it: used as is (no refetch), with
      // the staff-only fields, which never change after creation, kept from what was known.
      if (message.payment) {
        const seen: Payment = last ? { ...message.payment, metadata: last.metadata, order_reference: last.order_reference } : message.payment;
        last = seen;
        live.onValue(seen);
      } else if (message.type === 'payment_status_update') void refresh();
    },
  });
  return live;
}

/**
 * Follows the customer display channel, kept open by ./socket.ts: the shop's, or with `counter`
 * (`ctr_…`) that counter's (a tablet standing beside one till of a hub; a counter's own key follows
 * its channel without it). Only messages signed by the server's key count (see `pushKey`); an
 * update older than the one shown (a replay) is ignored.
 *
 * While the socket is down the display says `connecting` and does not poll: `GET /api/v1/display`
 * is not signed, and this screen shows only what the server's key vouches for. A REST fallback
 * could not draw a payment's QR code, and even its idle or "payment received" screens would come
 * from an unsigned source a man in the middle could forge, so the display keeps what it last showed
 * and waits for the socket.
 */
export function followDisplay(
  onValue: (d: DisplayState) => void,
  onState: (s: LinkState) => void = () => {},
  counter?: string,
): Live<DisplayState> {
  let key = '';
  let shown = -Infinity;
  const live: Live<DisplayState> = { onValue, onState, close: () => socket.close(), reconnect: () => socket.reconnect() };
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
        return socketUrl('/ws/display', (await socketTicket()).ticket, { counter });
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
