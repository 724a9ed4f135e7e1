import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import { listCounters, type Counter } from '../backend';

/**
 * The tills attached to this hub as counters (issue 21), for the screens that narrow sales to one:
 * history and monitoring. Read once per app; a shop with no counter, or a key that may not list them,
 * simply has none (the screens then hide their counter filter).
 */
export const useCountersStore = defineStore('counters', () => {
  const counters = ref<Counter[]>([]);
  let loading: Promise<void> | null = null;

  /** Reads the list the first time it is asked for (again with `fresh`, e.g. after a pairing). */
  function load(fresh = false): Promise<void> {
    if (!loading || fresh) {
      loading = listCounters()
        .then((list) => list.data)
        .catch(() => [])
        .then((list) => {
          counters.value = list;
        });
    }
    return loading;
  }

  const any = computed(() => counters.value.length > 0);

  return { counters, any, load };
});
