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

  it('reads a week or a month of the server samples when that range is chosen, and keeps it on refresh', async () => {
    const sample = (db: number) => ({ at: '2026-12-01T00:00:00.000Z', api_p50_ms: 1, api_p95_ms: 2, api_error_rate: 0, db_ms: 0.1, db_p50_ms: db, db_p95_ms: db * 2, push_latency_ms: 5, cpu_usage: 1, memory_usage: 2, active_sockets: 0, blocks_behind: 0 });
    const calls = serve({
      '/api/v1/stats/payments': [200, payments],
      '/api/v1/stats/monitoring': [200, monitoring],
      '/api/v1/stats/system': [200, system],
      '/api/v1/alerts': [200, { alerts: [], count: 0 }],
      '/api/v1/stats/history?hours=24': [200, { samples: [sample(1)], bucket_seconds: 240 }],
      '/api/v1/stats/history?hours=168': [200, { samples: [sample(7), sample(8)], bucket_seconds: 1680 }],
    });
    const store = useMonitoringStore();
    await store.refresh();
    expect(store.history.map((s) => s.db_p50_ms)).toEqual([1]);

    await store.showRange('week');
    expect(store.range).toBe('week');
    expect(store.history.map((s) => s.db_p50_ms)).toEqual([7, 8]);
    await store.refresh();
    expect(calls.at(-1)?.url).toBe('/api/v1/stats/history?hours=168');
    expect(store.history).toHaveLength(2);
  });

  it("computes the payment figures over one counter's sales once it is chosen, and starts the live series over", async () => {
    const counter = `ctr_${'f'.repeat(24)}`;
    const calls = serve({
      '/api/v1/stats/payments': [200, payments],
      [`/api/v1/stats/payments?counter=${counter}`]: [200, { ...payments, total_payments: 1, success_rate: 100 }],
      '/api/v1/stats/monitoring': [200, monitoring],
      '/api/v1/stats/system': [200, system],
      '/api/v1/alerts': [200, { alerts: [], count: 0 }],
    });
    const store = useMonitoringStore();
    await store.refresh();
    expect(store.payments?.total_payments).toBe(3);

    await store.showCounter(counter);
    expect(calls.map((c) => c.url)).toContain(`/api/v1/stats/payments?counter=${counter}`);
    expect(store.payments?.total_payments).toBe(1);
    expect(store.samples.map((s) => s.successRate)).toEqual([100]);

    await store.showCounter(undefined);
    expect(calls.filter((c) => c.url.startsWith('/api/v1/stats/payments')).at(-1)?.url).toBe('/api/v1/stats/payments');
  });

  it('keeps the last figures and the error code when a refresh fails', async () => {
    serve({ '/api/v1/stats/payments': [401, { error: { code: 'unauthorized', message: 'key' } }] });
    const store = useMonitoringStore();
    await store.refresh();

    expect(store.errorCode).toBe('unauthorized');
    expect(store.samples).toHaveLength(0);
  });
});
