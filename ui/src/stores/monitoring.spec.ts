import { createPinia, setActivePinia } from 'pinia';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { serve } from '../testing/fakes';
import { MAX_SAMPLES, useMonitoringStore } from './monitoring';

const payments = { total_payments: 3, open_payments: 0, successful_payments: 2, failed_payments: 1, success_rate: 66.7, payments_by_token: { USDT: 3 }, payments_by_period: { '24h': 3, '7d': 3, '30d': 3 }, average_processing_time: 4.2, failure_reasons: { expired: 1 }, check_failures: { not_found: 1 }, success_rate_by_token: { USDT: 66.7 }, success_rate_by_period: { '24h': 66.7, '7d': 66.7, '30d': 66.7 }, daily: [] };
const monitoring = { websocket_connections: { active: 2, healthy: 2, degraded: 0 }, blockchain_monitoring: { average_latency: 12.5, last_block_processed: 100, blocks_behind: 0, events_detected: 3 }, validation_performance: { average_validation_time: 1.1, validation_success_rate: 100 }, rpc_endpoints: [] };
const system = { uptime: 60, cpu_usage: 10, memory_usage: 20, disk_usage: 30, api_response_time: 2.5, error_rate: 0, database_health: 'healthy', blockchain_connection: 'connected' };

beforeEach(() => setActivePinia(createPinia()));
afterEach(() => vi.unstubAllGlobals());

describe('the monitoring store', () => {
  it('refreshes every figure together and keeps a bounded series for the trend charts', async () => {
    serve({
      '/api/v1/stats/payments': [200, payments],
      '/api/v1/stats/monitoring': [200, monitoring],
      '/api/v1/stats/system': [200, system],
      '/api/v1/alerts': [200, { alerts: [{ id: 'blocks_behind:bsc', kind: 'blocks_behind', severity: 'warning', message: 'behind', value: 30, threshold: 20, since: '' }], count: 1 }],
    });
    const store = useMonitoringStore();
    for (let i = 0; i < MAX_SAMPLES + 5; i++) await store.refresh();

    expect(store.payments?.success_rate).toBe(66.7);
    expect(store.alerts[0]?.kind).toBe('blocks_behind');
    expect(store.samples).toHaveLength(MAX_SAMPLES);
    expect(store.samples.at(-1)).toMatchObject({ latency: 12.5, apiTime: 2.5, successRate: 66.7, errorRate: 0 });
    expect(store.updatedAt).toBeInstanceOf(Date);
  });

  it('keeps the last figures and the error code when a refresh fails', async () => {
    serve({ '/api/v1/stats/payments': [401, { error: { code: 'unauthorized', message: 'key' } }] });
    const store = useMonitoringStore();
    await store.refresh();

    expect(store.errorCode).toBe('unauthorized');
    expect(store.samples).toHaveLength(0);
  });
});
