// Schemathesis (PyPI) against the OpenAPI document the server serves: thousands of generated
// requests, including stateful sequences, with API keys configured. Passes when no answer is a 5xx
// and every answer conforms to the document (status codes, content types, headers, bodies), auth is
// enforced and unsupported methods are refused. Two input-side checks are left out on purpose:
// `positive_data_acceptance` (the server rightly refuses schema-valid but meaningless input —
// unknown tokens, more decimals than the token has, ids that do not exist) and
// `negative_data_rejection` (it accepts some inputs the schema cannot express as valid).
// The tool is installed once into .venv-tools/ (pip, pinned).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { freePort } from '../devchain/lib/anvil.mjs';
import { ROOT } from '../devchain/up.mjs';

const VERSION = '4.32.5';
const VENV = join(ROOT, '.venv-tools');
const ST = join(VENV, 'bin', 'schemathesis');
const KEY = 'k_schemathesis_0123456789abcdef012345';
let server;
let base;
let setupError;

before(async () => {
  if (!existsSync(ST)) {
    const venv = spawnSync('python3', ['-m', 'venv', VENV], { stdio: 'inherit' });
    const pip = venv.status === 0 && spawnSync(join(VENV, 'bin', 'pip'), ['install', '--quiet', `schemathesis==${VERSION}`], { stdio: 'inherit' });
    if (!pip || pip.status !== 0) setupError = 'could not install schemathesis from PyPI';
  }
  const dir = mkdtempSync(join(tmpdir(), 'stablepay-st-'));
  const port = await freePort();
  const config = join(dir, 'c.toml');
  writeFileSync(config, `[server]\nbind = "127.0.0.1:${port}"\nrate_limit_per_second = 0\napi_keys = ["${KEY}"]\n[database]\npath = "${join(dir, 'db')}"\n[merchant]\nreceive_address = "0x8AC76a51cc950d9822D68b83fE1Ad97B32Cd580d"\n[chain]\nenabled = false\n`);
  server = spawn(join(ROOT, 'target', 'debug', 'stablepay-server'), ['serve', '--config', config], { stdio: 'ignore', env: { ...process.env, RUST_LOG: 'warn' } });
  base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    if (await fetch(`${base}/health`).then((r) => r.ok, () => false)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
});

after(() => server?.kill('SIGTERM'));

describe('schemathesis against the served OpenAPI document', () => {
  // The settings operations are left out: a fuzzed PATCH that validates really rewrites this
  // server's configuration and reloads it (and test-endpoint makes the server call the fuzzer's
  // URLs); their validation has its own tests (src-tauri/server/tests/api/settings.rs).
  it('finds no 5xx and no answer that breaks the document', () => {
    assert.equal(setupError, undefined);
    const run = spawnSync(
      ST,
      ['run', `${base}/api/openapi.json`, '--max-examples', '40', '--checks', 'all', '--exclude-checks', 'positive_data_acceptance,negative_data_rejection', '--exclude-path-regex', '^/api/v1/settings', '--header', `Authorization: Bearer ${KEY}`, '--seed', '20261124'],
      { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } },
    );
    const summary = run.stdout.split('\n').filter((l) => /generated|passed|failed|Failures/.test(l)).join('\n');
    console.log(summary);
    assert.equal(run.status, 0, run.stdout.slice(-4000));
  });
});
