import { defineStore } from 'pinia';
import { ref } from 'vue';
import { ApiError, closeReport, closeReportCsv, saveAs, type CloseReport } from '../backend';

/** `YYYY-MM-DD` of `d` in the till's own time zone. */
export function localDay(d = new Date()): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/** The till's local day `day` (`YYYY-MM-DD`) as `[from, to)` instants, or a shift `HH:MM`–`HH:MM`
 *  within it (an end at or before the start runs past midnight). Local midnights, so a shop east
 *  or west of UTC closes its own day; a daylight-saving day is 23 or 25 hours long, as it is. */
export function closeWindow(day: string, start = '00:00', end = '00:00'): { from: string; to: string } {
  const from = new Date(`${day}T${start}:00`);
  const to = new Date(`${day}T${end}:00`);
  if (to <= from) to.setDate(to.getDate() + 1);
  return { from: from.toISOString(), to: to.toISOString() };
}

/** The day's close: the chosen day (or shift) and its report. */
export const useCloseStore = defineStore('close', () => {
  const day = ref(localDay());
  const start = ref('00:00');
  const end = ref('00:00');
  const report = ref<CloseReport | null>(null);
  const loading = ref(false);
  const errorCode = ref<string | null>(null);

  async function load() {
    loading.value = true;
    errorCode.value = null;
    try {
      const { from, to } = closeWindow(day.value, start.value, end.value);
      report.value = await closeReport(from, to);
    } catch (e) {
      errorCode.value = e instanceof ApiError ? e.code : 'unknown_error';
    } finally {
      loading.value = false;
    }
  }

  async function download() {
    const { from, to } = closeWindow(day.value, start.value, end.value);
    saveAs(await closeReportCsv(from, to), `stablepay-close-${day.value}.csv`);
  }

  return { day, start, end, report, loading, errorCode, load, download };
});
