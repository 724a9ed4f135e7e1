// SIGKILL mid-stream (issue 7): the real server binary watches a real anvil while customers pay a
// stream of payments; it is killed with SIGKILL between two of them, more are paid while it is
// down, and after a restart every paid payment is `paid` exactly once, with the customer's own
// transaction, and every unpaid one is still `pending`. Nothing is lost, nothing is credited twice.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { freePort, startAnvil } from '../devchain/lib/anvil.mjs';
import { ACCOUNTS, deployToken, mint, transfer } from '../devchain/lib/tokens.mjs';
import { ROOT } from '../devchain/up.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let chain;
let server;
let base;
let config;

async function startServer() {
  const child = spawn(join(ROOT, 'target', 'debug', 'stablepay-server'), ['serve', '--config', config], { stdio: 'ignore', env: { ...process.env, RUST_LOG: 'error' } });
  for (let i = 0; i < 150; i++) {
    if (await fetch(`${base}/health`).then((r) => r.ok, () => false)) return child;
    await sleep(100);
  }
  throw new Error('the server did not start');
}

const api = async (method, path, body) => {
  const r = await fetch(`${base}${path}`, { method, headers: body ? { 'content-type': 'application/json' } : {}, body: body && JSON.stringify(body) });
  return { status: r.status, body: await r.json() };
};

before(async () => {
  chain = await startAnvil({ blockTime: 1 });
  const usdt = await deployToken(chain.call, { name: 'Tether USD (mock)', symbol: 'USDT' });
  await mint(chain.call, usdt, ACCOUNTS.customer, 10n ** 24n);
  const dir = mkdtempSync(join(tmpdir(), 'stablepay-midstream-'));
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  config = join(dir, 'c.toml');
  writeFileSync(
    config,
    `[server]\nbind = "127.0.0.1:${port}"\nrate_limit_per_second = 0\n[database]\npath = "${join(dir, 'stablepay.db')}"\n` +
      `[merchant]\nreceive_address = "${ACCOUNTS.merchant}"\n[payments]\nconfirmations = 2\n[chain]\npoll_interval_ms = 500\n` +
      `[[networks]]\nid = "bsc"\nname = "anvil"\nchain_id = 56\nrpc_urls = ["${chain.rpcUrl}"]\nws_urls = ["${chain.wsUrl}"]\n` +
      `[[tokens]]\nsymbol = "USDT"\nnetwork = "bsc"\ncontract_address = "${usdt}"\ndecimals = 18\n`,
  );
  server = await startServer();
  chain.usdt = usdt;
});

after(async () => {
  server?.kill('SIGKILL');
  await chain?.stop();
});

it('a SIGKILL between payments loses none and credits none twice', { timeout: 180_000 }, async () => {
  const payments = [];
  for (let i = 0; i < 12; i++) payments.push((await api('POST', '/api/v1/payments', { amount: `${20 + i}.40`, token: 'USDT' })).body);
  const paid = new Map(); // payment id → the customer's transaction hash
  const pay = async (p) => paid.set(p.id, (await transfer(chain.call, chain.usdt, ACCOUNTS.customer, ACCOUNTS.merchant, BigInt(p.amount_base_units))).transactionHash);

  for (const p of payments.slice(0, 4)) await pay(p);
  await pay(payments[4]);
  server.kill('SIGKILL'); // right after a transfer is mined: the server may be mid-way through it
  await new Promise((r) => server.once('exit', r));
  for (const p of payments.slice(5, 9)) await pay(p); // while the server is down
  server = await startServer();
  await pay(payments[9]);

  const deadline = Date.now() + 60_000;
  let states;
  for (;;) {
    states = await Promise.all(payments.map(async (p) => (await api('GET', `/api/v1/payments/${p.id}`)).body));
    if (states.filter((s) => s.status === 'paid').length === paid.size || Date.now() > deadline) break;
    await sleep(500);
  }
  for (const s of states) {
    if (paid.has(s.id)) {
      assert.equal(s.status, 'paid', `${s.id} was paid on chain`);
      assert.equal(s.transaction_hash, paid.get(s.id), `${s.id} credited by its own transfer`);
    } else {
      assert.equal(s.status, 'pending', `${s.id} was never paid`);
    }
  }
  const matched = (await api('GET', '/api/v1/transfers?matched=true&limit=100')).body;
  assert.equal(matched.length, paid.size, 'one matched transfer per paid payment');
  assert.equal(new Set(matched.map((t) => t.payment_id)).size, paid.size, 'no payment credited twice');
  const unmatched = (await api('GET', '/api/v1/transfers?matched=false&limit=100')).body;
  assert.deepEqual(unmatched, [], 'no transfer left unmatched');
});
