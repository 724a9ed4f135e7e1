import { flushPromises, mount } from '@vue/test-utils';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ShellSettings } from '../backend';
import { createAppI18n } from '../i18n';
import { fakeShell, unfakeShell } from '../testing/fakes';
import ShellSettingsForm from './ShellSettingsForm.vue';

afterEach(() => {
  unfakeShell();
  vi.restoreAllMocks();
});

/** Until `check` passes: the IPC module is imported on first use, which takes more than a tick. */
const until = (check: () => void) => vi.waitFor(check, { timeout: 2000, interval: 5 });

const local: ShellSettings = { server_bind: null, lan: false, language: 'en', display_monitor: null, hub: null };
const attached: ShellSettings = { ...local, hub: { url: 'https://hub.shop.lan', counter_id: `ctr_${'d'.repeat(24)}`, counter_name: 'Front desk' } };

async function form(commands: Record<string, unknown>, advanced = true) {
  const calls = fakeShell({ list_monitors: [], ...commands });
  const page = mount(ShellSettingsForm, { props: { advanced }, global: { plugins: [createAppI18n('en')] } });
  await until(() => expect(page.find('[data-testid=shell-settings]').exists()).toBe(true));
  return { page, calls };
}

async function attach(page: Awaited<ReturnType<typeof form>>['page'], code: string) {
  await page.get('[data-testid=hub-url]').setValue(' https://hub.shop.lan ');
  await page.get('[data-testid=hub-code]').setValue(code);
  await page.get('[data-testid=hub-name]').setValue('Front desk');
  await page.get('[data-testid=hub-form]').trigger('submit');
}

describe('ShellSettingsForm', () => {
  it('attaches this till to the hub with the address, code and name typed, and says the app restarts', async () => {
    const { page, calls } = await form({ get_shell_settings: local, attach_to_hub: null });
    expect(page.get('[data-testid=hub]').text()).toContain("its sales go to the hub, and this till's own server stops being used");
    expect(page.find('[data-testid=shell-bind]').exists()).toBe(true);
    expect(page.find('[data-testid=shell-lan]').exists()).toBe(true);

    await attach(page, '123456');
    await until(() => expect(page.find('[data-testid=hub-restarting]').exists()).toBe(true));

    expect(calls.find((c) => c.command === 'attach_to_hub')?.args).toEqual({ url: 'https://hub.shop.lan', code: '123456', name: 'Front desk' });
    expect(page.emitted('restarting')).toHaveLength(1);
    expect(page.find('[role=alert]').exists()).toBe(false);
  });

  it("shows the hub's own words when it refuses the pairing, and keeps the form", async () => {
    const refuse = () => {
      throw 'That pairing code is wrong or has expired.';
    };
    const { page } = await form({ get_shell_settings: local, attach_to_hub: refuse });

    await attach(page, '000000');
    await until(() => expect(page.find('[data-testid=hub] [role=alert]').exists()).toBe(true));

    expect(page.get('[data-testid=hub] [role=alert]').text()).toContain('That pairing code is wrong or has expired.');
    expect(page.find('[data-testid=hub-form]').exists()).toBe(true);
    expect(page.find('[data-testid=hub-restarting]').exists()).toBe(false);
  });

  it('shows which counter of which hub this till is, and detaches only once confirmed', async () => {
    const { page, calls } = await form({ get_shell_settings: attached, detach_from_hub: null });
    expect(page.get('[data-testid=hub-linked]').text()).toBe('This till is counter «Front desk» of the hub https://hub.shop.lan.');
    expect(page.find('[data-testid=hub-form]').exists()).toBe(false);
    // This till's own server is not used while attached: no address or network fields.
    expect(page.find('[data-testid=shell-bind]').exists()).toBe(false);
    expect(page.find('[data-testid=shell-lan]').exists()).toBe(false);
    expect(page.find('[data-testid=shell-monitor]').exists()).toBe(true);

    const confirm = vi.spyOn(window, 'confirm').mockReturnValue(false);
    await page.get('[data-testid=hub-detach]').trigger('click');
    await flushPromises();
    expect(confirm).toHaveBeenCalledOnce();
    expect(calls.some((c) => c.command === 'detach_from_hub')).toBe(false);

    confirm.mockReturnValue(true);
    await page.get('[data-testid=hub-detach]').trigger('click');
    await until(() => expect(page.find('[data-testid=hub-restarting]').exists()).toBe(true));
    expect(calls.some((c) => c.command === 'detach_from_hub')).toBe(true);
    expect(page.emitted('restarting')).toHaveLength(1);
  });

  it('has no hub section in the first-run setup', async () => {
    const { page } = await form({ get_shell_settings: local }, false);
    expect(page.find('[data-testid=hub]').exists()).toBe(false);
  });
});
