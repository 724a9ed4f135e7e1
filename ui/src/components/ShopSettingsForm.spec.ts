import { flushPromises, mount } from '@vue/test-utils';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Settings } from '../backend';
import { createAppI18n } from '../i18n';
import { serve } from '../testing/fakes';
import ShopSettingsForm from './ShopSettingsForm.vue';

afterEach(() => vi.unstubAllGlobals());

function settings(over: Partial<Settings['payments']> = {}): Settings {
  return {
    merchant: { name: 'Corner', receive_address: '0x8AC76a51cc950d9822D68b83fE1Ad97B32Cd580d', logo_version: null },
    payments: { confirmations: 3, require_finalized: true, expiry_seconds: 900, amount_step: '0.01', max_amount: '100000', late_grace_seconds: 86400, ...over },
    server: { bind: '127.0.0.1:8080', api_keys_configured: 0, keys: [], public_url: '', cors_origins: [], tls: null, push_key: 'ab' },
    chain: { enabled: true, poll_interval_ms: 3000 },
    networks: [{ id: 'bsc', name: 'BNB Smart Chain', chain_id: 56, rpc_endpoints: ['https://bsc-rpc.publicnode.com'], ws_endpoints: [], explorer_url: '' }],
    tokens: [
      { symbol: 'USDT', name: 'Tether USD', network: 'bsc', contract_address: '0x55d3', decimals: 18, legacy: false, disabled: null },
      { symbol: 'USDC', name: 'USD Coin', network: 'bsc', contract_address: '0x8AC7', decimals: 18, legacy: false, disabled: null },
    ],
    known_tokens: ['USDT', 'USDC', 'BUSD', 'FDUSD'],
    pricing: { currency: 'USD', source: 'fixed', rate: '1', markup_percent: '0', max_age_seconds: 3600, refresh_seconds: 60 },
    receipts: { printer: '', auto_print: false, address: [], footer: 'Thank you!' },
    tip_choices: [],
    epusdt: { enabled: false, redirect_hosts: [], trade_types: ["usdt.bep20"] },
    alerts: { min_success_rate: 80, max_error_rate: 5, max_api_p95_ms: 1000, max_push_latency_ms: 10000, max_blocks_behind: 20 },
    editable: true,
    config_file: '/home/shop/.local/share/stablepay/stablepay.toml',
    generation: 0,
    reload_failure: null,
  } as Settings;
}

describe('ShopSettingsForm', () => {
  it('sends only what changed, as a named policy, and says when the next sale uses it', async () => {
    let current = settings();
    const calls = serve({
      'PATCH /api/v1/settings': (init) => {
        const body = JSON.parse(String(init?.body));
        current = { ...settings({ confirmations: body.confirmations, require_finalized: body.require_finalized }), generation: 1 };
        return [200, { changed: ['payments.confirmations'], config_file: 'f', applied: 'reloading', generation: 1 }];
      },
      '/api/v1/settings': () => [200, current],
    });
    const form = mount(ShopSettingsForm, { props: { settings: settings() }, global: { plugins: [createAppI18n('en')] } });
    expect(form.find('[data-testid=config-file]').text()).toContain('stablepay.toml');
    await form.find('[data-testid=policy-fast]').setValue(true);
    await form.find('[data-testid=set-token-USDC]').setValue(false);
    await form.find('form').trigger('submit');
    await vi.waitFor(() => expect(form.find('[data-testid=settings-applied]').exists()).toBe(true), { timeout: 3000 });
    const patch = calls.find((c) => c.init?.method === 'PATCH');
    expect(JSON.parse(String(patch?.init?.body))).toEqual({ confirmations: 1, require_finalized: false, tokens: ['USDT'] });
    expect(form.emitted('saved')).toHaveLength(1);
  });

  it('says so when the server could not start with the saved change and stayed on the previous one', async () => {
    serve({
      'PATCH /api/v1/settings': [200, { changed: ['payments.confirmations'], config_file: 'f', applied: 'reloading', generation: 4 }],
      '/api/v1/settings': [200, { ...settings(), generation: 3, reload_failure: { generation: 4, message: 'cannot bind 0.0.0.0:80' } }],
    });
    const form = mount(ShopSettingsForm, { props: { settings: settings() }, global: { plugins: [createAppI18n('en')] } });
    await form.find('[data-testid=policy-fast]').setValue(true);
    await form.find('form').trigger('submit');
    await vi.waitFor(() => expect(form.find('[data-testid=settings-error]').text()).toContain('cannot bind 0.0.0.0:80'), { timeout: 3000 });
    expect(form.find('[data-testid=settings-applied]').exists()).toBe(false);
    expect(form.emitted('saved')).toBeUndefined();
  });

  it("shows the server's words when the settings are refused", async () => {
    serve({ 'PATCH /api/v1/settings': [422, { error: { code: 'invalid_settings', message: 'merchant.receive_address: not EIP-55' } }] });
    const form = mount(ShopSettingsForm, { props: { settings: settings() }, global: { plugins: [createAppI18n('en')] } });
    await form.find('[data-testid=set-receive-address]').setValue('0x8ac76a51cc950d9822d68b83fe1ad97b32cd580d');
    await form.find('form').trigger('submit');
    await flushPromises();
    expect(form.find('[data-testid=settings-error]').text()).toContain('not EIP-55');
  });
});
