import { flushPromises, mount } from '@vue/test-utils';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createAppI18n } from '../i18n';
import { FakeSocket, fakeSockets, payment, serve } from '../testing/fakes';
import DisplayPage from './DisplayPage.vue';

beforeEach(() => fakeSockets());
afterEach(() => vi.unstubAllGlobals());

describe('DisplayPage', () => {
  it('goes from idle to the payment to success as the display channel says', async () => {
    const calls = serve({ 'POST /api/v1/socket-tickets': [201, { ticket: 't-123', expires_in: 60 }] });
    const page = mount(DisplayPage, { global: { plugins: [createAppI18n('en')] } });
    await flushPromises();
    const socket = FakeSocket.latest();
    expect(socket.url).toContain('/ws/display?ticket=t-123');
    expect(socket.url).not.toContain('api_key');
    expect(calls.some((c) => c.url.endsWith('/api/v1/socket-tickets'))).toBe(true);

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
