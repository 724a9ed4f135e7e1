import { mount } from '@vue/test-utils';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Settings } from '../backend';
import { createAppI18n } from '../i18n';
import { serve } from '../testing/fakes';
import PricingSettingsForm from './PricingSettingsForm.vue';

afterEach(() => vi.unstubAllGlobals());

const settings = (pricing: Partial<Settings['pricing']> = {}, generation = 0) =>
  ({ generation, reload_failure: null, tip_choices: [], pricing: { currency: 'USD', source: 'fixed', rate: '1', markup_percent: '0', refresh_seconds: 60, max_age_seconds: 600, ...pricing } }) as unknown as Settings;

describe('PricingSettingsForm', () => {
  it('sets the shop currency and its fixed rate, a comma decimal read as a point, and waits until applied', async () => {
    let current = settings();
    const calls = serve({
      'PATCH /api/v1/settings': () => {
        current = settings({ currency: 'CNY', rate: '7.10' }, 1);
        return [200, { changed: ['pricing.currency', 'pricing.rate'], config_file: 'f', applied: 'reloading', generation: 1 }];
      },
      '/api/v1/settings': () => [200, current],
    });
    const form = mount(PricingSettingsForm, { props: { settings: settings() }, global: { plugins: [createAppI18n('en')] } });
    await form.get('[data-testid=set-currency]').setValue('cny');
    await form.get('[data-testid=set-rate]').setValue('7,10');
    await form.get('form').trigger('submit');
    await vi.waitFor(() => expect(form.find('[data-testid=pricing-applied]').exists()).toBe(true), { timeout: 3000 });
    const patch = calls.find((c) => c.init?.method === 'PATCH');
    expect(JSON.parse(String(patch?.init?.body))).toEqual({ pricing: { currency: 'CNY', rate: '7.10' } });
  });

  it('sets the tip choices the customer display offers', async () => {
    const calls = serve({
      'PATCH /api/v1/settings': [200, { changed: ['tips.choices'], config_file: 'f', applied: 'reloading', generation: 1 }],
      '/api/v1/settings': [200, { ...settings({}, 1), tip_choices: [10, 15] }],
    });
    const form = mount(PricingSettingsForm, { props: { settings: settings() }, global: { plugins: [createAppI18n('en')] } });
    await form.get('[data-testid=set-tips]').setValue('10, 15');
    await form.get('form').trigger('submit');
    await vi.waitFor(() => expect(form.find('[data-testid=pricing-applied]').exists()).toBe(true), { timeout: 3000 });
    expect(JSON.parse(String(calls.find((c) => c.init?.method === 'PATCH')?.init?.body))).toEqual({ tip_choices: [10, 15] });
    expect(form.emitted('saved')).toHaveLength(1);
  });

  it('offers the markup instead of a rate for a live source, and shows a refusal in words', async () => {
    serve({ 'PATCH /api/v1/settings': [422, { error: { code: 'invalid_settings', message: 'pricing.markup_percent: must be a percentage from 0 to 50' } }] });
    const form = mount(PricingSettingsForm, { props: { settings: settings() }, global: { plugins: [createAppI18n('en')] } });
    await form.get('[data-testid=set-source-coingecko]').setValue(true);
    expect(form.find('[data-testid=set-rate]').exists()).toBe(false);
    await form.get('[data-testid=set-markup]').setValue('60');
    await form.get('form').trigger('submit');
    await vi.waitFor(() => expect(form.find('[role=alert]').text()).toContain('pricing.markup_percent'));
  });
});
