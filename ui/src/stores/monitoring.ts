import { defineStore } from 'pinia';
import { ref } from 'vue';
import {
  ApiError,
  listAlerts,
  monitoringStats,
  paymentStats,
  statsHistory,
  systemStats,
  type Alert,
  type MonitoringStats,
  type PaymentStats,
  type SystemStats,
  type TrendSample,
} from '../backend';

/** One sample of the figures the dashboard charts over time. */
export interface Sample {
  at: number;
  latency: number;
  errorRate: number;
  apiTime: number;
  successRate: number;
}

/** The trend charts' ranges, with the hours of server samples each reads. */
export const RANGES = { day: 24, week: 168, month: 720 } as const;
export type Range = keyof typeof RANGES;

/** How many samples the trend charts keep (at the 15 s refresh: the last 30 minutes). */
export const MAX_SAMPLES = 120;

/** The dashboard's figures, refreshed together, with a rolling series for the trend charts. */
export const useMonitoringStore = defineStore('monitoring', () => {
  const payments = ref<PaymentStats | null>(null);
  const monitoring = ref<MonitoringStats | null>(null);
  const system = ref<SystemStats | null>(null);
  const alerts = ref<Alert[]>([]);
  const samples = ref<Sample[]>([]);
  /** The counter whose sales the payment figures cover (none: every sale). */
  const counter = ref<string | undefined>(undefined);
  /** The range the trend charts show. */
  const range = ref<Range>('day');
  /** The server's own samples over `range` (they survive a reload and a restart). */
  const history = ref<TrendSample[]>([]);
  const updatedAt = ref<Date | null>(null);
  const loading = ref(false);
  const errorCode = ref<string | null>(null);

  async function refresh() {
    loading.value = true;
    errorCode.value = null;
    const asked = counter.value;
    try {
      const [p, m, s, a, h] = await Promise.all([paymentStats(asked), monitoringStats(), systemStats(), listAlerts(), statsHistory(RANGES[range.value]).catch(() => null)]);
      // Another counter was chosen meanwhile: its own refresh brings its figures.
      if (asked !== counter.value) return;
      if (h) history.value = h.samples;
      payments.value = p;
      monitoring.value = m;
      system.value = s;
      alerts.value = a.alerts;
      samples.value = [
        ...samples.value,
        {
          at: Date.now(),
          latency: m.blockchain_monitoring.average_latency,
          errorRate: s.error_rate,
          apiTime: s.api_response_time,
          successRate: p.success_rate,
        },
      ].slice(-MAX_SAMPLES);
      updatedAt.value = new Date();
    } catch (e) {
      errorCode.value = e instanceof ApiError ? e.code : 'unknown_error';
    } finally {
      loading.value = false;
    }
  }

  /** Narrows the payment figures to counter `c` (none: every sale): the live series starts over, as its success rate was another set's. */
  async function showCounter(c: string | undefined) {
    counter.value = c;
    samples.value = [];
    await refresh();
  }

  /** Shows `r` on the trend charts, fetching its samples now. */
  async function showRange(r: Range) {
    range.value = r;
    const h = await statsHistory(RANGES[r]).catch(() => null);
    if (h && range.value === r) history.value = h.samples;
  }

  return { payments, monitoring, system, alerts, samples, history, range, counter, updatedAt, loading, errorCode, refresh, showRange, showCounter };
});
