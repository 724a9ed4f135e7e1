import { flushPromises, mount } from '@vue/test-utils';
import { createPinia } from 'pinia';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createMemoryHistory, createRouter } from 'vue-router';
import { createAppI18n } from '../i18n';
import { routes, SETUP_RESUME } from '../router';
import { serve } from '../testing/fakes';
import SetupPage from './SetupPage.vue';

beforeEach(() => localStorage.clear());
afterEach(() => vi.unstubAllGlobals());

const settings = {
  editable: true,
  merchant: { name: 'Corner Café', receive_address: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8' },
  networks: [{ id: 'bsc', rpc_endpoints: ['https://node.example'] }],
  tokens: [{ symbol: 'USDT', disabled: null }],
};

async function mountAt(path: string) {
  const router = createRouter({ history: createMemoryHistory(), routes });
  await router.push(path);
  const page = mount(SetupPage, { global: { plugins: [createPinia(), router, createAppI18n('en')] } });
  await flushPromises();
  return page;
}

describe('SetupPage', () => {
  it('opens on the customer display step when the app restarted there for LAN access, once', async () => {
    serve({ '/api/v1/settings': [200, settings], '/api/v1/displays': [200, { data: [] }] });
    localStorage.setItem(SETUP_RESUME, 'display');
    const page = await mountAt('/setup');

    expect(page.find('[data-testid=setup-display]').exists()).toBe(true);
    expect(localStorage.getItem(SETUP_RESUME)).toBeNull();
    const again = await mountAt('/setup');
    expect(again.find('[data-testid=setup-display]').exists()).toBe(false);
  });

  it('pairs a tablet from the display step in a browser, then goes on to the test sale', async () => {
    serve({
      '/api/v1/settings': [200, settings],
      '/api/v1/displays': [200, { data: [] }],
      'POST /api/v1/displays/pairing': [201, { code: 'K7Q2-9XDM', expires_at: new Date(Date.now() + 300_000).toISOString(), pair_url: 'http://192.168.1.20:8080/#/display?pair=1', qr_svg: '<svg/>' }],
    });
    const page = await mountAt('/setup?step=display');

    expect(page.find('[data-testid=shell-settings]').exists()).toBe(false);
    expect(page.text()).toContain('server.bind');
    await page.get('[data-testid=pair-display]').trigger('click');
    await flushPromises();
    expect(page.get('[data-testid=pairing-code]').text()).toBe('K7Q2-9XDM');

    await page.get('[data-testid=setup-display-next]').trigger('click');
    expect(page.get('[data-testid=setup-done]').text()).toContain('Corner Café is ready');
  });
});
