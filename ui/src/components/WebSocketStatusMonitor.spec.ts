import { flushPromises, mount } from '@vue/test-utils';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createAppI18n } from '../i18n';
import { serve } from '../testing/fakes';
import WebSocketStatusMonitor from './WebSocketStatusMonitor.vue';

afterEach(() => {
  vi.unstubAllGlobals();
  vi.useRealTimers();
});

const stats = {
  frontend: { totalConnections: 4, activeConnections: 1, connectionErrors: 0, reconnectAttempts: 1, lastConnectionTime: '2026-11-24T10:00:00Z', lastDisconnectionTime: null },
  blockchain: { isConnected: true, currentEndpoint: 'ws://127.0.0.1:8545', totalConnectionAttempts: 1, reconnectAttempts: 0, activeSubscriptions: 2, lastConnectionTime: '2026-11-24T09:00:00Z', lastDisconnectionTime: null },
};
const messages = [
  { source: 'frontend', type: 'payment_status_update', paymentId: 'pay_1', direction: 'out', data: { status: 'paid' }, timestamp: '2026-11-24T10:00:03Z' },
  { source: 'frontend', type: 'ping', paymentId: 'pay_1', direction: 'in', data: {}, timestamp: '2026-11-24T10:00:02Z' },
  { source: 'blockchain', type: 'transfer_event', direction: 'in', data: { value: '10' }, timestamp: '2026-11-24T10:00:01Z' },
];

describe('WebSocketStatusMonitor', () => {
  it('shows both connection states and both logs, filters them, shows JSON detail and refreshes on its own', async () => {
    vi.useFakeTimers();
    const calls = serve({
      '/api/v1/stats/websocket': [200, stats],
      '/api/v1/stats/websocket/messages?limit=200': [200, { messages, count: 3 }],
    });
    const monitor = mount(WebSocketStatusMonitor, { props: { refreshSeconds: 10 }, global: { plugins: [createAppI18n('en')] } });
    await flushPromises();

    expect(monitor.find('[data-testid=blockchain-state]').text()).toContain('Connected');
    expect(monitor.find('[data-testid=blockchain-state]').text()).toContain('ws://127.0.0.1:8545');
    expect(monitor.find('[data-testid=frontend-state]').text()).toContain('4');
    expect(monitor.findAll('[data-testid=log-frontend] li')).toHaveLength(2);
    expect(monitor.findAll('[data-testid=log-blockchain] li')).toHaveLength(1);
    expect(monitor.find('[data-testid=wsmon-updated]').exists()).toBe(true);

    await monitor.find('[data-testid=direction-filter]').setValue('in');
    expect(monitor.findAll('[data-testid=log-frontend] li')).toHaveLength(1);
    await monitor.find('[data-testid=type-filter]').setValue('transfer_event');
    expect(monitor.findAll('[data-testid=log-frontend] li')).toHaveLength(0);
    await monitor.find('[data-testid=log-blockchain] li').trigger('click');
    expect(monitor.find('[data-testid=message-detail] pre').text()).toContain('"value": "10"');

    const before = calls.length;
    await vi.advanceTimersByTimeAsync(10_000);
    expect(calls.length).toBe(before + 2);
  });
});
