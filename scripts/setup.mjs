// Setup shared by `npm start` and `npm test`, so that both work on a fresh Debian machine with only
// Node and Rust: the Debian packages (apt-get as root, `sudo -n` for a user with passwordless sudo,
// otherwise the one command to run), the cargo tools, then `npm ci`. It imports nothing from
// node_modules because it is what installs them, and it prints one line per thing it installs and
// nothing when all is present.
//
// `node scripts/setup.mjs [start|test] [--dry-run]` runs the same setup by itself (default `test`,
// the full list); `--dry-run` only reports what is missing and exits 1 if anything is.
import { spawnSync } from 'node:child_process';
import { existsSync, realpathSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(import.meta.dirname, '..');

// What running the desktop app needs: the Tauri 2 build on Linux (WebKitGTK 4.1, GTK, the tray's
// appindicator, rsvg for icons, libsoup), a C toolchain for the crates that compile C, and a CJK font
// (without one, the Chinese interface shows empty boxes).
export const RUN_PACKAGES = [
  'libwebkit2gtk-4.1-dev', 'libgtk-3-dev', 'libayatana-appindicator3-dev', 'librsvg2-dev', 'libsoup-3.0-dev',
  'libjavascriptcoregtk-4.1-dev', 'build-essential', 'pkg-config', 'libssl-dev', 'fonts-noto-cjk',
];
// What the suites add: Xvfb for the desktop end-to-end test and WebKitWebDriver for tauri-driver,
// Chromium for the browser tests, dbus for `dbus-run-session`, nginx and openssl for the reverse-proxy
// test, python3-venv for the schemathesis venv, poppler-utils (pdftotext) to read back the receipt
// Chromium printed to PDF, postgresql for the suites run on PostgreSQL (a throwaway cluster each
// run, scripts/postgres.mjs; no service is started).
export const TEST_PACKAGES = [
  ...RUN_PACKAGES,
  'xvfb', 'xauth', 'webkit2gtk-driver', 'chromium', 'dbus', 'nginx', 'openssl', 'python3-venv', 'poppler-utils',
  'postgresql',
];

// A setup step that cannot go on; the message says what to do, so no stack trace is printed.
export class SetupError extends Error {}

// The one place setup touches the system; the tests pass their own.
export function system(cmd, args, options = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20, ...options });
  return { status: r.error ? null : r.status, stdout: r.stdout ?? '', error: r.error };
}

// `dpkg -s` also answers (exit 0) for a package removed but not purged ("deinstall ok
// config-files"), so the Status line decides.
export function isInstalled(dpkgStatusOutput) {
  return /^Status: \S+ ok installed$/m.test(dpkgStatusOutput);
}

export function missingPackages(list, { run = system } = {}) {
  return list.filter((p) => {
    const r = run('dpkg', ['-s', p], { stdio: ['ignore', 'pipe', 'ignore'] });
    return !(r.status === 0 && isInstalled(r.stdout));
  });
}

// How to install `missing`: root runs apt-get; a user with passwordless sudo runs it through
// `sudo -n` (never a password prompt: CI has no stdin); anyone else gets the command to run.
export function installPlan(missing, { uid, sudoWorks }) {
  const apt = [
    ['apt-get', ['update', '-qq']],
    ['apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing]],
  ];
  if (uid === 0) return { mode: 'root', commands: apt };
  if (sudoWorks()) {
    // sudo drops the environment, so DEBIAN_FRONTEND goes through env(1).
    return { mode: 'sudo', commands: apt.map(([cmd, args]) => ['sudo', ['-n', 'env', 'DEBIAN_FRONTEND=noninteractive', cmd, ...args]]) };
  }
  return { mode: 'manual', command: `sudo apt-get install -y ${missing.join(' ')}` };
}

export function ensureDebianPackages(list, { run = system, log = console.log, uid = process.getuid?.(), dryRun = false } = {}) {
  if (run('dpkg', ['--version'], { stdio: 'ignore' }).status !== 0) {
    log('setup: no dpkg (not Debian): skipping the system packages; install WebKitGTK 4.1 and the rest yourself');
    return [];
  }
  const missing = missingPackages(list, { run });
  if (!missing.length) return missing;
  const sudoWorks = () => run('sudo', ['-n', 'true'], { stdio: 'ignore' }).status === 0;
  const plan = installPlan(missing, { uid, sudoWorks });
  if (plan.mode === 'manual') {
    const e = new SetupError(`setup: Debian packages are missing, and there is no root or passwordless sudo to install them; run:\n  ${plan.command}`);
    throw Object.assign(e, { command: plan.command });
  }
  log(`setup: ${dryRun ? 'would install' : 'installing'} ${missing.join(' ')} (apt-get${plan.mode === 'sudo' ? ' via sudo -n' : ''})`);
  if (dryRun) return missing;
  for (const [cmd, args] of plan.commands) {
    // apt's progress goes to stdout and is only shown when it fails; its errors go to stderr.
    const r = run(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    if (r.status !== 0) {
      process.stdout.write(r.stdout);
      throw new SetupError(`setup: "${cmd} ${args.join(' ')}" failed (${r.error?.code ?? r.status})`);
    }
  }
  return missing;
}

// `cargo install` puts tools in $CARGO_HOME/bin, which a fresh shell may not have on its PATH yet
// (rustup adds it at the next login): add it so the check below and the suites find them.
export function addCargoBinToPath(env = process.env) {
  const bin = join(env.CARGO_HOME || join(homedir(), '.cargo'), 'bin');
  const dirs = (env.PATH ?? '').split(delimiter);
  if (existsSync(bin) && !dirs.includes(bin)) env.PATH = [bin, ...dirs].filter(Boolean).join(delimiter);
}

const onPath = (name, run) => run('sh', ['-c', 'command -v "$0"', name], { stdio: 'ignore' }).status === 0;

// `rustup toolchain list` lines look like "nightly-x86_64-unknown-linux-gnu (active)"; a dated
// nightly ("nightly-2024-05-01-…") is not what `cargo +nightly` picks.
export function listsNightly(rustupToolchainList) {
  return /^nightly(-(?!\d{4}-\d\d-\d\d)\S+)?(\s|$)/m.test(rustupToolchainList);
}

// Asks rustup, not `cargo +nightly`, so that a missing nightly is never downloaded.
export function hasNightly({ run = system } = {}) {
  const r = run('rustup', ['toolchain', 'list'], { stdio: ['ignore', 'pipe', 'ignore'] });
  return r.status === 0 && listsNightly(r.stdout);
}

export function ensureCargoTool(name, { when, run = system, log = console.log, dryRun = false } = {}) {
  if (when && !when()) return false;
  if (onPath(name, run)) return false;
  log(`setup: ${dryRun ? 'would install' : 'installing'} ${name} (cargo install --locked)`);
  if (dryRun) return true;
  const r = run('cargo', ['install', name, '--locked', '--quiet'], { stdio: 'inherit' });
  if (r.status !== 0) throw new SetupError(`setup: "cargo install ${name} --locked" failed (${r.error?.code ?? r.status})`);
  return true;
}

// npm writes node_modules/.package-lock.json after package-lock.json, so a lock file that is newer
// (a pull, a checkout, an edit) means the install is stale.
export function nodeModulesStale({ lockMtime, installedMtime }) {
  return installedMtime == null || lockMtime > installedMtime;
}

export function ensureNodeModules({ dir = root, run = system, log = console.log, dryRun = false } = {}) {
  const mtime = (f) => (existsSync(join(dir, f)) ? statSync(join(dir, f)).mtimeMs : null);
  if (!nodeModulesStale({ lockMtime: mtime('package-lock.json'), installedMtime: mtime('node_modules/.package-lock.json') })) return false;
  log(`setup: ${dryRun ? 'would install' : 'installing'} node_modules (npm ci)`);
  if (dryRun) return true;
  const r = run('npm', ['ci', '--no-audit', '--no-fund'], { cwd: dir, stdio: 'inherit' });
  if (r.status !== 0) throw new SetupError(`setup: "npm ci" failed (${r.error?.code ?? r.status})`);
  return true;
}

// Everything `npm start` (kind "start") or `npm test` (kind "test") needs, in order: the Debian
// packages first (cargo needs the C linker from build-essential), then the cargo tools, then npm.
// Exits the process with the message on a SetupError; returns whether anything was (or, with
// dryRun, would be) installed.
export function setup(kind, { dryRun = false } = {}) {
  try {
    addCargoBinToPath();
    let changed = ensureDebianPackages(kind === 'start' ? RUN_PACKAGES : TEST_PACKAGES, { dryRun }).length > 0;
    if (kind === 'test') {
      // tauri-driver bridges WebDriver to WebKitWebDriver for the desktop end-to-end test (~30 s to build).
      changed = ensureCargoTool('tauri-driver', { dryRun }) || changed;
      // cargo-fuzz only serves the fuzz suite, which needs the nightly toolchain and is skipped without it.
      changed = ensureCargoTool('cargo-fuzz', { when: () => hasNightly(), dryRun }) || changed;
    }
    changed = ensureNodeModules({ dryRun }) || changed;
    return changed;
  } catch (e) {
    if (!(e instanceof SetupError)) throw e;
    console.error(e.message);
    if (e.command) console.error(`then run \`npm ${kind}\` again`);
    process.exit(1);
  }
}

if (process.argv[1] && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url))) {
  const args = process.argv.slice(2);
  const kind = args.find((a) => !a.startsWith('-')) ?? 'test';
  if (!['start', 'test'].includes(kind) || args.some((a) => a.startsWith('-') && a !== '--dry-run')) {
    console.error('usage: node scripts/setup.mjs [start|test] [--dry-run]');
    process.exit(2);
  }
  const dryRun = args.includes('--dry-run');
  const changed = setup(kind, { dryRun });
  if (dryRun) {
    console.log(changed ? 'setup: something is missing (see above)' : `setup: nothing missing for npm ${kind}`);
    process.exit(changed ? 1 : 0);
  }
}
