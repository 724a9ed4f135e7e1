// The desktop app under Xvfb, driven by tauri-driver + WebKitWebDriver (plain WebDriver over HTTP):
// the built binary starts with a temporary app-data folder, its embedded server answers /health,
// the window renders the POS; a sale is made in the window, paid on a real anvil chain, and the
// window reaches success; the customer display window opens from the POS and shows the same payment.
// In LAN mode the app serves the network over HTTPS with a self-signed certificate whose
// fingerprint its Settings show, while its own windows keep using plain HTTP on loopback.
// Screenshots go to artifacts/desktop/. Skipped (with the reason) when the shell or the drivers are
// missing — `npm test` builds the shell first, and `.ci/run` installs the drivers.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import { connect as tlsConnect } from 'node:tls';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { freePort } from '../devchain/lib/anvil.mjs';
import { ACCOUNTS, transfer } from '../devchain/lib/tokens.mjs';
import { up } from '../devchain/up.mjs';
import { eventually, launch, missing } from './lib/desktop.mjs';

let chain;
let base;
let app; // the Xvfb display, tauri-driver and WebDriver session on the app
// The session's WebDriver calls (e2e/lib/desktop.mjs), set once the app is up.
let wd, s, find, click, text, shoot;

let home; // the app's temporary HOME and XDG folders

before(async () => {
  if (missing.length) return;
  home = mkdtempSync(join(tmpdir(), 'stablepay-desktop-'));
  const port = await freePort();
  chain = await up({ bind: `127.0.0.1:${port}`, blockTime: 1, stateDir: join(home, 'chain') });
  base = `http://127.0.0.1:${port}`;
  const env = {
    ...process.env,
    XDG_DATA_HOME: join(home, 'data'),
    XDG_CONFIG_HOME: join(home, 'config'),
    XDG_CACHE_HOME: join(home, 'cache'),
    STABLEPAY_CONFIG: chain.configPath,
    // LAN mode, as a shop with a tablet runs it: the server listens on every interface with no
    // key configured, and the app's windows use their own per-launch keys (no key typed anywhere).
    STABLEPAY_SERVER__BIND: `0.0.0.0:${port}`,
    RUST_LOG: 'warn',
  };
  // The app's and the drivers' output goes to a log kept with the screenshots.
  app = await launch({ env, log: 'app.log' });
  ({ wd, s, find, click, text, shoot } = app);
});

after(async () => {
  await app?.stop();
  await chain?.anvil.stop();
});

describe('the desktop app under Xvfb', { skip: missing.length ? `missing: ${missing.join('; ')}` : false }, () => {
  it('starts with its own app-data folder, serves /health and renders the POS', async () => {
    const health = await eventually('the embedded server', async () => (await fetch(`${base}/health`)).json());
    assert.equal(health.status, 'ok');
    await eventually('the POS in the window', () => find('[data-testid=total]'));
    assert.match(await wd('GET', s('/url')), new RegExp(`^${base}/`));
    assert.doesNotMatch(await wd('GET', s('/url')), /key|token/i, 'no key in the window URL');
    await shoot('1-pos.png');
    // Off the app, the same server is closed to merchant calls: the app's key is its windows' only.
    assert.equal((await fetch(`${base}/api/v1/payments`)).status, 401);
  });

  it('takes a sale paid on anvil to success, with the customer display window showing the same payment', async () => {
    for (const key of ['2', '5']) await click(`.keypad [data-key="${key}"]`);
    await click('[data-testid=next]');
    await eventually('the token choice', () => find('[data-token="USDT"]'));
    await click('[data-token="USDT"]');
    await click('[data-testid=create]');
    const url = await eventually('the QR page', async () => {
      const u = await wd('GET', s('/url'));
      return /#\/pay\/pay_[0-9a-f]{32}$/.test(u) && u;
    });
    const id = url.split('/').pop();
    await eventually('the QR', () => find('[data-testid=qr]'));
    await shoot('2-qr.png');
    const payment = await (await fetch(`${base}/api/v1/payments/${id}`)).json();
    assert.equal(payment.status, 'pending');
    // The sale's token is remembered in the app's settings store (tauri-plugin-store), for the next sale.
    const store = join(home, 'data', 'com.stablepay.pos', 'shell.json');
    await eventually('the token in shell.json', () => existsSync(store) && JSON.parse(readFileSync(store, 'utf8')).shell?.last_token === 'USDT');

    // The customer display, opened from the POS, shows the same payment in its own window.
    const main = await wd('GET', s('/window'));
    await click('[data-testid=open-display]');
    const other = await eventually('the display window', async () => (await wd('GET', s('/window/handles'))).find((h) => h !== main));
    await wd('POST', s('/window'), { handle: other });
    const shown = await eventually('the payment on the display', async () => {
      const t = await text('[data-testid=display-amount]');
      return t.includes(payment.amount) && t;
    });
    assert.equal(shown, `${payment.amount} USDT`);
    await shoot('3-display.png');

    await transfer(chain.anvil.call, chain.state.tokens.USDT, ACCOUNTS.customer, ACCOUNTS.merchant, BigInt(payment.amount_base_units));
    await eventually('success on the display', () => find('[data-testid=display-success]'), 40_000);
    await shoot('4-display-success.png');

    await wd('POST', s('/window'), { handle: main });
    await eventually('success in the POS window', () => find('[data-testid=success-title]'), 40_000);
    assert.match(await text('[data-testid=tx]'), /^0x[0-9a-f]{64}$/);
    await shoot('5-success.png');
  });

  it('serves the network over HTTPS with the certificate its Settings show, with no key typed', async () => {
    const port = Number(new URL(base).port);
    const fingerprint = await new Promise((resolve, reject) => {
      const socket = tlsConnect({ host: '127.0.0.1', port, servername: 'localhost', rejectUnauthorized: false }, () => {
        resolve(socket.getPeerX509Certificate().fingerprint256);
        socket.end();
      });
      socket.on('error', reject);
    });
    await wd('POST', s('/url'), { url: `${base}/#/settings` });
    const shown = await eventually('the fingerprint in Settings', () => text('[data-testid=tls-fingerprint]'));
    assert.equal(shown, fingerprint);
    await shoot('6-settings-tls.png');
    // A tablet typing http:// on the shop network is sent to https://.
    const lan = Object.values(networkInterfaces()).flat().find((i) => i && i.family === 'IPv4' && !i.internal);
    if (lan) {
      const answer = await fetch(`http://${lan.address}:${port}/#/display`, { redirect: 'manual' });
      assert.equal(answer.status, 308);
      assert.equal(answer.headers.get('location'), `https://${lan.address}:${port}/`);
    }
  });
});
