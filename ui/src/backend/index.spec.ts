import { afterEach, describe, expect, it, vi } from 'vitest';
import { saveLocale } from '../i18n';
import { ApiError, health, listTokens } from './index';

function respond(status: number, body: unknown) {
  vi.stubGlobal('fetch', vi.fn(async () => new Response(typeof body === 'string' ? body : JSON.stringify(body), { status })));
}

afterEach(() => vi.unstubAllGlobals());

describe('backend', () => {
  it('returns the parsed body of a successful call', async () => {
    respond(200, [{ symbol: 'USDT', name: 'Tether USD', network: 'bsc', contract_address: '0x55d3', decimals: 18, legacy: false, disabled: null }]);

    const tokens = await listTokens();

    expect(tokens[0]?.symbol).toBe('USDT');
    expect(vi.mocked(fetch).mock.calls[0]?.[0]).toBe('/api/v1/tokens');
  });

  it('turns an API error body into an ApiError with its stable code', async () => {
    respond(422, { error: { code: 'unknown_token', message: 'unknown token DOGE on network bsc' } });

    const error = await listTokens().catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ code: 'unknown_token', status: 422 });
  });

  it('asks the server to word its errors in the language the cashier chose', async () => {
    respond(200, []);
    saveLocale('zh-CN');
    await listTokens();
    saveLocale('en');
    await listTokens();

    const sent = vi.mocked(fetch).mock.calls.map((c) => (c[1]?.headers as Record<string, string>)['Accept-Language']);
    expect(sent).toEqual(['zh-CN', 'en']);
  });

  it('reports an unreachable server as network_error', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => { throw new TypeError('fetch failed'); }));

    await expect(listTokens()).rejects.toMatchObject({ code: 'network_error', status: 0 });
  });

  it('reports a non-JSON answer without crashing', async () => {
    respond(502, '<html>bad gateway</html>');

    await expect(listTokens()).rejects.toMatchObject({ code: 'http_error', status: 502 });
  });

  it('reads an unhealthy server as a health report, not an error', async () => {
    respond(503, { status: 'unavailable', database: 'error', version: '0.1.0', uptime_seconds: 3 });

    const report = await health();

    expect(report.status).toBe('unavailable');
  });
});
