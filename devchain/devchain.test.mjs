// node --test devchain/ — the dev chain kit against a real anvil.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ARTIFACT, compile } from './compile.mjs';
import { SELECTORS, TRANSFER_TOPIC, encodeTokenConstructor } from './lib/abi.mjs';
import { startAnvil } from './lib/anvil.mjs';
import { ACCOUNTS, balanceOf, checksum, deployToken, mint, setFrozen, toBaseUnits, transfer } from './lib/tokens.mjs';
import { up } from './up.mjs';

const keccak = (rpc, text) => rpc('web3_sha3', [`0x${Buffer.from(text).toString('hex')}`]);

test('the committed artifact matches the Solidity source', () => {
  const committed = JSON.parse(readFileSync(ARTIFACT, 'utf8'));
  const fresh = compile();
  assert.equal(committed.sourceSha256, fresh.sourceSha256, 'run `node devchain/compile.mjs` and commit the artifact');
  assert.equal(committed.bytecode, fresh.bytecode);
});

test('function selectors and the Transfer topic are the keccak hashes of their signatures', async (t) => {
  const anvil = await startAnvil();
  t.after(() => anvil.stop());
  for (const [signature, selector] of Object.entries(SELECTORS)) {
    assert.equal((await keccak(anvil.call, signature)).slice(2, 10), selector, signature);
  }
  assert.equal(await keccak(anvil.call, 'Transfer(address,address,uint256)'), TRANSFER_TOPIC);
});

test('a deployed mock pays exactly and logs a Transfer to the recipient', async (t) => {
  const anvil = await startAnvil();
  t.after(() => anvil.stop());
  const token = await deployToken(anvil.call, { name: 'Tether USD (mock)', symbol: 'USDT', decimals: 18 });
  await mint(anvil.call, token, ACCOUNTS.customer, toBaseUnits('100', 18));

  const receipt = await transfer(anvil.call, token, ACCOUNTS.customer, ACCOUNTS.merchant, toBaseUnits('10.01', 18));

  assert.equal(receipt.status, '0x1');
  assert.equal(await balanceOf(anvil.call, token, ACCOUNTS.merchant), 10_010_000_000_000_000_000n);
  const log = receipt.logs.find((l) => l.topics[0] === TRANSFER_TOPIC);
  assert.equal(log.address.toLowerCase(), token.toLowerCase());
  assert.equal(log.topics[2], `0x${ACCOUNTS.merchant.toLowerCase().slice(2).padStart(64, '0')}`);
  assert.equal(BigInt(log.data), 10_010_000_000_000_000_000n);
});

test('a frozen token mines a reverted transfer', async (t) => {
  const anvil = await startAnvil();
  t.after(() => anvil.stop());
  const token = await deployToken(anvil.call, { name: 'X', symbol: 'X', decimals: 6 });
  await mint(anvil.call, token, ACCOUNTS.customer, 1000n);
  await setFrozen(anvil.call, token, true);

  const receipt = await transfer(anvil.call, token, ACCOUNTS.customer, ACCOUNTS.merchant, 1n, { gas: 200_000 });

  assert.equal(receipt.status, '0x0');
  assert.equal(await balanceOf(anvil.call, token, ACCOUNTS.merchant), 0n);
});

test('up deploys four tokens and writes a config with checksummed addresses', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'devchain-'));
  const { anvil, configPath, state } = await up({ stateDir: dir, blockTime: 0 });
  t.after(() => anvil.stop());
  const toml = readFileSync(configPath, 'utf8');

  assert.deepEqual(Object.keys(state.tokens), ['USDT', 'USDC', 'FDUSD', 'BUSD']);
  for (const address of [...Object.values(state.tokens), state.merchant]) {
    assert.equal(address, await checksum(anvil.call, address));
    assert.ok(toml.includes(`"${address}"`), `${address} in config`);
  }
  assert.match(toml, /chain_id = 56/);
  assert.equal(await balanceOf(anvil.call, state.tokens.USDT, ACCOUNTS.customer), toBaseUnits('1000000', 18));
});

test('the finalized block trails the head by two, like BSC', async (t) => {
  const anvil = await startAnvil();
  t.after(() => anvil.stop());
  await anvil.call('anvil_mine', ['0xa']);
  const head = Number(await anvil.call('eth_blockNumber'));
  const finalized = Number((await anvil.call('eth_getBlockByNumber', ['finalized', false])).number);
  assert.equal(head - finalized, 2);
});

test('constructor arguments encode strings at the right offsets', () => {
  const encoded = encodeTokenConstructor('AB', 'C', 18);
  assert.equal(encoded.length, 64 * 7);
  assert.equal(encoded.slice(0, 64), '60'.padStart(64, '0'));
  assert.equal(encoded.slice(64, 128), 'a0'.padStart(64, '0'));
});
