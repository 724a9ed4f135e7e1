// The one place the UI talks to the outside: the embedded StablePay server over HTTP (and later
// WebSocket). Same-origin by default, so the same build works in the Tauri window, in a browser on
// the LAN and under Playwright; VITE_API_BASE points a dev build elsewhere.

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
}

export interface Network {
  id: string;
  name: string;
  chain_id: number;
  explorer_url: string;
}

const base = (import.meta.env.VITE_API_BASE as string | undefined)?.replace(/\/$/, '') ?? '';

async function request<T>(path: string, init?: RequestInit): Promise<T> {
  let response: Response;
  try {
    response = await fetch(`${base}${path}`, {
      ...init,
      headers: { Accept: 'application/json', ...(init?.body ? { 'Content-Type': 'application/json' } : {}), ...init?.headers },
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
