// node --test devchain/ — the fault proxy bends a real anvil's answers as told, and only as told.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startAnvil } from './lib/anvil.mjs';
import { startFaultProxy } from './lib/fault-proxy.mjs';
import { rpcClient } from './lib/rpc.mjs';
import { ACCOUNTS, deployToken } from './lib/tokens.mjs';

async function setUp(t) {
  const anvil = await startAnvil();
  const proxy = await startFaultProxy({ upstream: anvil.rpcUrl });
  t.after(async () => {
    await proxy.close();
    await anvil.stop();
  });
  await anvil.call('anvil_mine', ['0xa']);
  return { anvil, proxy, call: rpcClient(proxy.url) };
}

test('an honest proxy answers what the node answers', async (t) => {
  const { anvil, call } = await setUp(t);
  assert.equal(await call('eth_blockNumber'), await anvil.call('eth_blockNumber'));
  assert.equal(await call('eth_chainId'), '0x38');
});

test('a lagging proxy hides the newest blocks, their logs and receipts', async (t) => {
  const { proxy, call } = await setUp(t);
  await proxy.set({ lag: 3 });
  assert.equal(await call('eth_blockNumber'), '0x7');
  assert.equal((await call('eth_getBlockByNumber', ['latest', false])).number, '0x7');
  assert.equal(await call('eth_getBlockByNumber', ['0x9', false]), null);
  assert.deepEqual(await call('eth_getLogs', [{ fromBlock: '0x8', toBlock: '0xa' }]), []);
});

test('method errors, HTTP statuses with Retry-After and a null finalized block are served as set', async (t) => {
  const { proxy, call } = await setUp(t);
  await proxy.set({ methods: { eth_getLogs: { error: { code: -32005, message: 'limit exceeded' } } }, finalized: 'null' });
  await assert.rejects(call('eth_getLogs', [{}]), /limit exceeded/);
  assert.equal(await call('eth_getBlockByNumber', ['finalized', false]), null);
  assert.ok(await call('eth_blockNumber'), 'other methods still answer');

  await proxy.set({ http: { status: 429, retryAfter: 7 } });
  const r = await fetch(proxy.url, { method: 'POST', body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_blockNumber' }) });
  assert.equal(r.status, 429);
  assert.equal(r.headers.get('retry-after'), '7');
  assert.equal(proxy.counts().eth_blockNumber >= 1, true);
});

test('another chain id, and invented Transfer logs with matching receipts', async (t) => {
  const { anvil, proxy, call } = await setUp(t);
  const token = await deployToken(anvil.call, { name: 'Tether USD (mock)', symbol: 'USDT' });
  await proxy.set({ chainId: 97, fabricate: [{ token, from: ACCOUNTS.customer, to: ACCOUNTS.merchant, value: '1000' }] });
  assert.equal(await call('eth_chainId'), '0x61');
  const logs = await call('eth_getLogs', [{ fromBlock: '0x0', toBlock: 'latest', address: [token] }]);
  assert.equal(logs.length, 1);
  assert.equal(BigInt(logs[0].data), 1000n);
  const receipt = await call('eth_getTransactionReceipt', [logs[0].transactionHash]);
  assert.equal(receipt.status, '0x1');
  assert.equal(receipt.blockHash, logs[0].blockHash, 'a real block hash: the lie survives a hash check');
  assert.equal(await anvil.call('eth_getTransactionReceipt', [logs[0].transactionHash]), null, 'the node never saw it');
});
