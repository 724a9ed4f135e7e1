// HTTP to the embedded StablePay server: the base URL, the keys a call carries (the desktop window's
// session key, else the API key or display token kept in this browser) and `request()`, which turns
// every failure into an ApiError. Internal to this folder, bar the key accessors index.ts re-exports.
import { desktop, isDesktop } from './desktop';
import { ApiError } from './errors';

/** Same-origin by default; VITE_API_BASE points a dev build elsewhere. */
export const base = (import.meta.env.VITE_API_BASE as string | undefined)?.replace(/\/$/, '') ?? '';

const KEY_STORAGE = 'stablepay.apiKey';
const DISPLAY_TOKEN_STORAGE = 'stablepay.displayToken';
const PUSH_KEY_STORAGE = 'stablepay.pushKey';

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

/** The push key pinned when this device paired ('' = none). */
export function pinnedPushKey(): string {
  return stored(PUSH_KEY_STORAGE);
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

let desktopKey: Promise<string | null> | null = null;

/** The desktop window's key for this launch (asked once over IPC, kept in memory only), or null outside the app. */
export function sessionKey(): Promise<string | null> {
  if (!isDesktop()) return Promise.resolve(null);
  desktopKey ??= desktop<string>('session_token').catch(() => null);
  return desktopKey;
}

/** The page's language (set where the cashier picks it): the server words its errors in it. */
function pageLanguage(): string {
  return globalThis.document?.documentElement?.lang || 'en';
}

export async function request<T>(path: string, init?: RequestInit): Promise<T> {
  let response: Response;
  const key = (await sessionKey()) ?? (apiKey() || displayToken());
  try {
    response = await fetch(`${base}${path}`, {
      ...init,
      headers: {
        Accept: 'application/json',
        'Accept-Language': pageLanguage(),
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

/** A request with a JSON body. */
export const json = (method: string, body: unknown): RequestInit => ({ method, body: JSON.stringify(body) });

/** `?a=1&b=2` from the set fields of `params` ('' when none is set). */
export function query(params: object): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}
