import { flushPromises, mount } from '@vue/test-utils';
import { createPinia } from 'pinia';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Counter } from '../backend';
import { createAppI18n } from '../i18n';
import { useCountersStore } from '../stores/counters';
import { serve } from '../testing/fakes';
import DisplayPairing from './DisplayPairing.vue';

afterEach(() => {
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

const front: Counter = { id: `ctr_${'a'.repeat(24)}`, name: 'Front desk', paired_at: '2026-11-24T09:00:00Z', revoked_at: null };
const terrace: Counter = { id: `ctr_${'b'.repeat(24)}`, name: 'Terrace', paired_at: '2026-11-20T09:00:00Z', revoked_at: '2026-11-23T18:00:00Z' };
const forbidden: [number, unknown] = [403, { error: { code: 'forbidden', message: 'this key may not do that' } }];

async function pairing(routes: Parameters<typeof serve>[0]) {
  const calls = serve({ '/api/v1/displays': [200, { data: [] }], ...routes });
  const page = mount(DisplayPairing, { global: { plugins: [createPinia(), createAppI18n('en')] } });
  await flushPromises();
  return { page, calls };
}

describe('DisplayPairing counters', () => {
  it('lists the counters with their names, and marks the revoked ones without a button', async () => {
    const { page } = await pairing({ '/api/v1/counters': [200, { data: [front, terrace] }] });

    const rows = page.findAll('[data-testid=counters-list] [data-testid=counter-row]');
    expect(rows).toHaveLength(2);
    expect(rows[0].text()).toContain('Front desk');
    expect(rows[0].text()).toContain('paired');
    expect(rows[0].text()).not.toContain('revoked');
    expect(rows[0].find('[data-testid=counter-revoke]').exists()).toBe(true);
    expect(rows[1].text()).toContain('Terrace');
    expect(rows[1].text()).toContain('revoked');
    expect(rows[1].find('[data-testid=counter-revoke]').exists()).toBe(false);
  });

  it('revokes a counter with DELETE only once confirmed, then shows the list again', async () => {
    let revoked = false;
    const { page, calls } = await pairing({
      '/api/v1/counters': () => [200, { data: [revoked ? { ...front, revoked_at: '2026-11-24T12:00:00Z' } : front] }],
      [`DELETE /api/v1/counters/${front.id}`]: () => {
        revoked = true;
        return [204, null];
      },
    });
    const deletes = () => calls.filter((c) => c.init?.method === 'DELETE');

    const confirm = vi.spyOn(window, 'confirm').mockReturnValue(false);
    await page.get('[data-testid=counter-revoke]').trigger('click');
    await flushPromises();
    expect(confirm).toHaveBeenCalledWith('Revoke counter «Front desk»? Its till can no longer sell through this hub.');
    expect(deletes()).toHaveLength(0);

    confirm.mockReturnValue(true);
    await page.get('[data-testid=counter-revoke]').trigger('click');
    await flushPromises();

    expect(deletes().map((c) => c.url)).toEqual([`/api/v1/counters/${front.id}`]);
    expect(page.get('[data-testid=counter-row]').text()).toContain('revoked');
    expect(page.find('[data-testid=counter-revoke]').exists()).toBe(false);
    expect(page.find('[role=alert]').exists()).toBe(false);
    // The history and monitoring filters' copy follows.
    expect(useCountersStore().counters.map((c) => c.revoked_at)).toEqual(['2026-11-24T12:00:00Z']);
  });

  it('hides the counters list when there are no counters', async () => {
    const { page } = await pairing({ '/api/v1/counters': [200, { data: [] }] });

    expect(page.find('[data-testid=display-devices]').exists()).toBe(true);
    expect(page.find('[data-testid=counters-list]').exists()).toBe(false);
  });

  it('says a key that may not revoke counters is too narrow, with no button left', async () => {
    const { page } = await pairing({ '/api/v1/counters': [200, { data: [front] }], [`DELETE /api/v1/counters/${front.id}`]: forbidden });
    vi.spyOn(window, 'confirm').mockReturnValue(true);

    await page.get('[data-testid=counter-revoke]').trigger('click');
    await flushPromises();

    expect(page.get('[data-testid=counters-forbidden]').text()).toContain('Not available to this screen');
    expect(page.find('[data-testid=counter-revoke]').exists()).toBe(false);
    expect(page.find('[role=alert]').exists()).toBe(false);
  });

  it('says the pairing code also attaches a till as a counter of this hub', async () => {
    const { page } = await pairing({
      '/api/v1/counters': [200, { data: [] }],
      'POST /api/v1/displays/pairing': [
        201,
        { code: '123456', expires_at: new Date(Date.now() + 120_000).toISOString(), pair_url: 'https://192.168.1.5:8443/#/pair', qr_svg: '<svg xmlns="http://www.w3.org/2000/svg"/>' },
      ],
    });

    await page.get('[data-testid=pair-display]').trigger('click');
    await flushPromises();

    expect(page.get('[data-testid=pairing-code]').text()).toBe('123456');
    expect(page.get('[data-testid=pairing-counter-hint]').text()).toBe('This code also attaches a till to this hub as a counter (on the till: Settings → Counter of a hub).');
  });
});
