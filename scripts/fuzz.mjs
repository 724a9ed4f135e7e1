// `npm run fuzz [-- SECONDS]`: every cargo-fuzz target for SECONDS each (default 15; CI uses the
// default). Longer runs: `cargo +nightly fuzz run -s none --fuzz-dir fuzz <target> -- -max_total_time=3600`.
// `-s none`: Rust is memory-safe, so no sanitizer; panics and failed assertions are what we hunt.
// Crashes are saved under fuzz/artifacts/<target>/ and make this command fail.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const seconds = Number(process.argv[2] ?? 15);
const targets = readdirSync(join(root, 'fuzz', 'fuzz_targets')).map((f) => f.replace(/\.rs$/, '')).sort();
const failed = [];
for (const target of targets) {
  console.log(`fuzz: ${target} for ${seconds} s`);
  const run = spawnSync('cargo', ['+nightly', 'fuzz', 'run', '-s', 'none', '--fuzz-dir', 'fuzz', target, '--', `-max_total_time=${seconds}`], {
    cwd: root,
    encoding: 'utf8',
  });
  const done = (run.stderr.match(/Done \d+ runs in \d+ second/) ?? ['(no summary)'])[0];
  console.log(`fuzz: ${target}: ${run.status === 0 ? 'ok' : 'FAILED'} — ${done}`);
  if (run.status !== 0) {
    console.log(run.stderr.split('\n').filter((l) => /panicked|SUMMARY|Test unit written/.test(l)).join('\n'));
    failed.push(target);
  }
}
console.log(`fuzz targets: ${targets.length - failed.length} passed, ${failed.length} failed`);
process.exit(failed.length ? 1 : 0);
