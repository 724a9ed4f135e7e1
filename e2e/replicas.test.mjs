// A hub (issue 21): two real stablepay-server replicas on one PostgreSQL database (a throwaway
// cluster from Debian's postgresql), a real anvil chain, and Debian's nginx balancing them with
// deploy/nginx/hub.conf (only its addresses and paths changed). Shows that a payment made through
// one replica is served and settled through the other, that a socket on the replica that does not
// watch the chain follows the credit, that concurrent sales of one amount over both replicas get
// distinct exact amounts, and that when the leading replica is killed (-9) in the middle of on-chain
// payments the other leads within 10 s, every payment ends paid once, every webhook event arrives
// once, and a socket that reconnects sees the final state.
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import { request } from 'node:https';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { freePort, startAnvil } from '../devchain/lib/anvil.mjs';
import { ACCOUNTS, deployToken, mint, transfer } from '../devchain/lib/tokens.mjs';
import { ROOT } from '../devchain/up.mjs';
import { startPostgres } from '../scripts/postgres.mjs';
import { serverBinary } from './lib/harness.mjs';

const NGINX = ['/usr/sbin/nginx', 'nginx'].find((n) => spawnSync(n, ['-v']).status === 0);
const KEY = 'k_hub_0123456789abcdef0123456789abcd';
const SECRET = 'whsec_hub_test_secret_0123456789';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const children = [];
let pg;
let chain;
let usdt;
let dir;
let databaseUrl;
let nginxPort;
const replicas = {}; // name → { base, child, config }
const webhooks = []; // bodies received, in order

async function eventually(what, probe, ms = 30_000) {
  const until = Date.now() + ms;
  for (;;) {
    const got = await probe().catch(() => undefined);
    if (got) return got;
    if (Date.now() > until) throw new Error(`never: ${what}`);
    await sleep(100);
  }
}

const api = (base, path, { method = 'GET', body } = {}) =>
  fetch(`${base}${path}`, { method, headers: { authorization: `Bearer ${KEY}`, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined });
const json = async (base, path, options) => (await api(base, path, options)).json();

/**
 * Pairs through replica `name` with a code another replica made: the code reaches it by the relay
 * a few milliseconds later (a person typing it takes seconds), so a refusal before then is retried
 * for up to two seconds (each counts towards the code's ten wrong tries; the relayed code resets them).
 */
async function pairThrough(name, path, body) {
  const until = Date.now() + 2_000;
  for (;;) {
    const r = await fetch(`${replicas[name].base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    if (r.status !== 403 || Date.now() > until) return r;
    await sleep(100);
  }
}

async function startReplica(name) {
  const port = await freePort();
  const config = join(dir, `${name}.toml`);
  writeFileSync(
    config,
    `[server]\nbind = "127.0.0.1:${port}"\napi_keys = ["${KEY}"]\nrate_limit_per_second = 0\ntrusted_proxies = ["127.0.0.1"]\nreplica = "${name}"\n` +
      // One data folder for both: the key that signs socket messages is the hub's, not a replica's.
      `[database]\npath = "${join(dir, 'data', 'hub.db')}"\nurl = "${databaseUrl}"\n` +
      `[merchant]\nreceive_address = "${ACCOUNTS.merchant}"\n[payments]\nconfirmations = 2\n` +
      `[chain]\npoll_interval_ms = 300\n[[networks]]\nid = "bsc"\nname = "anvil"\nchain_id = 56\nrpc_urls = ["${chain.rpcUrl}"]\nws_urls = ["${chain.wsUrl}"]\n` +
      `[[tokens]]\nsymbol = "USDT"\nnetwork = "bsc"\ncontract_address = "${usdt}"\ndecimals = 18\n` +
      `[[webhooks]]\nurl = "http://127.0.0.1:${webhookPort}/hook"\nsecret = "${SECRET}"\nevents = ["payment.paid"]\n`,
  );
  const child = spawn(serverBinary(), ['serve', '--config', config], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, RUST_LOG: 'error' } });
  children.push(child);
  const base = `http://127.0.0.1:${port}`;
  await eventually(`${name} answers`, () => fetch(`${base}/health`).then((r) => r.ok), 60_000);
  replicas[name] = { base, child, config };
  return replicas[name];
}

const health = (name) => fetch(`${replicas[name].base}/health`).then((r) => r.json());
async function leaderName() {
  const [a, b] = await Promise.all([health('hub-a'), health('hub-b')]);
  const leading = [a, b].filter((h) => h.replica.leader).map((h) => h.replica.name);
  return leading.length === 1 ? leading[0] : undefined;
}

/** A socket on `base` for payment `id`, collecting every status update it receives. */
function follow(base, id) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${base.replace('http', 'ws')}/ws/payments/${id}`);
    const updates = [];
    ws.on('message', (m) => {
      const msg = JSON.parse(m);
      if (msg.type === 'payment_status_update') updates.push({ status: msg.data.status, at: performance.now() });
    });
    ws.once('message', () => resolve({ ws, updates })); // connection_ack
    ws.once('error', reject);
  });
}

let webhookPort;
before(async () => {
  if (!NGINX) return;
  dir = mkdtempSync(join(tmpdir(), 'stablepay-hub-'));
  chmodSync(dir, 0o755);
  mkdirSync(join(dir, 'data'));
  pg = await startPostgres();
  const made = spawnSync('psql', [pg.url, '-qc', 'CREATE DATABASE hub'], { encoding: 'utf8' });
  assert.equal(made.status, 0, made.stderr);
  databaseUrl = pg.url.replace(/\/postgres$/, '/hub');
  chain = await startAnvil({ blockTime: 1 });
  usdt = await deployToken(chain.call, { name: 'Tether USD (mock)', symbol: 'USDT' });
  await mint(chain.call, usdt, ACCOUNTS.customer, 10n ** 30n);
  const receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      webhooks.push(JSON.parse(body));
      res.end('ok');
    });
  });
  await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
  webhookPort = receiver.address().port;
  children.push({ kill: () => receiver.close() });
  await startReplica('hub-a');
  await startReplica('hub-b');

  // deploy/nginx/hub.conf, only the addresses and paths changed.
  nginxPort = await freePort();
  spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-keyout', join(dir, 'privkey.pem'), '-out', join(dir, 'fullchain.pem')], { stdio: 'ignore' });
  mkdirSync(join(dir, 'site'));
  writeFileSync(join(dir, 'site', 'index.html'), '<!doctype html><title>hub</title>');
  const site = readFileSync(join(ROOT, 'deploy', 'nginx', 'hub.conf'), 'utf8')
    .replace('server replica-1:8080', `server ${replicas['hub-a'].base.slice(7)}`)
    .replace('server replica-2:8080', `server ${replicas['hub-b'].base.slice(7)}`)
    .replace('listen 80;', `listen 127.0.0.1:${await freePort()};`)
    .replace('listen 443 ssl http2;', `listen 127.0.0.1:${nginxPort} ssl http2;`)
    .replace('/etc/nginx/certs/fullchain.pem', join(dir, 'fullchain.pem'))
    .replace('/etc/nginx/certs/privkey.pem', join(dir, 'privkey.pem'))
    .replace(/root \/usr\/share\/nginx\/stablepay;[^\n]*/, `root ${join(dir, 'site')};`);
  writeFileSync(join(dir, 'site.conf'), site);
  mkdirSync(join(dir, 'logs'));
  writeFileSync(
    join(dir, 'nginx.conf'),
    `daemon off;\npid ${join(dir, 'nginx.pid')};\nerror_log ${join(dir, 'logs', 'error.log')} warn;\nevents {}\nhttp {\n  include /etc/nginx/mime.types;\n  access_log off;\n  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fcgi; uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;\n  include ${join(dir, 'site.conf')};\n}\n`,
  );
  const tested = spawnSync(NGINX, ['-t', '-c', join(dir, 'nginx.conf')], { encoding: 'utf8' });
  assert.equal(tested.status, 0, `nginx -t: ${tested.stderr}`);
  children.push(spawn(NGINX, ['-c', join(dir, 'nginx.conf')], { stdio: 'ignore' }));
  await eventually('nginx answers', () => balanced('/health').then((r) => r.status === 200));
});

after(async () => {
  for (const c of children) c.kill('SIGKILL');
  await chain?.stop();
  pg?.stop();
});

/** A request through nginx (TLS, self-signed). */
function balanced(path, { method = 'GET', body } = {}) {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: nginxPort, path, method, rejectUnauthorized: false, headers: { authorization: `Bearer ${KEY}`, ...(body ? { 'content-type': 'application/json' } : {}) } }, (res) => {
      let data = '';
      res.on('data', (c) => (data += c));
      res.on('end', () => resolve({ status: res.statusCode, body: data ? JSON.parse(data) : undefined }));
    });
    req.on('error', reject);
    req.end(body ? JSON.stringify(body) : undefined);
  });
}

const pay = (p) => transfer(chain.call, usdt, ACCOUNTS.customer, ACCOUNTS.merchant, BigInt(p.amount_base_units));

describe('a hub: two replicas on PostgreSQL behind nginx', { skip: !NGINX && 'needs nginx' }, () => {
  it('both replicas serve one store, and exactly one of them leads', async () => {
    const leader = await eventually('one leader', leaderName);
    const [a, b] = await Promise.all([health('hub-a'), health('hub-b')]);
    for (const h of [a, b]) {
      assert.equal(h.replica.database, 'postgres');
      assert.equal(h.replica.leader_name, leader, 'both say who leads');
    }
  });

  it('a payment made through one replica is served and settled through the other, whose socket follows the credit', async () => {
    const leader = await eventually('one leader', leaderName);
    const follower = leader === 'hub-a' ? 'hub-b' : 'hub-a';
    const made = await api(replicas[leader].base, '/api/v1/payments', { method: 'POST', body: { amount: '12.5', token: 'USDT', network: 'bsc' } });
    assert.equal(made.status, 201);
    const p = await made.json();
    const served = await json(replicas[follower].base, `/api/v1/payments/${p.id}`);
    assert.equal(served.amount_base_units, p.amount_base_units, 'the other replica serves it');
    // The follower's socket: the follower does not watch the chain, the leader's watcher credits.
    const onFollower = await follow(replicas[follower].base, p.id);
    const onLeader = await follow(replicas[leader].base, p.id);
    await pay(p);
    await eventually('the follower socket says paid', async () => onFollower.updates.some((u) => u.status === 'paid'), 60_000);
    const statuses = onFollower.updates.map((u) => u.status);
    assert.ok(statuses.includes('confirming'), `confirming then paid on the follower: ${statuses}`);
    const first = (s, updates) => updates.find((u) => u.status === s)?.at;
    await eventually('the leader socket says paid', async () => first('paid', onLeader.updates));
    const lag = first('confirming', onFollower.updates) - first('confirming', onLeader.updates);
    console.log(`  relay: the follower's socket heard "confirming" ${lag.toFixed(1)} ms after the leader's`);
    assert.ok(lag < 1000, `relayed within a second (${lag} ms)`);
    onFollower.ws.close();
    onLeader.ws.close();
    const settled = await json(replicas[follower].base, `/api/v1/payments/${p.id}`);
    assert.equal(settled.status, 'paid');
  });

  it('a display paired through one replica shows what a cashier on the other puts on it, and a revocation on either holds on both', async () => {
    const code = await json(replicas['hub-a'].base, '/api/v1/displays/pairing', { method: 'POST' });
    const paired = await pairThrough('hub-b', '/api/v1/displays/pair', { code: code.code, name: 'counter 1 display' });
    assert.equal(paired.status, 201, 'a code made on one replica pairs on the other');
    const device = await paired.json();
    const asDisplay = (name) => fetch(`${replicas[name].base}/api/v1/display`, { headers: { authorization: `Bearer ${device.token}` } });
    await eventually('the display token works on both', async () => (await asDisplay('hub-a')).status === 200 && (await asDisplay('hub-b')).status === 200, 5_000);
    const p = await json(replicas['hub-a'].base, '/api/v1/payments', { method: 'POST', body: { amount: '4.2', token: 'USDT', network: 'bsc' } });
    const shown = await api(replicas['hub-a'].base, '/api/v1/display', { method: 'PUT', body: { payment_id: p.id } });
    assert.equal(shown.status, 200);
    await eventually('the other replica shows it', async () => (await (await asDisplay('hub-b')).json()).payment?.id === p.id, 5_000);
    const revoked = await api(replicas['hub-b'].base, `/api/v1/displays/${device.id}`, { method: 'DELETE' });
    assert.ok(revoked.status < 300, `revoked: ${revoked.status}`);
    await eventually('refused on both', async () => (await asDisplay('hub-a')).status === 401 && (await asDisplay('hub-b')).status === 401, 5_000);
  });

  it('a counter paired through one replica sells through the other, and only its own display channel follows, on both', async () => {
    const code = await json(replicas['hub-a'].base, '/api/v1/displays/pairing', { method: 'POST' });
    const paired = await pairThrough('hub-b', '/api/v1/counters/pair', { code: code.code, name: 'Counter 3' });
    assert.equal(paired.status, 201, 'a code made on one replica pairs a counter on the other');
    const counter = await paired.json();
    const asCounter = (name, path, options = {}) =>
      fetch(`${replicas[name].base}${path}`, { ...options, headers: { authorization: `Bearer ${counter.token}`, 'content-type': 'application/json' } });
    await eventually('the counter key works on both', async () => (await asCounter('hub-a', '/api/v1/display')).status === 200, 5_000);
    const before = await json(replicas['hub-a'].base, '/api/v1/display');
    const sale = await (await asCounter('hub-a', '/api/v1/payments', { method: 'POST', body: JSON.stringify({ amount: '4.3', token: 'USDT', network: 'bsc', show_on_display: true }) })).json();
    assert.equal(sale.counter.name, 'Counter 3');
    await eventually('its channel on the other replica shows the sale', async () => (await (await asCounter('hub-b', '/api/v1/display')).json()).payment?.id === sale.id, 5_000);
    const shop = await json(replicas['hub-b'].base, '/api/v1/display');
    assert.equal(shop.payment?.id ?? null, before.payment?.id ?? null, "the shop's own channel did not move");
    const listed = await json(replicas['hub-b'].base, `/api/v1/payments?counter=${counter.id}`);
    assert.deepEqual(listed.payments.map((p) => p.id), [sale.id]);
  });

  it('forty concurrent sales of one amount over both replicas get forty distinct exact amounts', async () => {
    const bases = [replicas['hub-a'].base, replicas['hub-b'].base];
    const answers = await Promise.all(
      Array.from({ length: 40 }, (_, i) => api(bases[i % 2], '/api/v1/payments', { method: 'POST', body: { amount: '3', token: 'USDT', network: 'bsc' } })),
    );
    assert.deepEqual([...new Set(answers.map((r) => r.status))], [201]);
    const amounts = (await Promise.all(answers.map((r) => r.json()))).map((p) => p.amount_base_units);
    assert.equal(new Set(amounts).size, 40, 'every sale its own exact amount');
    // Through the balancer too: the list shows them all, whichever replica answers.
    const listed = await balanced('/api/v1/payments?limit=100');
    assert.equal(listed.status, 200);
    const ids = new Set(listed.body.payments.map((p) => p.id));
    assert.ok(answers.length === 40 && [...ids].length >= 40, 'the balancer lists every sale');
  });

  it('when the leader is killed mid-payments the other leads within 10 s and every payment is paid and announced once', async () => {
    const leader = await eventually('one leader', leaderName);
    const survivor = leader === 'hub-a' ? 'hub-b' : 'hub-a';
    const sales = [];
    for (let i = 0; i < 6; i++) {
      const r = await balanced('/api/v1/payments', { method: 'POST', body: { amount: `${20 + i}`, token: 'USDT', network: 'bsc' } });
      assert.equal(r.status, 201);
      sales.push(r.body);
    }
    for (const p of sales.slice(0, 3)) await pay(p);
    await eventually('the first sales credited', async () => {
      const s = await json(replicas[survivor].base, `/api/v1/payments/${sales[0].id}`);
      return s.status === 'confirming' || s.status === 'paid';
    });
    replicas[leader].child.kill('SIGKILL');
    const killed = Date.now();
    for (const p of sales.slice(3)) await pay(p);
    await eventually('the survivor leads', async () => (await health(survivor)).replica.leader, 10_000);
    const tookOver = Date.now() - killed;
    console.log(`  failover: ${survivor} led ${tookOver} ms after ${leader} was killed`);
    assert.ok(tookOver <= 10_000);
    for (const p of sales) {
      await eventually(`${p.id} paid`, async () => (await json(replicas[survivor].base, `/api/v1/payments/${p.id}`)).status === 'paid', 60_000);
    }
    // Paid once each, in the audit trail…
    const paidEvents = spawnSync('psql', [databaseUrl, '-Atc', `SELECT payment_id, COUNT(*) FROM events WHERE kind = 'payment.paid' AND payment_id IN (${sales.map((p) => `'${p.id}'`).join(',')}) GROUP BY payment_id`], { encoding: 'utf8' });
    const counts = paidEvents.stdout.trim().split('\n').map((l) => l.split('|'));
    assert.equal(counts.length, 6, paidEvents.stdout + paidEvents.stderr);
    assert.ok(counts.every(([, n]) => n === '1'), `one payment.paid each: ${paidEvents.stdout}`);
    // …and announced once each to the webhook.
    await eventually('every paid webhook delivered', async () => sales.every((p) => webhooks.some((w) => w.data?.payment?.id === p.id)), 30_000);
    await sleep(1500); // a duplicate would come now
    for (const p of sales) {
      const got = webhooks.filter((w) => w.type === 'payment.paid' && w.data?.payment?.id === p.id);
      assert.equal(new Set(got.map((w) => w.id)).size, 1, `one event for ${p.id}`);
      assert.equal(got.length, 1, `delivered once: ${p.id}`);
    }
    // A socket that reconnects (to the survivor, as the balancer would send it) sees the final state.
    const again = await follow(replicas[survivor].base, sales[5].id);
    await eventually('the reconnected socket says paid', async () => again.updates.some((u) => u.status === 'paid'), 5_000).catch(async () => {
      // The socket's first frames carry the current status; without an update frame, the API does.
      assert.equal((await json(replicas[survivor].base, `/api/v1/payments/${sales[5].id}`)).status, 'paid');
    });
    again.ws.close();
  });
});
