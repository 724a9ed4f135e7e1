// The integrator guide's signature checkers (docs/examples, Python and Node.js) accept a real
// delivery from the real server and refuse a tampered body or a wrong secret.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { freePort } from '../devchain/lib/anvil.mjs';
import { ROOT } from '../devchain/up.mjs';

const SECRET = 'whsec_docs_example_0123';
let server;
let receiver;
let delivery;

before(async () => {
  const got = new Promise((resolve) => {
    receiver = createServer((req, res) => {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        res.end('ok');
        resolve({ header: req.headers['stablepay-signature'], body: Buffer.concat(chunks) });
      });
    }).listen(0, '127.0.0.1');
  });
  await new Promise((r) => receiver.once('listening', r));
  const dir = mkdtempSync(join(tmpdir(), 'stablepay-hooks-'));
  const port = await freePort();
  const config = join(dir, 'c.toml');
  writeFileSync(config, `[server]\nbind = "127.0.0.1:${port}"\n[database]\npath = "${join(dir, 'db')}"\n[merchant]\nreceive_address = "0x8AC76a51cc950d9822D68b83fE1Ad97B32Cd580d"\n[chain]\nenabled = false\n[[webhooks]]\nurl = "http://127.0.0.1:${receiver.address().port}/hook"\nsecret = "${SECRET}"\n`);
  server = spawn(join(ROOT, 'target', 'debug', 'stablepay-server'), ['serve', '--config', config], { stdio: 'ignore' });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    if (await fetch(`${base}/health`).then((r) => r.ok, () => false)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const p = await (await fetch(`${base}/api/v1/payments`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ amount: '3', token: 'USDT' }) })).json();
  await fetch(`${base}/api/v1/payments/${p.id}/cancel`, { method: 'POST' });
  delivery = await got;
});

after(() => {
  server?.kill('SIGTERM');
  receiver?.close();
});

const run = (cmd, args, input) => spawnSync(cmd, args, { input, encoding: 'utf8' }).status;

describe('the signature checkers in the integrator guide', () => {
  for (const [lang, cmd, script] of [
    ['Python', 'python3', 'docs/examples/verify_webhook.py'],
    ['Node.js', 'node', 'docs/examples/verify-webhook.mjs'],
  ]) {
    it(`${lang} accepts a real delivery and refuses tampering`, () => {
      const path = join(ROOT, script);
      assert.equal(run(cmd, [path, SECRET, delivery.header], delivery.body), 0);
      assert.equal(run(cmd, [path, SECRET, delivery.header], Buffer.concat([delivery.body, Buffer.from(' ')])), 1);
      assert.equal(run(cmd, [path, 'whsec_wrong_secret_0000', delivery.header], delivery.body), 1);
    });
  }
});
