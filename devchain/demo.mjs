// `npm run demo`: a local chain with mock stablecoins, and StablePay running against it.
// By default builds and opens the desktop app (its embedded server on --bind); with --headless, or
// when there is no display, runs the headless `stablepay-server` instead. Prints how to pay.
// Ctrl-C stops everything.
import { spawn, spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, STATE_DIR, up } from './up.mjs';

function flag(name) {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
}

const bind = flag('--bind') ?? '127.0.0.1:8080';
rmSync(join(STATE_DIR, 'stablepay.db'), { force: true }); // a fresh chain needs a fresh ledger
rmSync(join(STATE_DIR, 'stablepay.db-wal'), { force: true });
rmSync(join(STATE_DIR, 'stablepay.db-shm'), { force: true });
const { anvil, configPath, state } = await up({ bind, port: flag('--port') ? Number(flag('--port')) : undefined });
console.log(`local chain: ${anvil.rpcUrl} (chain id 56, a block every second)`);

const headless = process.argv.includes('--headless') || !process.env.DISPLAY;
let server;
if (headless) {
  if (!process.argv.includes('--headless')) console.log('no DISPLAY: running the headless server (use a desktop session for the app)');
  spawnSync('npm', ['run', '--silent', 'ui:build'], { cwd: ROOT, stdio: 'inherit' }); // the release server carries the UI
  server = spawn('cargo', ['run', '--release', '--quiet', '-p', 'stablepay-server', '--', 'serve', '--config', configPath], {
    cwd: ROOT,
    stdio: 'inherit',
  });
} else {
  const build = spawnSync('npx', ['tauri', 'build', '--debug', '--no-bundle'], { cwd: ROOT, stdio: 'inherit' });
  if (build.status !== 0) {
    await anvil.stop();
    process.exit(build.status ?? 1);
  }
  server = spawn(join(ROOT, 'target', 'debug', 'stablepay-pos'), [], {
    cwd: ROOT,
    stdio: 'inherit',
    env: { ...process.env, STABLEPAY_CONFIG: configPath },
  });
}
console.log(`\nStablePay is starting on ${state.server} (first build takes a few minutes).`);
console.log(`  create a payment:  curl -s -XPOST ${state.server}/api/v1/payments -H 'content-type: application/json' -d '{"amount":"10","token":"USDT"}'`);
console.log('  pay it:            npm run pay -- <payment id>');
console.log(`  API docs:          ${state.server}/docs/\n`);

let stopping = false;
async function stop(code = 0) {
  if (stopping) return;
  stopping = true;
  server.kill('SIGTERM');
  await anvil.stop();
  process.exit(code);
}
process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));
server.on('exit', (code) => stop(code ?? 1));
