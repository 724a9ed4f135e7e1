// The bounded soak (issue 7), run by `npm test` on the debug server: 60 s of create/get load, 2,000
// open payment sockets and a stream of on-chain payments. Asserts the invariants only — zero
// errors, every paid payment paid, none credited twice, every socket still open, memory that does
// not run away; speed figures come from `npm run soak` on the release build (BENCHMARKS.md).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { ROOT } from '../devchain/up.mjs';

it('a 60 s soak ends with zero errors, nothing lost or doubled, and flat memory', { timeout: 300_000 }, () => {
  const run = spawnSync('node', ['scripts/bench.mjs', 'soak', '--json'], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, STABLEPAY_BENCH_BIN: join(ROOT, 'target', 'debug', 'stablepay-server') },
  });
  process.stdout.write(run.stdout.split('\n').filter((l) => l.startsWith('  soak:')).join('\n') + '\n');
  const line = run.stdout.split('\n').find((l) => l.startsWith('BENCH_JSON '));
  assert.ok(line, `the soak printed its figures\n${run.stdout}\n${run.stderr}`);
  const raw = Object.fromEntries(JSON.parse(line.slice('BENCH_JSON '.length)).map((r) => [r.figure, r.raw]));
  const http = raw['soak: HTTP requests, errors'];
  const money = raw['soak: on-chain payments, not paid, credited twice'];
  const sockets = raw['soak: sockets open at the end'];
  const rss = raw['soak: RSS 10 s in → last 10 s (median)'];
  assert.ok(http.requests > 1000, `load was applied (${http.requests} requests)`);
  assert.equal(http.errors, 0);
  assert.ok(money.paid > 10, `payments streamed (${money.paid})`);
  assert.equal(money.notPaid, 0);
  assert.equal(money.doubles, 0);
  assert.equal(sockets.open, sockets.sockets);
  // Flat: the SQLite page caches fill in the first seconds; a leak of sockets or events would grow
  // by far more than this over the run.
  assert.ok(rss.lastRss <= rss.firstRss * 1.25 + 10, `RSS ${rss.firstRss.toFixed(1)} → ${rss.lastRss.toFixed(1)} MB`);
  assert.equal(run.status, 0);
});
