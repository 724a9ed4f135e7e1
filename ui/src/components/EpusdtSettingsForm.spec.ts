import { mount } from '@vue/test-utils';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Settings } from '../backend';
import { createAppI18n } from '../i18n';
import { serve } from '../testing/fakes';
import EpusdtSettingsForm from './EpusdtSettingsForm.vue';

afterEach(() => vi.unstubAllGlobals());

const settings = (epusdt: Partial<Settings['epusdt']> = {}, generation = 0) =>
  ({
    generation,
    reload_failure: null,
    server: { public_url: 'https://pay.example.com' },
    epusdt: { enabled: false, redirect_hosts: [], trade_types: ['usdc.bep20', 'usdt.bep20'], ...epusdt },
  }) as unknown as Settings;

describe('EpusdtSettingsForm', () => {
  it('turns the protocol on with a fresh token shown once to copy, and the hosts to return to', async () => {
    let current = settings();
    const calls = serve({
      'PATCH /api/v1/settings': () => {
        current = settings({ enabled: true, redirect_hosts: ['shop.example.com'] }, 1);
        return [200, { changed: ['compat.epusdt.token'], config_file: 'f', applied: 'reloading', generation: 1 }];
      },
      '/api/v1/settings': () => [200, current],
    });
    const form = mount(EpusdtSettingsForm, { props: { settings: settings() }, global: { plugins: [createAppI18n('en')] } });
    expect(form.get('[data-testid=epusdt-trade-types]').text()).toBe('usdc.bep20, usdt.bep20');
    await form.get('[data-testid=set-epusdt-hosts]').setValue('shop.example.com\n');
    await form.get('[data-testid=epusdt-turn-on]').trigger('click');
    await vi.waitFor(() => expect(form.find('[data-testid=epusdt-applied]').exists()).toBe(true), { timeout: 3000 });
    const body = JSON.parse(String(calls.find((c) => c.init?.method === 'PATCH')?.init?.body));
    expect(body.epusdt.redirect_hosts).toEqual(['shop.example.com']);
    expect(body.epusdt.token).toMatch(/^[0-9a-f]{48}$/);
    await form.setProps({ settings: current });
    expect(form.get('[data-testid=epusdt-token]').text()).toContain(body.epusdt.token);
    expect(form.text()).toContain('https://pay.example.com');
  });
});
