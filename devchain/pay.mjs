// `npm run pay -- <payment id> [--server URL] [--delta -0.01] [--to ADDR] [--token-contract ADDR]`:
// the demo's customer wallet. Reads the payment from the server and sends exactly what it asks
// (or, with the flags, a wrong amount / recipient / token to see how the shop reacts).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { STATE_DIR } from './up.mjs';
import { rpcClient } from './lib/rpc.mjs';
import { ACCOUNTS, checksum, toBaseUnits, transfer } from './lib/tokens.mjs';

function flag(name) {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
}

function fail(message) {
  console.error(`pay: ${message}`);
  process.exit(1);
}

const id = process.argv.slice(2).find((a) => a.startsWith('pay_'));
if (!id) fail('usage: npm run pay -- <payment id> [--server URL] [--delta 0.01] [--to 0x…] [--token-contract 0x…]');
const statePath = join(STATE_DIR, 'state.json');
if (!existsSync(statePath)) fail('no local chain found (.devchain/state.json); start it with `npm run demo`');
const state = JSON.parse(readFileSync(statePath, 'utf8'));
const server = flag('--server') ?? state.server;

let response;
try {
  response = await fetch(`${server}/api/v1/payments/${id}`);
} catch (e) {
  fail(`cannot reach StablePay at ${server} (${e.cause?.code ?? e.message}); is the demo running?`);
}
const body = await response.json();
if (!response.ok) fail(`${body.error?.code}: ${body.error?.message}`);
if (!['pending', 'expired'].includes(body.status)) console.warn(`note: the payment is ${body.status}; paying anyway`);

const rpc = rpcClient(state.rpcUrl);
let value = BigInt(body.amount_base_units);
if (flag('--delta')) value += toBaseUnits(flag('--delta'), body.decimals);
if (value <= 0n) fail('the amount to send must be positive');
const to = flag('--to') ?? body.pay_to;
const token = flag('--token-contract') ?? body.token_contract;

console.log(`sending ${value} base units of ${body.token} (${token}) from ${ACCOUNTS.customer} to ${to} …`);
try {
  const receipt = await transfer(rpc, await checksum(rpc, token), ACCOUNTS.customer, to, value, { gas: 200_000 });
  const ok = receipt.status === '0x1';
  console.log(`${ok ? 'mined' : 'REVERTED'}: tx ${receipt.transactionHash} in block ${Number(receipt.blockNumber)}`);
  if (!ok) process.exit(1);
} catch (e) {
  fail(e.message);
}
