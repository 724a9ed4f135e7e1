import { flushPromises, mount } from '@vue/test-utils';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createAppI18n } from '../i18n';
import { FakeSocket, fakeSockets, payment } from '../testing/fakes';
import DisplayPage from './DisplayPage.vue';

beforeEach(() => fakeSockets());
afterEach(() => vi.unstubAllGlobals());

describe('DisplayPage', () => {
  it('goes from idle to the payment to success as the display channel says', async () => {
    const page = mount(DisplayPage, { global: { plugins: [createAppI18n('en')] } });
    const socket = FakeSocket.latest();
    expect(socket.url).toContain('/ws/display');

    socket.push({ type: 'display_update', data: { mode: 'idle', payment: null, shop_name: 'Corner Café', updated_at: '' } });
    await flushPromises();
    expect(page.text()).toContain('Welcome to Corner Café');

    socket.push({ type: 'display_update', data: { mode: 'payment', payment: payment(), shop_name: 'Corner Café', updated_at: '' } });
    await flushPromises();
    expect(page.find('[data-testid=display-amount]').text()).toBe('10.01 USDT');
    expect(page.find('img').attributes('src')).toContain('/qr.svg');

    socket.push({ type: 'display_update', data: { mode: 'success', payment: payment({ status: 'paid' }), shop_name: 'Corner Café', updated_at: '' } });
    await flushPromises();
    expect(page.find('[data-testid=display-success]').text()).toBe('Payment received');
    expect(page.find('[data-testid=display]').attributes('data-mode')).toBe('success');
  });
});
