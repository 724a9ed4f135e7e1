import { defineStore } from 'pinia';
import { ref } from 'vue';
import { ApiError, cancelPayment, exportCsv, listPayments, saveAs, type Payment, type PaymentFilter } from '../backend';

/** The filtered payment list with cursor pagination. */
export const useHistoryStore = defineStore('history', () => {
  const filter = ref<PaymentFilter>({ limit: 50 });
  const payments = ref<Payment[]>([]);
  const nextCursor = ref<string | null>(null);
  const loading = ref(false);
  const errorCode = ref<string | null>(null);

  async function run(more = false) {
    loading.value = true;
    errorCode.value = null;
    try {
      const page = await listPayments({ ...filter.value, cursor: more ? (nextCursor.value ?? undefined) : undefined });
      payments.value = more ? [...payments.value, ...page.payments] : page.payments;
      nextCursor.value = page.next_cursor;
    } catch (e) {
      errorCode.value = e instanceof ApiError ? e.code : 'unknown_error';
    } finally {
      loading.value = false;
    }
  }

  async function cancel(id: string) {
    try {
      const p = await cancelPayment(id);
      payments.value = payments.value.map((x) => (x.id === id ? p : x));
    } catch (e) {
      errorCode.value = e instanceof ApiError ? e.code : 'unknown_error';
    }
  }

  async function download() {
    saveAs(await exportCsv({ ...filter.value, limit: undefined }), 'stablepay-payments.csv');
  }

  return { filter, payments, nextCursor, loading, errorCode, run, cancel, download };
});
