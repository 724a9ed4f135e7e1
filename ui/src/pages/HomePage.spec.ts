import { flushPromises, mount } from '@vue/test-utils';
import { createPinia } from 'pinia';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createAppI18n } from '../i18n';
import HomePage from './HomePage.vue';

const tokens = [
  { symbol: 'USDT', name: 'Tether USD', network: 'bsc', contract_address: '0x55d398326f99059fF775485246999027B3197955', decimals: 18, legacy: false },
  { symbol: 'BUSD', name: 'Binance USD', network: 'bsc', contract_address: '0xe9e7CEA3DedcA5984780Bafc599bD69ADd087D56', decimals: 18, legacy: true },
];

function serve(routes: Record<string, [number, unknown]>) {
  vi.stubGlobal('fetch', vi.fn(async (url: string) => {
    const [status, body] = routes[url] ?? [404, { error: { code: 'not_found', message: 'no' } }];
    return new Response(JSON.stringify(body), { status });
  }));
}

afterEach(() => vi.unstubAllGlobals());

describe('HomePage', () => {
  it('shows server health and the accepted tokens, marking legacy ones', async () => {
    serve({
      '/health': [200, { status: 'ok', database: 'ok', version: '0.1.0', uptime_seconds: 5 }],
      '/api/v1/tokens': [200, tokens],
      '/api/v1/networks': [200, []],
    });
    const page = mount(HomePage, { global: { plugins: [createPinia(), createAppI18n('en')] } });
    await flushPromises();

    expect(page.text()).toContain('Running');
    expect(page.findAll('.tokens li')).toHaveLength(2);
    expect(page.find('.legacy').text()).toContain('BUSD');
    expect(page.find('.legacy').text()).toContain('legacy');
  });

  it('explains an unreachable server in Chinese, with a retry button', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => { throw new TypeError('fetch failed'); }));
    const page = mount(HomePage, { global: { plugins: [createPinia(), createAppI18n('zh-CN')] } });
    await flushPromises();

    expect(page.find('[role="alert"]').text()).toContain('无法连接');
    expect(page.find('button').exists()).toBe(true);
  });
});
