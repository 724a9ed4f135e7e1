import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import { ApiError, cancelPayment, checkTransaction, followPayment, getPayment, type LinkState, type Live, type Payment } from '../backend';

/** The payment on the QR / success page, followed live. */
export const usePaymentStore = defineStore('payment', () => {
  const payment = ref<Payment | null>(null);
  const link = ref<LinkState>('closed');
  const errorCode = ref<string | null>(null);
  const checkError = ref<string | null>(null);
  const checking = ref(false);
  /** The credit was taken back (its block left the chain): confirming → pending. */
  const reverted = ref(false);
  let live: Live<Payment> | null = null;

  function update(p: Payment) {
    if (payment.value?.id === p.id && payment.value.status === 'confirming' && p.status === 'pending') reverted.value = true;
    else if (p.status !== 'pending') reverted.value = false;
    payment.value = p;
  }

  const open = computed(() => payment.value?.status === 'pending' || payment.value?.status === 'confirming');

  async function follow(id: string) {
    stop();
    errorCode.value = null;
    checkError.value = null;
    reverted.value = false;
    try {
      payment.value = await getPayment(id);
    } catch (e) {
      payment.value = null;
      errorCode.value = e instanceof ApiError ? e.code : 'unknown_error';
      return;
    }
    live = followPayment(
      id,
      update,
      (s) => (link.value = s),
    );
  }

  function stop() {
    live?.close();
    live = null;
  }

  async function check(hash: string) {
    if (!payment.value) return;
    checking.value = true;
    checkError.value = null;
    try {
      payment.value = await checkTransaction(payment.value.id, hash.trim());
    } catch (e) {
      checkError.value = e instanceof ApiError ? e.code : 'unknown_error';
    } finally {
      checking.value = false;
    }
  }

  async function cancel() {
    if (!payment.value) return;
    try {
      payment.value = await cancelPayment(payment.value.id);
    } catch (e) {
      errorCode.value = e instanceof ApiError ? e.code : 'unknown_error';
    }
  }

  return { payment, link, errorCode, checkError, checking, reverted, open, follow, stop, check, cancel };
});
