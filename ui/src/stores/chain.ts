import { defineStore } from 'pinia';
import { sharedPoll } from '../composables/sharedPoll';
import { computed, ref } from 'vue';
import { ApiError, chainStatus, type ChainStatus } from '../backend';

/** How often the screens ask whether payments are being seen (well within the 10 s a cashier waits). */
export const CHAIN_POLL_MS = 3000;

/**
 * Whether the shop is seeing payments right now: the header light, the QR page's warning and the
 * customer display's "please wait" all read it. Polled while at least one screen watches it; no
 * answer at all (the server is down, or the network between) counts as not seeing, an error
 * answer leaves the last known state.
 */
export const useChainStore = defineStore('chain', () => {
  const status = ref<ChainStatus | null>(null);
  const unreachable = ref(false);

  async function refresh() {
    try {
      status.value = await chainStatus();
      unreachable.value = false;
    } catch (e) {
      unreachable.value = !(e instanceof ApiError) || e.status >= 500;
    }
  }

  /** Starts polling for one more screen; call the returned function when it goes. */
  const watch = sharedPoll(refresh, CHAIN_POLL_MS);

  /** The first reason a network is blind, or `unreachable` when the server does not answer. */
  const reason = computed(() => (unreachable.value ? 'unreachable' : (status.value?.networks.find((n) => !n.seeing_payments)?.reason ?? null)));
  /**
   * `null` until the first answer; then whether payments are being seen. A watcher switched off on
   * purpose (`disabled`: an API-only server) or still on its first pass (`starting`) is not "blind":
   * the cashier screens say so (`off`), but the customer display keeps its QR code.
   */
  const seeing = computed<boolean | null>(() => {
    if (unreachable.value) return false;
    if (!status.value) return null;
    return status.value.seeing_payments || reason.value === 'disabled' || reason.value === 'starting';
  });
  /** The watcher is switched off, or not running yet: worth a word at the till, not an alarm. */
  const off = computed(() => reason.value === 'disabled' || reason.value === 'starting');

  return { status, seeing, off, reason, refresh, watch };
});
