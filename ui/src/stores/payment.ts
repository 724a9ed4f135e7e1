import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import { ApiError, attachTransfer, cancelPayment, checkTransaction, followPayment, getPayment, type LinkState, type Live, type Payment } from '../backend';

/** The payment on the QR / success page, followed live. */
export const usePaymentStore = defineStore('payment', () => {
  const payment = ref<Payment | null>(null);
  const link = ref<LinkState>('closed');
  const errorCode = ref<string | null>(null);
  const checkError = ref<string | null>(null);
  const checking = ref(false);
  /** The socket's own `error` message (code), shown to the cashier in plain words. */
  const socketError = ref<string | null>(null);
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
    socketError.value = null;
    live = followPayment(
      id,
      (p) => {
        socketError.value = null;
        update(p);
      },
      (s) => (link.value = s),
      payment.value,
      (code) => (socketError.value = code),
    );
  }

  /** The cashier's "Reconnect": connect the live link again now. */
  function reconnect() {
    live?.reconnect();
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

  const attaching = ref(false);
  const attachError = ref<string | null>(null);

  /** Accepts the wrong amount that arrived for this sale: attaches that transfer, with `reason`. */
  async function acceptWrongAmount(reason: string) {
    const p = payment.value;
    if (!p?.wrong_amount) return;
    attaching.value = true;
    attachError.value = null;
    try {
      update(await attachTransfer(p.id, p.wrong_amount.transfer_id, reason));
    } catch (e) {
      attachError.value = e instanceof ApiError ? e.code : 'unknown_error';
    } finally {
      attaching.value = false;
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

  return { payment, link, errorCode, checkError, checking, socketError, reverted, open, attaching, attachError, follow, stop, reconnect, check, cancel, acceptWrongAmount };
});
