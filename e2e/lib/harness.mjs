// What the end-to-end suites share: Chromium's flags, where screenshots go, the server binary,
// starting it on a config file, and waiting for a server to answer /health.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../../devchain/up.mjs';

export const ARTIFACTS = join(ROOT, 'artifacts', 'e2e');
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'];

/** The headless server binary, built if it is not there yet; the artifacts folder made. */
export function serverBinary() {
  mkdirSync(ARTIFACTS, { recursive: true });
  const bin = join(ROOT, 'target', 'debug', 'stablepay-server');
  if (!existsSync(bin)) spawnSync('cargo', ['build', '-p', 'stablepay-server'], { cwd: ROOT, stdio: 'inherit' });
  return bin;
}

/** Waits until `base` answers /health (60 s at most). */
export async function waitForHealth(base, ms = 60_000) {
  const deadline = Date.now() + ms;
  while (!(await fetch(`${base}/health`).then((r) => r.ok, () => false))) {
    if (Date.now() > deadline) throw new Error(`the server at ${base} did not start`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The server binary on config `file`, answering at `base` (its `server.bind`); stop it with `.kill()`. */
export async function startServer(file, base) {
  const server = spawn(serverBinary(), ['serve', '--config', file], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, RUST_LOG: 'error' } });
  await waitForHealth(base);
  return server;
}
