import { defineStore } from 'pinia';
import { ref } from 'vue';
import { ApiError, health, listNetworks, listTokens, type Health, type Network, type Token } from '../backend';

/** What the shop accepts, and whether the server is healthy. */
export const useCatalogStore = defineStore('catalog', () => {
  const tokens = ref<Token[]>([]);
  const networks = ref<Network[]>([]);
  const status = ref<Health | null>(null);
  const loading = ref(false);
  const errorCode = ref<string | null>(null);

  async function load() {
    loading.value = true;
    errorCode.value = null;
    try {
      const [h, t, n] = await Promise.all([health(), listTokens(), listNetworks()]);
      status.value = h;
      tokens.value = t;
      networks.value = n;
    } catch (e) {
      errorCode.value = e instanceof ApiError ? e.code : 'unknown_error';
    } finally {
      loading.value = false;
    }
  }

  return { tokens, networks, status, loading, errorCode, load };
});
