import { flushPromises, mount } from '@vue/test-utils';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createMemoryHistory, createRouter } from 'vue-router';
import { displayToken, setDisplayToken } from '../backend';
import { createAppI18n } from '../i18n';
import { routes } from '../router';
import { FakeSocket, fakeSockets, payment, serve } from '../testing/fakes';
import DisplayPage from './DisplayPage.vue';

beforeEach(() => {
  fakeSockets();
  localStorage.clear();
});
afterEach(() => vi.unstubAllGlobals());

async function mountAt(path: string) {
  const router = createRouter({ history: createMemoryHistory(), routes });
  await router.push(path);
  const page = mount(DisplayPage, { global: { plugins: [router, createAppI18n('en')] } });
  await flushPromises();
  return { page, router };
}

const unauthorized: [number, unknown] = [401, { error: { code: 'unauthorized', message: 'missing or invalid API key' } }];

describe('DisplayPage', () => {
  it('goes from idle to the payment to success as the display channel says', async () => {
    const calls = serve({ 'POST /api/v1/socket-tickets': [201, { ticket: 't-123', expires_in: 60 }] });
    const { page } = await mountAt('/display');
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

  it('asks an unknown device for a pairing code, then keeps its token and follows the display', async () => {
    let paired = false;
    const calls = serve({
      'POST /api/v1/socket-tickets': (init) =>
        String((init?.headers as Record<string, string>)?.Authorization ?? '') === 'Bearer tok-display-1' ? [201, { ticket: 't-9', expires_in: 60 }] : unauthorized,
      'POST /api/v1/displays/pair': (init) => {
        const body = JSON.parse(String(init?.body));
        if (body.code !== '123456') return [403, { error: { code: 'pairing_refused', message: 'no' } }];
        paired = true;
        return [201, { id: 'dsp_1', name: body.name, token: 'tok-display-1' }];
      },
    });
    const { page } = await mountAt('/display');
    expect(page.find('[data-testid=display-pairing]').exists()).toBe(true);

    await page.find('[data-testid=pair-code]').setValue('654321');
    await page.find('[data-testid=display-pairing]').trigger('submit');
    await flushPromises();
    expect(page.find('[role=alert]').text()).toContain('wrong or has expired');
    expect(displayToken()).toBe('');

    await page.find('[data-testid=pair-code]').setValue('123456');
    await page.find('[data-testid=pair-name]').setValue('Till 2');
    await page.find('[data-testid=display-pairing]').trigger('submit');
    await flushPromises();
    expect(paired).toBe(true);
    expect(JSON.parse(String(calls.find((c) => c.url.endsWith('/displays/pair') && c.init?.body?.toString().includes('123456'))?.init?.body)).name).toBe('Till 2');
    expect(displayToken()).toBe('tok-display-1');
    expect(page.find('[data-testid=display-pairing]').exists()).toBe(false);
    expect(FakeSocket.latest().url).toContain('ticket=t-9');
  });

  it('pairs at once from the pairing URL and drops the code from the address', async () => {
    serve({
      'POST /api/v1/displays/pair': [201, { id: 'dsp_2', name: 'Customer display', token: 'tok-2' }],
      'POST /api/v1/socket-tickets': [201, { ticket: 't-2', expires_in: 60 }],
    });
    const { router } = await mountAt('/display?pair=246810');
    expect(displayToken()).toBe('tok-2');
    expect(router.currentRoute.value.query.pair).toBeUndefined();
    expect(FakeSocket.latest().url).toContain('ticket=t-2');
  });

  it('forgets a revoked token and shows the pairing form again', async () => {
    setDisplayToken('tok-revoked');
    serve({ 'POST /api/v1/socket-tickets': unauthorized });
    const { page } = await mountAt('/display');
    expect(page.find('[data-testid=display-pairing]').exists()).toBe(true);
    expect(displayToken()).toBe('');
  });
});
