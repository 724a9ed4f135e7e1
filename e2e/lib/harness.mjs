// What the end-to-end suites share: Chromium's flags, where screenshots go, the server binary,
// starting it on a config file, waiting for a server to answer /health, and a whole shop on its
// own anvil chain.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../devchain/lib/anvil.mjs';
import { ACCOUNTS } from '../../devchain/lib/tokens.mjs';
import { configToml, ROOT, up } from '../../devchain/up.mjs';

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

/**
 * A shop on a fresh anvil chain (the demo's: mock stablecoins, the customer funded, blocks every
 * second) served by the real server: the demo's config named `shopName`, with `explorer` and the
 * `extra` TOML appended (a function of the chain's state, for sections naming its addresses).
 * Returns `{ chain, base, server }`; stop with `server.kill()` and `chain.anvil.stop()`.
 */
export async function startChainShop({ label, shopName = 'Corner Café', explorer = '', extra = () => '' }) {
  const chain = await up({ bind: '127.0.0.1:0', blockTime: 1, stateDir: mkdtempSync(join(tmpdir(), `stablepay-${label}-chain-`)) });
  const dir = mkdtempSync(join(tmpdir(), `stablepay-${label}-`));
  const port = await freePort();
  const tokens = Object.entries(chain.state.tokens).map(([symbol, address]) => ({ symbol, name: symbol, address }));
  const config = configToml({ bind: `127.0.0.1:${port}`, databasePath: join(dir, 'stablepay.db'), rpcUrl: chain.anvil.rpcUrl, wsUrl: chain.anvil.wsUrl, merchant: ACCOUNTS.merchant, tokens })
    .replace('name = "Demo Shop"', `name = "${shopName}"`)
    .replace('explorer_url = ""', `explorer_url = "${explorer}"`);
  const file = join(dir, 'stablepay.toml');
  writeFileSync(file, `${config}\n${await extra(chain)}`);
  const base = `http://127.0.0.1:${port}`;
  const server = await startServer(file, base);
  return { chain, base, server };
}
