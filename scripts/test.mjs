// `npm test`: every suite, in order, streaming each runner's own output (and so its summary line).
// Stops at the first failing suite; prints a table of what ran. Add a suite by adding a line below.
// First sets up what the suites need (Debian packages, tauri-driver, cargo-fuzz with nightly, then
// `npm ci`; see setup.mjs), so it runs on a fresh clone.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { setup } from './setup.mjs';

setup('test');

const has = (cmd, args) => spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;

const suites = [
  { name: 'setup scripts (node:test)', cmd: 'node', args: ['--test', 'scripts/setup.test.mjs'] },
  { name: 'UI build', cmd: 'npm', args: ['run', '--silent', 'ui:build'] },
  { name: 'UI type check', cmd: 'npm', args: ['run', '--silent', 'ui:typecheck'] },
  { name: 'UI unit tests (vitest)', cmd: 'npm', args: ['run', '--silent', 'test:ui'] },
  { name: 'Rust tests (core, server, anvil)', cmd: 'cargo', args: ['test', '--workspace', '--all-targets', '--', '--test-threads', '4'] },
  // The same API suite again, each test on a fresh database of a throwaway PostgreSQL cluster
  // (Debian's postgresql, initdb in a temporary folder, a random port): both stores, one contract.
  {
    name: 'API suite on PostgreSQL (throwaway cluster)',
    cmd: 'node',
    args: ['scripts/postgres.mjs', 'cargo', 'test', '-p', 'stablepay-server', '--test', 'api', '--', '--test-threads', '4'],
  },
  // After the Rust suite, which builds the server whose OpenAPI document the UI's types come from.
  { name: 'API types match the OpenAPI document', cmd: 'npm', args: ['run', '--silent', 'api:types:check'] },
  {
    name: 'dev chain kit (node:test)',
    cmd: 'node',
    args: ['--test', 'devchain/'],
    when: () => existsSync('devchain') && readdirSync('devchain').some((f) => f.endsWith('.test.mjs')),
  },
  { name: 'desktop shell build and .deb (tauri build --debug --bundles deb)', cmd: 'npx', args: ['tauri', 'build', '--debug', '--bundles', 'deb'] },
  // End to end, one file at a time (2 cores): Chromium against the real server (built by the Rust
  // suite) and anvil, then the desktop app under Xvfb through tauri-driver. Screenshots in artifacts/.
  { name: 'end to end (Chromium; desktop app under Xvfb; nginx; schemathesis)', cmd: 'node', args: ['--test', '--test-concurrency=1', 'e2e/'] },
  {
    name: 'fuzz (cargo fuzz, 15 s per target)',
    cmd: 'node',
    args: ['scripts/fuzz.mjs', '15'],
    when: () => {
      const ok = has('cargo', ['+nightly', 'fuzz', '--version']);
      if (!ok) console.log('\n=== fuzz skipped: needs the nightly toolchain and cargo-fuzz');
      return ok;
    },
  },
];

const results = [];
let failed = false;
for (const suite of suites) {
  if (suite.when && !suite.when()) continue;
  console.log(`\n=== ${suite.name}: ${suite.cmd} ${suite.args.join(' ')}`);
  const started = Date.now();
  const run = spawnSync(suite.cmd, suite.args, { stdio: 'inherit', env: process.env });
  const ok = run.status === 0;
  results.push({ suite: suite.name, result: ok ? 'passed' : `FAILED (${run.status ?? run.signal})`, seconds: Math.round((Date.now() - started) / 1000) });
  if (!ok) {
    failed = true;
    break;
  }
}
console.log('\n=== summary');
console.table(results);
const passed = results.filter((r) => r.result === 'passed').length;
console.log(`suites: ${passed} passed, ${results.length - passed} failed`);
process.exit(failed ? 1 : 0);
