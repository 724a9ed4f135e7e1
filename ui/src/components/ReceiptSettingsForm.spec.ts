import { mount } from '@vue/test-utils';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Settings } from '../backend';
import { createAppI18n } from '../i18n';
import { serve } from '../testing/fakes';
import ReceiptSettingsForm from './ReceiptSettingsForm.vue';

afterEach(() => vi.unstubAllGlobals());

const settings = (receipts: Partial<Settings['receipts']> = {}, generation = 0) =>
  ({ generation, reload_failure: null, receipts: { printer: '', auto_print: false, address: [], footer: 'Thank you!', ...receipts } }) as unknown as Settings;

describe('ReceiptSettingsForm', () => {
  it('sets the printer, printing by itself and the address lines, and waits until applied', async () => {
    let current = settings();
    const calls = serve({
      'PATCH /api/v1/settings': () => {
        current = settings({ printer: '192.168.1.50:9100', auto_print: true, address: ['1 Harbour Road'] }, 1);
        return [200, { changed: ['receipts.printer'], config_file: 'f', applied: 'reloading', generation: 1 }];
      },
      '/api/v1/settings': () => [200, current],
    });
    const form = mount(ReceiptSettingsForm, { props: { settings: settings() }, global: { plugins: [createAppI18n('en')] } });
    await form.get('[data-testid=set-printer]').setValue('192.168.1.50');
    await form.get('[data-testid=set-auto-print]').setValue(true);
    await form.get('[data-testid=set-receipt-address]').setValue('1 Harbour Road\n\n');
    await form.get('form').trigger('submit');
    await vi.waitFor(() => expect(form.find('[data-testid=receipts-applied]').exists()).toBe(true), { timeout: 3000 });
    const patch = calls.find((c) => c.init?.method === 'PATCH');
    expect(JSON.parse(String(patch?.init?.body))).toEqual({ receipts: { address: ['1 Harbour Road'], printer: '192.168.1.50', auto_print: true } });
  });
});
