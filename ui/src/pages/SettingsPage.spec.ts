import { flushPromises, mount } from '@vue/test-utils';
import { createPinia } from 'pinia';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createAppI18n } from '../i18n';
import { fakeShell, serve, unfakeShell } from '../testing/fakes';
import SettingsPage from './SettingsPage.vue';

afterEach(() => {
  unfakeShell();
  vi.unstubAllGlobals();
});

const forbidden: [number, unknown] = [403, { error: { code: 'forbidden', message: 'this key may not do that' } }];

describe('SettingsPage', () => {
  it("keeps the desktop app's own settings on a cashier's key, and says the shop's are not available to it", async () => {
    // A counter of a hub (terminal mode): the window's key is the counter's cashier key.
    fakeShell({
      session_token: 'tok-counter',
      list_monitors: [],
      get_shell_settings: { server_bind: null, lan: false, language: 'en', display_monitor: null, hub: { url: 'https://hub.shop.lan', counter_id: `ctr_${'e'.repeat(24)}`, counter_name: 'Front desk' } },
    });
    const calls = serve({
      '/api/v1/settings': forbidden,
      '/api/v1/webhooks': forbidden,
      '/api/v1/webhooks/deliveries': forbidden,
      '/api/v1/displays': forbidden,
    });
    const page = mount(SettingsPage, { global: { plugins: [createPinia(), createAppI18n('en')] } });
    await vi.waitFor(() => expect(page.find('[data-testid=hub-linked]').exists()).toBe(true), { timeout: 2000, interval: 5 });
    await flushPromises();

    expect(calls.map((c) => c.url)).toContain('/api/v1/settings');
    expect(calls.every((c) => (c.init?.headers as Record<string, string>).Authorization === 'Bearer tok-counter')).toBe(true);
    expect(page.find('[data-testid=shell-settings]').exists()).toBe(true);
    expect(page.get('[data-testid=hub-linked]').text()).toContain('Front desk');
    expect(page.get('[data-testid=settings-forbidden]').text()).toContain('Not available to this screen');
    expect(page.find('[data-testid=webhooks-forbidden]').exists()).toBe(true);
    expect(page.find('[data-testid=display-devices-forbidden]').exists()).toBe(true);
    expect(page.find('[data-testid=pair-display]').exists()).toBe(false);
    expect(page.find('[role=alert]').exists()).toBe(false);
  });
});
