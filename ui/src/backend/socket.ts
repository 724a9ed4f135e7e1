// The client side of the server's sockets (/ws/payments/{id}, /ws/display), in one place: reconnects
// with back-off, the ping/pong heartbeat and the half-open watchdog. Only ./live.ts uses it; what a
// message means (and whether it can be trusted) stays with the caller.
import type { LinkState } from './types';

/** The first reconnect waits this long; each failed attempt after it doubles the wait… */
export const RETRY_FIRST_MS = 500;
/** …up to this. */
export const RETRY_MAX_MS = 10_000;
/**
 * The server pings every 30 s, so a socket that has heard nothing at all for this long is half-open
 * (the peer vanished without a close: Wi-Fi dropped, laptop slept): it is closed and opened again.
 */
export const SILENCE_MS = 75_000;

/** How long to wait before the next attempt after `failures` (≥ 1) attempts in a row failed. */
export function retryDelay(failures: number): number {
  return Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** (failures - 1));
}

export interface SocketLink {
  /**
   * The URL for the next attempt, asked afresh each time (a merchant socket needs a new single-use
   * ticket per attempt). Throwing counts as a failed attempt; `null` stops for good (the caller
   * reports why).
   */
  url(): Promise<string | null>;
  /** Each message as it arrived (`text`, for a signature check) and parsed (`undefined` when not JSON). */
  message(text: string, parsed: unknown): void;
  /**
   * `connecting` on the first attempt, `live` once a connection delivers its first message, `waiting`
   * whenever the link is down until the next connection speaks, `closed` after `close()`.
   */
  state(state: LinkState): void;
  /** The state reported while the link is down. */
  waiting: LinkState;
}

/** Keeps a socket open until `close()`: reconnects, answers pings, and replaces a silent socket.
 *  `reconnect()` drops the current socket (or the wait before the next attempt) and connects now. */
export function keepSocket(link: SocketLink): { close(): void; reconnect(): void } {
  let socket: WebSocket | null = null;
  let stopped = false;
  let failures = 0;
  let retry: ReturnType<typeof setTimeout> | null = null;
  let watchdog: ReturnType<typeof setTimeout> | null = null;

  const detach = () => {
    if (watchdog) clearTimeout(watchdog);
    watchdog = null;
    if (!socket) return;
    socket.onmessage = null;
    socket.onclose = null;
    socket.close();
    socket = null;
  };

  const down = () => {
    detach();
    if (stopped) return;
    failures += 1;
    link.state(link.waiting);
    retry = setTimeout(() => void connect(), retryDelay(failures));
  };

  const listen = () => {
    if (watchdog) clearTimeout(watchdog);
    watchdog = setTimeout(down, SILENCE_MS);
  };

  const connect = async () => {
    retry = null;
    let url: string | null;
    try {
      url = await link.url();
    } catch {
      return down();
    }
    if (stopped || url === null) return;
    const opened = new WebSocket(url);
    socket = opened;
    let heard = false;
    listen();
    opened.onmessage = (event: MessageEvent) => {
      listen();
      const text = String(event.data);
      let parsed: unknown = undefined;
      try {
        parsed = JSON.parse(text);
      } catch {
        /* not JSON: the caller still gets the text */
      }
      if (!heard) {
        heard = true;
        failures = 0;
        link.state('live');
      }
      if ((parsed as { type?: unknown } | undefined)?.type === 'ping') opened.send(JSON.stringify({ type: 'pong' }));
      link.message(text, parsed);
    };
    opened.onclose = down;
  };

  link.state('connecting');
  void connect();
  return {
    close() {
      stopped = true;
      if (retry) clearTimeout(retry);
      retry = null;
      detach();
      link.state('closed');
    },
    reconnect() {
      if (stopped) return;
      if (retry) clearTimeout(retry);
      retry = null;
      detach();
      failures = 0;
      link.state('connecting');
      void connect();
    },
  };
}
