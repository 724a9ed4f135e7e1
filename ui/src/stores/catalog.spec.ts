import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import * as backend from '../backend';
import { useCatalogStore } from './catalog';

vi.mock('../backend', async (importOriginal) => {
  const actual = await importOriginal<typeof backend>();
  return { ...actual, health: vi.fn(), listTokens: vi.fn(), listNetworks: vi.fn() };
});

beforeEach(() => {
  setActivePinia(createPinia());
  vi.mocked(backend.health).mockResolvedValue({
    status: 'ok',
    database: 'ok',
    version: '0.1.0',
    uptime_seconds: 1,
    replica: { database: 'sqlite', name: 'till', leader: true, leader_name: 'till' },
  });
  vi.mocked(backend.listNetworks).mockResolvedValue([{ id: 'bsc', name: 'BNB Smart Chain', chain_id: 56, explorer_url: '' }]);
});

describe('catalog store', () => {
  it('loads tokens, networks and health together', async () => {
    vi.mocked(backend.listTokens).mockResolvedValue([{ symbol: 'USDC', name: 'USD Coin', network: 'bsc', contract_address: '0x8AC7', decimals: 18, legacy: false, disabled: null }]);
    const store = useCatalogStore();

    await store.load();

    expect(store.tokens.map((t) => t.symbol)).toEqual(['USDC']);
    expect(store.networks[0]?.chain_id).toBe(56);
    expect(store.status?.status).toBe('ok');
    expect(store.loading).toBe(false);
    expect(store.errorCode).toBeNull();
  });

  it('keeps the stable error code when loading fails', async () => {
    vi.mocked(backend.listTokens).mockRejectedValue(new backend.ApiError('network_error', 'down', 0));
    const store = useCatalogStore();

    await store.load();

    expect(store.errorCode).toBe('network_error');
    expect(store.loading).toBe(false);
  });
});
