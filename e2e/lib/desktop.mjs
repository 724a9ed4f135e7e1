// What the desktop suites share: the built shell and the drivers it needs (and what is missing),
// an Xvfb display, a tauri-driver started with the app's environment (tauri-driver hands its
// environment to the app, so each environment gets its own driver), one WebDriver session on the
// app, and plain WebDriver calls over HTTP on it (find, click, type, text, screenshot, windows,
// a script in the window).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../../devchain/lib/anvil.mjs';
import { ROOT } from '../../devchain/up.mjs';

export const ARTIFACTS = join(ROOT, 'artifacts', 'desktop');
export const APP = join(ROOT, 'target', 'debug', 'stablepay-pos');
const which = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
/** What the desktop suites need and is not there, in words (empty when all is there). */
export const missing = [
  !existsSync(APP) && `the shell (${APP}); build it with npx tauri build --debug --no-bundle`,
  !which('tauri-driver') && 'tauri-driver (cargo install tauri-driver --locked)',
  !which('WebKitWebDriver') && 'WebKitWebDriver (Debian package webkit2gtk-driver)',
  !which('Xvfb') && 'Xvfb',
].filter(Boolean);

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` until it returns something truthy (30 s at most), and returns it. */
export async function eventually(what, probe, ms = 30_000) {
  const deadline = Date.now() + ms;
  let last;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value) return value;
    } catch (e) {
      last = e;
    }
    await sleep(250);
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ''}`);
}

const ELEMENT = 'element-6066-11e4-a52e-4f735466cecf';

/**
 * Starts an Xvfb display, a tauri-driver with `env` (plus DISPLAY) in `cwd`, and a WebDriver
 * session on the app; the app's and the drivers' output goes to `artifacts/desktop/<log>`.
 * Returns the session's WebDriver calls and `stop()`, which ends the session and the processes.
 */
export async function launch({ env, log = 'app.log', cwd = ROOT }) {
  mkdirSync(ARTIFACTS, { recursive: true });
  const children = [];
  let n;
  do n = 90 + Math.floor(Math.random() * 400);
  while (existsSync(`/tmp/.X11-unix/X${n}`) || existsSync(`/tmp/.X${n}-lock`));
  const display = `:${n}`;
  const xvfb = spawn('Xvfb', [display, '-screen', '0', '1280x1024x24', '-nolisten', 'tcp'], { stdio: 'ignore' });
  children.push(xvfb);

  let driver;
  let session;
  async function wd(method, path, body) {
    const r = await fetch(`${driver}${path}`, { method, headers: { 'content-type': 'application/json' }, body: body ? JSON.stringify(body) : undefined });
    const json = await r.json();
    if (!r.ok) throw new Error(`${method} ${path}: ${JSON.stringify(json.value ?? json).slice(0, 300)}`);
    return json.value;
  }
  const s = (path) => `/session/${session}${path}`;
  const find = async (css) => (await wd('POST', s('/element'), { using: 'css selector', value: css }))[ELEMENT];
  const app = {
    display,
    wd,
    s,
    find,
    /** Every element matching `css` (none: an empty list, not an error). */
    findAll: async (css) => (await wd('POST', s('/elements'), { using: 'css selector', value: css })).map((e) => e[ELEMENT]),
    click: async (css) => wd('POST', s(`/element/${await find(css)}/click`), {}),
    /** Replaces the field's value with `words`, typed. */
    type: async (css, words) => {
      const id = await find(css);
      await wd('POST', s(`/element/${id}/clear`), {});
      return wd('POST', s(`/element/${id}/value`), { text: words });
    },
    text: async (css) => wd('GET', s(`/element/${await find(css)}/text`)),
    url: () => wd('GET', s('/url')),
    /** The app's windows: WebDriver handles, the current one first. */
    windows: async () => {
      const current = await wd('GET', s('/window'));
      return [current, ...(await wd('GET', s('/window/handles'))).filter((h) => h !== current)];
    },
    /** Makes `handle` the window the next calls act on. */
    switchTo: (handle) => wd('POST', s('/window'), { handle }),
    /** Runs `body` in the window as an async function of `args` and returns what it resolves to. */
    run: (body, ...args) =>
      wd('POST', s('/execute/async'), {
        script: `const done = arguments[arguments.length - 1]; (async (...args) => { ${body} })(...Array.from(arguments).slice(0, -1)).then(done, (e) => done({ error: String(e) }));`,
        args,
      }),
    shoot: async (name) => {
      await sleep(500); // let the window paint after the last DOM change
      writeFileSync(join(ARTIFACTS, name), Buffer.from(await wd('GET', s('/screenshot')), 'base64'));
    },
    async stop() {
      if (session) await wd('DELETE', `/session/${session}`).catch(() => {});
      for (const child of children.reverse()) {
        try {
          process.kill(-child.pid, 'SIGTERM');
        } catch {
          child.kill('SIGTERM');
        }
      }
    },
  };
  try {
    await eventually('Xvfb', () => existsSync(`/tmp/.X11-unix/X${n}`), 10_000);
    const driverPort = await freePort();
    const nativePort = await freePort();
    driver = `http://127.0.0.1:${driverPort}`;
    const out = openSync(join(ARTIFACTS, log), 'w');
    const td = spawn('dbus-run-session', ['--', 'tauri-driver', '--port', String(driverPort), '--native-port', String(nativePort)], {
      cwd,
      env: { ...env, DISPLAY: display },
      stdio: ['ignore', out, out],
      detached: true,
    });
    children.push(td);
    await eventually('tauri-driver', async () => (await fetch(`${driver}/status`)).ok);
    const created = await wd('POST', '/session', { capabilities: { alwaysMatch: { browserName: 'wry', 'tauri:options': { application: APP } } } });
    session = created.sessionId;
  } catch (e) {
    await app.stop();
    throw e;
  }
  return app;
}
