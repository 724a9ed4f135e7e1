// deploy/nginx/stablepay.conf in front of a running stablepay-server, with Debian's nginx: the
// config passes `nginx -t`, and REST and a WebSocket upgrade go through it over TLS (self-signed
// certificate made for the test). The only changes to the file are the test's addresses and paths.
// Also checks the dev/staging/prod profiles with `stablepay-server check-config`.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, cpSync, mkdtempSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { request } from 'node:https';
import { connect } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { freePort } from '../devchain/lib/anvil.mjs';
import { ROOT } from '../devchain/up.mjs';

const NGINX = ['/usr/sbin/nginx', 'nginx'].find((n) => spawnSync(n, ['-v']).status === 0);
const SERVER = join(ROOT, 'target', 'debug', 'stablepay-server');
const children = [];
let dir;
const KEY = 'k_nginx_0123456789abcdef0123456789ab';
let httpsPort;

before(async () => {
  if (!NGINX) return;
  dir = mkdtempSync(join(tmpdir(), 'stablepay-nginx-'));
  // Run as root, nginx's workers are `nobody`: the built UI is copied where they can read it, as the
  // image copies it to /usr/share/nginx/stablepay (a fresh clone may sit in a private folder).
  chmodSync(dir, 0o755);
  cpSync(join(ROOT, 'ui', 'dist'), join(dir, 'site'), { recursive: true });
  const serverPort = await freePort();
  httpsPort = await freePort();
  const httpPort = await freePort();
  spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-keyout', join(dir, 'privkey.pem'), '-out', join(dir, 'fullchain.pem')], { stdio: 'ignore' });
  const config = join(dir, 'server.toml');
  writeFileSync(config, `[server]\nbind = "127.0.0.1:${serverPort}"\napi_keys = ["${KEY}"]\npublic_url = "https://shop.example"\ntrusted_proxies = ["127.0.0.1"]\n[database]\npath = "${join(dir, 'stablepay.db')}"\n[merchant]\nreceive_address = "0x8AC76a51cc950d9822D68b83fE1Ad97B32Cd580d"\n[chain]\nenabled = false\n`);
  children.push(spawn(SERVER, ['serve', '--config', config], { stdio: 'ignore', env: { ...process.env, RUST_LOG: 'warn' } }));

  const site = readFileSync(join(ROOT, 'deploy', 'nginx', 'stablepay.conf'), 'utf8')
    .replace('server stablepay:8080;', `server 127.0.0.1:${serverPort};`)
    .replace('listen 80;', `listen 127.0.0.1:${httpPort};`)
    .replace('listen 443 ssl http2;', `listen 127.0.0.1:${httpsPort} ssl http2;`)
    .replace('/etc/nginx/certs/fullchain.pem', join(dir, 'fullchain.pem'))
    .replace('/etc/nginx/certs/privkey.pem', join(dir, 'privkey.pem'))
    .replace('root /usr/share/nginx/stablepay;', `root ${join(dir, 'site')};`);
  writeFileSync(join(dir, 'site.conf'), site);
  mkdirSync(join(dir, 'logs'), { recursive: true });
  writeFileSync(
    join(dir, 'nginx.conf'),
    `daemon off;\npid ${join(dir, 'nginx.pid')};\nerror_log ${join(dir, 'logs', 'error.log')} warn;\nevents {}\nhttp {\n  include /etc/nginx/mime.types;\n  access_log off;\n  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fcgi; uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;\n  include ${join(dir, 'site.conf')};\n}\n`,
  );
  for (let i = 0; i < 100; i++) {
    if (await fetch(`http://127.0.0.1:${serverPort}/health`).then((r) => r.ok, () => false)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
});

after(() => {
  for (const c of children) c.kill('SIGTERM');
});

function https(path, { method = 'GET', body, headers = {} } = {}) {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: httpsPort, path, method, rejectUnauthorized: false, headers: { ...(body ? { 'content-type': 'application/json' } : {}), ...headers } }, (res) => {
      let data = '';
      res.on('data', (c) => (data += c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: data }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** A WebSocket handshake over TLS by hand (Node 20 has no WebSocket client): the 101, then the first frame's text. */
function websocket(path) {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: httpsPort, rejectUnauthorized: false }, () => {
      socket.write(`GET ${path} HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    });
    let buffer = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      buffer = Buffer.concat([buffer, chunk]);
      const end = buffer.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = buffer.subarray(0, end).toString();
      const frame = buffer.subarray(end + 4);
      if (frame.length < 2) return;
      let length = frame[1] & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (frame.length < 4) return;
        length = frame.readUInt16BE(2);
        offset = 4;
      }
      if (frame.length < offset + length) return;
      socket.destroy();
      resolve({ head, text: frame.subarray(offset, offset + length).toString() });
    });
    socket.on('error', reject);
    setTimeout(() => reject(new Error('no WebSocket answer')), 10_000);
  });
}

describe('nginx in front of the server', { skip: NGINX ? false : 'nginx is not installed (apt-get install nginx)' }, () => {
  it('accepts the shipped config with nginx -t', () => {
    const check = spawnSync(NGINX, ['-t', '-c', join(dir, 'nginx.conf'), '-p', dir], { encoding: 'utf8' });
    assert.equal(check.status, 0, check.stderr);
    assert.match(check.stderr, /syntax is ok/);
  });

  it('passes REST and a WebSocket upgrade through TLS, and serves the UI', async () => {
    children.push(spawn(NGINX, ['-c', join(dir, 'nginx.conf'), '-p', dir], { stdio: 'ignore' }));
    let health;
    for (let i = 0; i < 50 && !health; i++) {
      health = await https('/health').catch(() => null);
      if (!health) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(health.status, 200);
    assert.equal(JSON.parse(health.body).status, 'ok');

    const sale = JSON.stringify({ amount: '7', token: 'USDT' });
    const keyless = await https('/api/v1/payments', { method: 'POST', body: sale });
    assert.equal(keyless.status, 401, 'through the proxy, a merchant route needs the key');
    const created = await https('/api/v1/payments', { method: 'POST', body: sale, headers: { authorization: `Bearer ${KEY}` } });
    assert.equal(created.status, 201, created.body);
    const rebound = await https('/health', { headers: { host: 'rebind.attacker.example' } });
    assert.equal(rebound.status, 421, 'a host name the server does not serve');
    const payment = JSON.parse(created.body);

    const ws = await websocket(`/ws/payments/${payment.id}`);
    assert.match(ws.head, /^HTTP\/1.1 101/);
    const ack = JSON.parse(ws.text);
    assert.equal(ack.type, 'connection_ack');
    assert.equal(ack.paymentId, payment.id);

    const page = await https('/');
    assert.equal(page.status, 200);
    assert.match(page.body, /id="app"/);
    for (const answer of [page, health]) {
      assert.equal(answer.headers['x-frame-options'], 'DENY');
      assert.equal(answer.headers['x-content-type-options'], 'nosniff');
      assert.match(answer.headers['content-security-policy'], /frame-ancestors 'none'/);
    }
    assert.match(page.headers['strict-transport-security'], /max-age=/);
    assert.equal((await https('/metrics')).status, 403, 'metrics stay private');
  });

  it('ships dev, staging and prod profiles that pass check-config (prod and staging need an API key)', () => {
    for (const profile of ['dev', 'staging', 'prod']) {
      const path = join(ROOT, 'deploy', 'profiles', `${profile}.toml`);
      const ok = spawnSync(SERVER, ['check-config', '--config', path], { encoding: 'utf8', env: { ...process.env, STABLEPAY_SERVER__API_KEYS: 'k_0123456789abcdef0123456789abcdef' } });
      assert.equal(ok.status, 0, `${profile}: ${ok.stderr}`);
    }
    const refused = spawnSync(SERVER, ['check-config', '--config', join(ROOT, 'deploy', 'profiles', 'prod.toml')], { encoding: 'utf8', env: { ...process.env, STABLEPAY_SERVER__API_KEYS: '' } });
    assert.notEqual(refused.status, 0);
    assert.match(refused.stderr, /api/i);
  });
});
