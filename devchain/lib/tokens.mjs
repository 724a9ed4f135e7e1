// Deploy, mint, transfer and read mock stablecoins through anvil's unlocked dev accounts.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { call, encodeAddress, encodeBool, encodeTokenConstructor, encodeUint, toBaseUnits } from './abi.mjs';
import { waitForReceipt } from './rpc.mjs';

const artifactPath = join(dirname(fileURLToPath(import.meta.url)), '..', 'artifacts', 'MockStablecoin.json');

// anvil's default dev accounts (unlocked: eth_sendTransaction needs no key here).
export const ACCOUNTS = {
  deployer: '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266',
  merchant: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
  customer: '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC',
};

/** EIP-55 checksum, with keccak from the node (web3_sha3). */
export async function checksum(rpc, address) {
  const lower = address.toLowerCase().replace(/^0x/, '');
  const hash = (await rpc('web3_sha3', [`0x${Buffer.from(lower, 'ascii').toString('hex')}`])).slice(2);
  return `0x${[...lower].map((c, i) => (parseInt(hash[i], 16) >= 8 ? c.toUpperCase() : c)).join('')}`;
}

export async function send(rpc, from, to, data, { gas } = {}) {
  const tx = { from, data };
  if (to) tx.to = to;
  if (gas) tx.gas = `0x${gas.toString(16)}`;
  const hash = await rpc('eth_sendTransaction', [tx]);
  return waitForReceipt(rpc, hash);
}

export async function deployToken(rpc, { name, symbol, decimals = 18 }) {
  const { bytecode } = JSON.parse(readFileSync(artifactPath, 'utf8'));
  const receipt = await send(rpc, ACCOUNTS.deployer, null, bytecode + encodeTokenConstructor(name, symbol, decimals));
  if (receipt.status !== '0x1') throw new Error(`deploying ${symbol} failed`);
  return checksum(rpc, receipt.contractAddress);
}

export const mint = (rpc, token, to, baseUnits) =>
  send(rpc, ACCOUNTS.deployer, token, call('mint(address,uint256)', encodeAddress(to), encodeUint(baseUnits)));

/** transfer(to, baseUnits) from `from`; an explicit gas limit lets a reverting transfer be mined. */
export const transfer = (rpc, token, from, to, baseUnits, options) =>
  send(rpc, from, token, call('transfer(address,uint256)', encodeAddress(to), encodeUint(baseUnits)), options);

export const setFrozen = (rpc, token, frozen) => send(rpc, ACCOUNTS.deployer, token, call('setFrozen(bool)', encodeBool(frozen)));

export async function balanceOf(rpc, token, owner) {
  return BigInt(await rpc('eth_call', [{ to: token, data: call('balanceOf(address)', encodeAddress(owner)) }, 'latest']));
}

export { toBaseUnits };
