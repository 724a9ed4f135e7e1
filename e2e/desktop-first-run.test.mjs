// A new owner's first launch of the desktop app (issue 18, as e2e/first-run.test.mjs proves it in
// Chromium against the headless server): the built binary under Xvfb, driven by tauri-driver +
// WebKitWebDriver, with an empty HOME and empty XDG data, config and cache folders, no
// STABLEPAY_CONFIG and no config file anywhere — only the server's port is chosen, through
// `STABLEPAY_SERVER__BIND`. The embedded server answers /health and the window opens on the
// first-run setup, not the start-up error page and not the sale screen. The first steps work in the
// window: past the welcome, the owner enters the shop and its receive address and saves, and the
// settings land in a new `stablepay.toml` in the app-data folder. Screenshots go to
// artifacts/desktop/ (0-first-run-*.png). Skipped (with the reason) when the shell or the drivers
// are missing, like e2e/desktop.test.mjs.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { freePort } from '../devchain/lib/anvil.mjs';
import { ACCOUNTS } from '../devchain/lib/tokens.mjs';
import { eventually, launch, missing } from './lib/desktop.mjs';

let app; // the Xvfb display, tauri-driver and WebDriver session on the app
let base;
let home; // the fresh HOME, with the empty XDG folders in it
let appData; // where the app keeps its database and (once saved) its config file

before(async () => {
  if (missing.length) return;
  home = mkdtempSync(join(tmpdir(), 'stablepay-desktop-first-run-'));
  for (const dir of ['data', 'config', 'cache']) mkdirSync(join(home, dir));
  appData = join(home, 'data', 'com.stablepay.pos');
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  // Nothing of StablePay's from this environment (no STABLEPAY_CONFIG, no overrides) but the bind.
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('STABLEPAY_')));
  const env = {
    ...inherited,
    HOME: home,
    XDG_DATA_HOME: join(home, 'data'),
    XDG_CONFIG_HOME: join(home, 'config'),
    XDG_CACHE_HOME: join(home, 'cache'),
    STABLEPAY_SERVER__BIND: `127.0.0.1:${port}`,
    RUST_LOG: 'warn',
  };
  // Started in the fresh HOME, so not even the working directory holds a config file.
  app = await launch({ env, log: 'first-run-app.log', cwd: home });
});

after(async () => {
  await app?.stop();
  if (home) rmSync(home, { recursive: true, force: true });
});

/** A failed wait, with what the window shows instead when it is the start-up error page. */
const withStartupError = async (e) => {
  const shown = await app.text('.startup-error').catch(() => '');
  throw shown ? new Error(`${e.message}; the window shows the start-up error: ${shown}`) : e;
};

describe('the desktop app on an empty app-data folder', { skip: missing.length ? `missing: ${missing.join('; ')}` : false }, () => {
  it('serves /health and opens on the first-run setup, not an error', async () => {
    const health = await eventually('the embedded server', async () => (await fetch(`${base}/health`)).json()).catch(withStartupError);
    assert.equal(health.status, 'ok');
    await eventually('the setup page in the window', () => app.find('[data-testid=setup]')).catch(withStartupError);
    const url = await eventually('the window on #/setup', async () => {
      const u = await app.url();
      return /#\/setup$/.test(u) && u;
    });
    assert.match(url, new RegExp(`^${base}/`), 'the window shows the embedded server, not the bundled error page');
    assert.equal(new URL(url).hash, '#/setup');
    // No start-up error page, and no error on the setup page either (its settings loaded with the
    // window's own key).
    assert.deepEqual(await app.findAll('.startup-error'), []);
    assert.deepEqual(await app.findAll('[role=alert]'), []);
    assert.ok(await app.find('[data-testid=setup-next]'));
    await app.shoot('0-first-run-setup.png');
    // The app made its folder and its database there, and wrote no config file on its own.
    assert.ok(readdirSync(appData).includes('stablepay.db'), `the database in ${appData}`);
    assert.equal(existsSync(join(appData, 'stablepay.toml')), false, 'no config file before the owner saves');
  });

  it('takes the owner past the welcome to the shop, and saves it into the app-data folder', async () => {
    await app.click('[data-testid=setup-next]');
    await eventually('the shop form', () => app.find('[data-testid=set-shop-name]'));
    // The built-in nodes are listed to try (not tried: this machine may be offline).
    assert.ok(await app.find('[data-testid=probe-0]'));
    await app.type('[data-testid=set-shop-name]', 'Corner Café');
    await app.type('[data-testid=set-receive-address]', ACCOUNTS.merchant);
    await app.shoot('0-first-run-shop.png');
    await app.click('[data-testid=save-settings]');
    // The customer display step offers the app's own LAN switch and monitor choice; skipped here.
    await eventually('the display step', () => app.find('[data-testid=shell-lan]'), 20_000);
    assert.ok(await app.find('[data-testid=pair-display]'));
    await app.shoot('0-first-run-display.png');
    await app.click('[data-testid=setup-display-skip]');
    await eventually('the last step', () => app.find('[data-testid=setup-done]'), 20_000);
    assert.match(await app.text('[data-testid=setup-done]'), /Corner Café/);
    assert.equal(new URL(await app.url()).hash, '#/setup');
    const saved = readFileSync(join(appData, 'stablepay.toml'), 'utf8');
    assert.match(saved, new RegExp(`receive_address = "${ACCOUNTS.merchant}"`));
    assert.match(saved, /^name = "Corner Café"$/m);
    await app.shoot('0-first-run-ready.png');
    // After reloading on the new settings, the server still answers at the same address.
    assert.equal((await (await fetch(`${base}/health`)).json()).status, 'ok');
  });
});
