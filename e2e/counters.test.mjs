// Two tills attached to one hub (issue 21, part 3: the desktop app's terminal mode). One real hub —
// the stablepay-server binary with an admin key, on a real anvil chain — and two instances of the
// built desktop app under Xvfb (each its own HOME, XDG folders, DBus and tauri-driver). Each app
// starts in local mode on its own server and database, and is attached to the hub through its
// Settings form (a wrong code first: the hub's own message is shown, then a fresh code from the
// hub's admin API); it restarts itself, and launched again on the same data folder it is a counter
// of the hub: its windows are on the hub's origin and its settings name the counter, without the
// key. Each counter sells in its POS window with its customer display window open
// (STABLEPAY_OPEN_DISPLAY); each display shows its own counter's sale only; the hub lists both
// sales, each with its counter's name, and `?counter=` only that counter's. One sale is paid on
// chain and reaches success on its display and its POS while the other counter's stays pending.
// Screenshots go to artifacts/desktop/counters-*.png. Skipped (with the reason) when the shell or
// the drivers are missing, like e2e/desktop.test.mjs.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { freePort } from '../devchain/lib/anvil.mjs';
import { ACCOUNTS, transfer } from '../devchain/lib/tokens.mjs';
import { configToml, ROOT, up } from '../devchain/up.mjs';
import { serverBinary, waitForHealth } from './lib/harness.mjs';
import { eventually, launch, missing } from './lib/desktop.mjs';

const ADMIN = 'e2e-hub-owner-key-0123456789abcdef0123';

let home;
let chain;
let hub; // the hub's origin
let hubServer;
const tills = {}; // 'a' | 'b' → { name, env, data, local, app, pos, display, counter, sale }

const admin = (path, init = {}) =>
  fetch(`${hub}${path}`, { ...init, headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN}`, ...init.headers } });

/** A fresh six-digit code from the hub's admin API. */
async function pairingCode() {
  const r = await admin('/api/v1/displays/pairing', { method: 'POST', body: '{}' });
  assert.equal(r.status, 201, await r.clone().text());
  return (await r.json()).code;
}

/** A till's own folders and local config: its server on its own port and database, on the chain. */
async function till(key, name) {
  const dir = join(home, key);
  for (const d of ['data', 'config', 'cache']) mkdirSync(join(dir, d), { recursive: true });
  const port = await freePort();
  const tokens = Object.entries(chain.state.tokens).map(([symbol, address]) => ({ symbol, name: symbol, address }));
  const config = join(dir, 'stablepay.toml');
  writeFileSync(
    config,
    configToml({ bind: `127.0.0.1:${port}`, databasePath: join(dir, 'local.db'), rpcUrl: chain.anvil.rpcUrl, wsUrl: chain.anvil.wsUrl, merchant: ACCOUNTS.merchant, tokens }),
  );
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('STABLEPAY_')));
  const env = {
    ...inherited,
    HOME: dir,
    XDG_DATA_HOME: join(dir, 'data'),
    XDG_CONFIG_HOME: join(dir, 'config'),
    XDG_CACHE_HOME: join(dir, 'cache'),
    STABLEPAY_CONFIG: config,
    RUST_LOG: 'warn',
  };
  tills[key] = { key, name, env, store: join(dir, 'data', 'com.stablepay.pos', 'shell.json'), local: `http://127.0.0.1:${port}` };
  return tills[key];
}

const storedLink = (t) => existsSync(t.store) && JSON.parse(readFileSync(t.store, 'utf8')).shell?.hub;

before(async () => {
  if (missing.length) return;
  home = mkdtempSync(join(tmpdir(), 'stablepay-counters-'));
  const port = await freePort();
  chain = await up({ bind: `127.0.0.1:${port}`, blockTime: 1, stateDir: join(home, 'hub') });
  hub = `http://127.0.0.1:${port}`;
  hubServer = spawn(serverBinary(), ['serve', '--config', chain.configPath], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, RUST_LOG: 'warn', STABLEPAY_SERVER__API_KEYS: ADMIN },
  });
  await waitForHealth(hub);
  await till('a', 'Counter A');
  await till('b', 'Counter B');
});

after(async () => {
  for (const t of Object.values(tills)) await t.app?.stop();
  hubServer?.kill('SIGTERM');
  await chain?.anvil.stop();
  if (home) rmSync(home, { recursive: true, force: true });
});

/** Makes a sale of `digits` USDT in the till's POS window; returns the payment as the hub has it. */
async function sell(t, digits) {
  const { app } = t;
  await app.switchTo(t.pos);
  await eventually(`${t.name}'s sale screen`, () => app.find('[data-testid=total]'));
  for (const key of digits) await app.click(`.keypad [data-key="${key}"]`);
  await app.click('[data-testid=next]');
  await eventually('the token choice', () => app.find('[data-token="USDT"]'));
  await app.click('[data-token="USDT"]');
  await app.click('[data-testid=create]');
  const url = await eventually(`${t.name}'s QR page`, async () => {
    const u = await app.url();
    return /#\/pay\/pay_[0-9a-f]{32}$/.test(u) && u;
  });
  await eventually('the QR', () => app.find('[data-testid=qr]'));
  return (await admin(`/api/v1/payments/${url.split('/').pop()}`)).json();
}

/** What the till's customer display shows now ('' when no payment). */
async function onDisplay(t) {
  await t.app.switchTo(t.display);
  const shown = await t.app.findAll('[data-testid=display-amount]');
  return shown.length ? t.app.text('[data-testid=display-amount]') : '';
}

describe('two desktop tills as counters of one hub', { skip: missing.length ? `missing: ${missing.join('; ')}` : false }, () => {
  for (const key of ['a', 'b']) {
    it(`attaches till ${key.toUpperCase()} to the hub from its Settings and restarts as a counter`, async () => {
      const t = tills[key];
      t.app = await launch({ env: t.env, log: `counters-${key}-local.log` });
      const { app } = t;
      await eventually(`${t.name} in local mode`, async () => (await app.url()).startsWith(`${t.local}/`));
      await app.wd('POST', app.s('/url'), { url: `${t.local}/#/settings` });
      await eventually('the hub form', () => app.find('[data-testid=hub-url]'));
      await app.type('[data-testid=hub-url]', hub);
      await app.type('[data-testid=hub-name]', t.name);
      // A wrong code: the hub refuses it, and the form shows the hub's own reason.
      await app.type('[data-testid=hub-code]', '000000');
      await app.click('[data-testid=hub-attach]');
      const refused = await eventually('the refusal', () => app.text('[data-testid=hub] [role=alert]'));
      assert.match(refused, /code/i);
      assert.ok(!storedLink(t), 'no link kept after a refusal');

      await app.type('[data-testid=hub-code]', await pairingCode());
      await app.click('[data-testid=hub-attach]');
      const link = await eventually('the link in shell.json', () => storedLink(t));
      assert.equal(link.url, hub);
      assert.equal(link.counter_name, t.name);
      assert.match(link.counter_id, /^ctr_[0-9a-f]{24}$/);
      assert.ok(link.token && link.push_key, 'the store keeps the counter key and the hub push key');
      assert.equal(statSync(t.store).mode & 0o777, 0o600, 'shell.json holds a key: the owner alone reads it');
      t.counter = link.counter_id;
      // The app restarts itself on the hub; the WebDriver session ends with the old process.
      await app.stop();

      t.env = { ...t.env, STABLEPAY_OPEN_DISPLAY: '1' };
      t.app = await launch({ env: t.env, log: `counters-${key}-terminal.log` });
      const next = t.app;
      const [main, ...others] = await eventually('both windows', async () => {
        const w = await next.windows();
        return w.length >= 2 && w;
      });
      await next.switchTo(main);
      // The session may start on either window: the POS is the one not on #/display.
      const mainUrl = await eventually('the first window on the hub', async () => {
        const u = await next.url();
        return u.startsWith(`${hub}/`) && u;
      });
      [t.pos, t.display] = mainUrl.includes('#/display') ? [others[0], main] : [main, others[0]];
      await next.switchTo(t.pos);
      assert.match(await next.url(), new RegExp(`^${hub}/(\\?[^#]*)?#/`), 'the POS on the hub');
      assert.doesNotMatch(await next.url(), /key|token/i, 'no key in the window URL');
      await eventually(`${t.name}'s sale screen on the hub`, () => next.find('[data-testid=total]'));
      // The UI sees which counter, never its key.
      const shell = await next.run("return window.__TAURI_INTERNALS__.invoke('get_shell_settings');");
      assert.deepEqual(shell.hub, { url: hub, counter_id: t.counter, counter_name: t.name });
      assert.doesNotMatch(JSON.stringify(shell), new RegExp(link.token));
      await next.switchTo(t.display);
      assert.equal(await next.url(), `${hub}/#/display`);
      await eventually(`${t.name}'s display`, () => next.find('[data-testid=display]'));
      // Off the windows, the hub's own server is the only one: the till's local server is gone.
      assert.equal(await fetch(`${t.local}/health`).then(() => 'answers', () => 'gone'), 'gone');
    });
  }

  it("sells at each counter, each display showing only its own counter's sale", async () => {
    const [a, b] = [tills.a, tills.b];
    a.sale = await sell(a, '25');
    assert.equal(a.sale.status, 'pending');
    assert.deepEqual(a.sale.counter, { id: a.counter, name: 'Counter A' });
    await eventually("A's sale on A's display", async () => (await onDisplay(a)) === `${a.sale.amount} USDT`);
    assert.equal(await onDisplay(b), '', "B's display does not show A's sale");

    b.sale = await sell(b, '37');
    assert.deepEqual(b.sale.counter, { id: b.counter, name: 'Counter B' });
    await eventually("B's sale on B's display", async () => (await onDisplay(b)) === `${b.sale.amount} USDT`);
    assert.equal(await onDisplay(a), `${a.sale.amount} USDT`, "A's display still shows A's sale");

    for (const t of [a, b]) {
      await t.app.switchTo(t.pos);
      await t.app.shoot(`counters-${t.key}-pos.png`);
      await t.app.switchTo(t.display);
      await t.app.shoot(`counters-${t.key}-display.png`);
    }

    // The hub has both, each with its counter; per counter, only that one.
    const all = await (await admin('/api/v1/payments?limit=50')).json();
    const named = Object.fromEntries(all.payments.map((p) => [p.id, p.counter?.name]));
    assert.equal(named[a.sale.id], 'Counter A');
    assert.equal(named[b.sale.id], 'Counter B');
    for (const t of [a, b]) {
      const only = await (await admin(`/api/v1/payments?counter=${t.counter}`)).json();
      assert.deepEqual(only.payments.map((p) => p.id), [t.sale.id]);
    }
    const counters = await (await admin('/api/v1/counters')).json();
    assert.deepEqual(counters.data.map((c) => c.name).sort(), ['Counter A', 'Counter B']);
  });

  it("takes A's sale paid on chain to success on A's display and POS; B's stays pending", async () => {
    const [a, b] = [tills.a, tills.b];
    await transfer(chain.anvil.call, chain.state.tokens.USDT, ACCOUNTS.customer, ACCOUNTS.merchant, BigInt(a.sale.amount_base_units));
    await a.app.switchTo(a.display);
    await eventually("success on A's display", () => a.app.find('[data-testid=display-success]'), 60_000);
    await a.app.shoot('counters-a-display-success.png');
    await a.app.switchTo(a.pos);
    await eventually("success in A's POS", () => a.app.find('[data-testid=success-title]'), 40_000);
    await a.app.shoot('counters-a-pos-success.png');
    assert.equal(await onDisplay(b), `${b.sale.amount} USDT`);
    assert.equal((await (await admin(`/api/v1/payments/${b.sale.id}`)).json()).status, 'pending');
  });
});
