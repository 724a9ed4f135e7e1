// `npm start`: set up what is missing (the Debian packages the desktop app needs, then `npm ci`; see
// setup.mjs), build the UI and the desktop shell, then open StablePay POS.
// Extra arguments go to the app; environment variables (STABLEPAY_CONFIG, STABLEPAY_SERVER__BIND, ...)
// pass through. The shell is a debug build with the UI embedded (`tauri build --debug --no-bundle`);
// `npx tauri build` makes the release `.deb`.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { setup } from './setup.mjs';

const root = join(import.meta.dirname, '..');
process.chdir(root);

function run(cmd, args, options = {}) {
  console.log(`start: ${cmd} ${args.join(' ')}`);
  const result = spawnSync(cmd, args, { stdio: 'inherit', ...options });
  if (result.status !== 0) {
    console.error(`start: "${cmd} ${args.join(' ')}" failed (${result.status ?? result.signal})`);
    process.exit(result.status ?? 1);
  }
}

setup('start');
run('npx', ['tauri', 'build', '--debug', '--no-bundle']);

const binary = join(root, 'target', 'debug', 'stablepay-pos');
const app = spawnSync(binary, process.argv.slice(2), { stdio: 'inherit' });
process.exit(app.status ?? 1);
