// The desktop shell (Tauri): whether this window runs inside the StablePay app, its IPC commands and
// the calls only the app answers. The only module that imports @tauri-apps/*.
import { ApiError } from './errors';
import type { MonitorInfo, ShellSettings } from './types';

/** Running inside the StablePay desktop app (its IPC is available for the server's origin). */
export function isDesktop(): boolean {
  return typeof window !== 'undefined' && '__TAURI_INTERNALS__' in window;
}

/** Runs an IPC command of the app; its failure becomes an ApiError `desktop_error`. (Internal to this folder.) */
export async function desktop<T>(command: string, args?: Record<string, unknown>): Promise<T> {
  const { invoke } = await import('@tauri-apps/api/core');
  try {
    return await invoke<T>(command, args);
  } catch (e) {
    throw new ApiError('desktop_error', String(e), 0);
  }
}

/** Opens the customer display: a fullscreen window on `monitor` in the app, a new tab in a browser. */
export async function openCustomerDisplay(monitor?: number): Promise<void> {
  if (isDesktop()) return desktop('open_customer_display', { monitor: monitor ?? null });
  window.open('#/display', '_blank', 'noopener');
}

export const listMonitors = () => desktop<MonitorInfo[]>('list_monitors');
export const getShellSettings = () => desktop<ShellSettings>('get_shell_settings');
/** Saves; answers whether the app restarts to apply them. */
export const saveShellSettings = (settings: ShellSettings) => desktop<boolean>('save_shell_settings', { settings });
/** The app remembers the last sale's token and network in its settings store. */
export const rememberSaleChoice = (token: string, network: string) =>
  desktop<void>('remember_sale_choice', { token, network: network || null });
/**
 * Pairs the app with the hub at `url` as the counter `name` (`code`: a pairing code from the hub's
 * Settings). On success the app restarts on the hub (terminal mode); the error is the hub's own
 * message (a wrong or expired code) or says the hub cannot be reached.
 */
export const attachToHub = (url: string, code: string, name: string) => desktop<void>('attach_to_hub', { url, code, name });
/** Forgets the hub; the app restarts on its own server. */
export const detachFromHub = () => desktop<void>('detach_from_hub');
