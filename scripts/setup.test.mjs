// The decisions in setup.mjs, with a fake command runner: nothing here installs or runs anything.
// `node --test scripts/setup.test.mjs`
import { mkdtempSync, utimesSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  RUN_PACKAGES, TEST_PACKAGES, SetupError, isInstalled, missingPackages, installPlan, ensureDebianPackages,
  listsNightly, ensureCargoTool, nodeModulesStale, ensureNodeModules,
} from './setup.mjs';

const status = (s) => `Package: x\nStatus: ${s}\nPriority: optional\n`;

// A runner that answers `dpkg -s` from `installed`, `sudo -n true` from `sudo`, and records the rest.
function fakeSystem({ dpkg = true, installed = [], sudo = false, onPath = [], fail = [] } = {}) {
  const calls = [];
  const run = (cmd, args) => {
    if (cmd === 'dpkg' && args[0] === '--version') return dpkg ? { status: 0, stdout: '' } : { status: null, stdout: '', error: { code: 'ENOENT' } };
    if (cmd === 'dpkg' && args[0] === '-s') return installed.includes(args[1]) ? { status: 0, stdout: status('install ok installed') } : { status: 1, stdout: '' };
    if (cmd === 'sudo' && args.join(' ') === '-n true') return { status: sudo ? 0 : 1, stdout: '' };
    if (cmd === 'sh') return { status: onPath.includes(args[2]) ? 0 : 1, stdout: '' };
    calls.push([cmd, ...args].join(' '));
    return { status: fail.some((f) => calls.at(-1).includes(f)) ? 100 : 0, stdout: '' };
  };
  return { run, calls };
}

describe('Debian packages', () => {
  it('declares the run list once, inside the test list', () => {
    assert.ok(RUN_PACKAGES.every((p) => TEST_PACKAGES.includes(p)));
    for (const p of ['chromium', 'xvfb', 'nginx', 'webkit2gtk-driver']) assert.ok(!RUN_PACKAGES.includes(p) && TEST_PACKAGES.includes(p));
    assert.equal(new Set(TEST_PACKAGES).size, TEST_PACKAGES.length);
  });

  it('reads the Status line of dpkg -s', () => {
    assert.ok(isInstalled(status('install ok installed')));
    assert.ok(isInstalled(status('hold ok installed')));
    assert.ok(!isInstalled(status('deinstall ok config-files')));
    assert.ok(!isInstalled(status('install ok half-configured')));
    assert.ok(!isInstalled(''));
  });

  it('lists the missing packages in order', () => {
    const { run } = fakeSystem({ installed: ['b', 'd'] });
    assert.deepEqual(missingPackages(['a', 'b', 'c', 'd'], { run }), ['a', 'c']);
  });

  it('installs as root with apt-get, as a sudoer through sudo -n, and otherwise prints the command', () => {
    const never = () => assert.fail('root does not ask sudo');
    const root = installPlan(['a', 'b'], { uid: 0, sudoWorks: never });
    assert.equal(root.mode, 'root');
    assert.deepEqual(root.commands.map(([c, a]) => [c, ...a].join(' ')), ['apt-get update -qq', 'apt-get install -y -qq --no-install-recommends a b']);
    const sudo = installPlan(['a'], { uid: 1000, sudoWorks: () => true });
    assert.deepEqual(sudo.commands.map(([c, a]) => [c, ...a].join(' ')), [
      'sudo -n env DEBIAN_FRONTEND=noninteractive apt-get update -qq',
      'sudo -n env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends a',
    ]);
    assert.deepEqual(installPlan(['a', 'b'], { uid: 1000, sudoWorks: () => false }), { mode: 'manual', command: 'sudo apt-get install -y a b' });
  });

  it('does nothing and prints nothing when all is present', () => {
    const { run, calls } = fakeSystem({ installed: ['a', 'b'] });
    const lines = [];
    assert.deepEqual(ensureDebianPackages(['a', 'b'], { run, log: (l) => lines.push(l), uid: 1000 }), []);
    assert.deepEqual([calls, lines], [[], []]);
  });

  it('installs only the missing ones, with one line', () => {
    const { run, calls } = fakeSystem({ installed: ['a'] });
    const lines = [];
    ensureDebianPackages(['a', 'b', 'c'], { run, log: (l) => lines.push(l), uid: 0 });
    assert.deepEqual(calls, ['apt-get update -qq', 'apt-get install -y -qq --no-install-recommends b c']);
    assert.deepEqual(lines, ['setup: installing b c (apt-get)']);
  });

  it('without root or sudo, stops with the exact command and runs nothing', () => {
    const { run, calls } = fakeSystem({ installed: ['a'] });
    assert.throws(() => ensureDebianPackages(['a', 'b', 'c'], { run, log: () => {}, uid: 1000 }), (e) => e instanceof SetupError && e.message.endsWith('\n  sudo apt-get install -y b c') && e.command === 'sudo apt-get install -y b c');
    assert.deepEqual(calls, []);
  });

  it('stops when apt-get fails', () => {
    const { run } = fakeSystem({ fail: ['install'] });
    assert.throws(() => ensureDebianPackages(['a'], { run, log: () => {}, uid: 0 }), SetupError);
  });

  it('dry run reports and installs nothing', () => {
    const { run, calls } = fakeSystem({ sudo: true });
    const lines = [];
    assert.deepEqual(ensureDebianPackages(['a'], { run, log: (l) => lines.push(l), uid: 1000, dryRun: true }), ['a']);
    assert.deepEqual([calls, lines], [[], ['setup: would install a (apt-get via sudo -n)']]);
  });

  it('skips everything, with one line, without dpkg', () => {
    const { run, calls } = fakeSystem({ dpkg: false });
    const lines = [];
    assert.deepEqual(ensureDebianPackages(['a'], { run, log: (l) => lines.push(l), uid: 1000 }), []);
    assert.equal(calls.length, 0);
    assert.equal(lines.length, 1);
    assert.match(lines[0], /not Debian/);
  });
});

describe('cargo tools', () => {
  it('recognises the nightly toolchain as cargo +nightly does', () => {
    assert.ok(listsNightly('stable-x86_64-unknown-linux-gnu (active, default)\nnightly-x86_64-unknown-linux-gnu\n'));
    assert.ok(listsNightly('nightly-aarch64-unknown-linux-gnu (active)\n'));
    assert.ok(!listsNightly('stable-x86_64-unknown-linux-gnu (active, default)\n1.95.0-x86_64-unknown-linux-gnu\n'));
    assert.ok(!listsNightly('nightly-2024-05-01-x86_64-unknown-linux-gnu\n'));
    assert.ok(!listsNightly(''));
  });

  it('installs a missing tool, leaves a present one, and honours `when`', () => {
    const { run, calls } = fakeSystem({ onPath: ['tauri-driver'] });
    const log = () => {};
    assert.equal(ensureCargoTool('tauri-driver', { run, log }), false);
    assert.equal(ensureCargoTool('cargo-fuzz', { run, log, when: () => false }), false);
    assert.deepEqual(calls, []);
    assert.equal(ensureCargoTool('cargo-fuzz', { run, log, when: () => true }), true);
    assert.deepEqual(calls, ['cargo install cargo-fuzz --locked --quiet']);
  });
});

describe('node_modules', () => {
  it('is stale when missing or older than package-lock.json', () => {
    assert.ok(nodeModulesStale({ lockMtime: 1, installedMtime: null }));
    assert.ok(nodeModulesStale({ lockMtime: 2, installedMtime: 1 }));
    assert.ok(!nodeModulesStale({ lockMtime: 1, installedMtime: 2 }));
  });

  it('runs npm ci only then', () => {
    const dir = mkdtempSync(join(tmpdir(), 'stablepay-setup-'));
    writeFileSync(join(dir, 'package-lock.json'), '{}');
    const { run, calls } = fakeSystem();
    const log = () => {};
    assert.equal(ensureNodeModules({ dir, run, log }), true);
    mkdirSync(join(dir, 'node_modules'));
    writeFileSync(join(dir, 'node_modules', '.package-lock.json'), '{}');
    utimesSync(join(dir, 'package-lock.json'), 1000, 1000);
    assert.equal(ensureNodeModules({ dir, run, log }), false);
    utimesSync(join(dir, 'package-lock.json'), new Date(), new Date(Date.now() + 60_000));
    assert.equal(ensureNodeModules({ dir, run, log }), true);
    assert.deepEqual(calls, ['npm ci --no-audit --no-fund', 'npm ci --no-audit --no-fund']);
  });
});
