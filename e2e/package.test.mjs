// The Debian package `npm test` builds (`tauri build --debug --bundles deb`; a release one comes from
// `npx tauri build`): it holds the app, its desktop entry and icons, depends on the WebKitGTK
// runtime, and its binary finds every shared library on this machine — bundling needed no download.
// (The app itself is driven end to end by desktop.test.mjs.) To check the release package instead:
// `STABLEPAY_DEB_DIR=target/release/bundle/deb node --test e2e/package.test.mjs`.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { ROOT } from '../devchain/up.mjs';

const DIR = resolve(ROOT, process.env.STABLEPAY_DEB_DIR ?? 'target/debug/bundle/deb');
const deb = existsSync(DIR) ? readdirSync(DIR).find((f) => f.endsWith('.deb')) : undefined;
const dpkg = (...args) => spawnSync('dpkg-deb', args, { encoding: 'utf8' });

it('the .deb carries the app, its desktop entry and icons, and names its runtime libraries', { skip: !deb && `no .deb in ${DIR}; build it with npx tauri build --debug --bundles deb` }, () => {
  const info = dpkg('--field', join(DIR, deb));
  assert.equal(info.status, 0, info.stderr);
  assert.match(info.stdout, /^Package: stable-pay-pos$/m); // Tauri derives it from productName
  assert.match(info.stdout, /^Version: 0\.1\.0$/m);
  assert.match(info.stdout, /^Depends: .*libwebkit2gtk-4\.1-0/m);
  assert.match(info.stdout, /^Recommends: .*fonts-noto-cjk/m, 'Chinese text needs a CJK font, or it shows as empty boxes');
  assert.match(info.stdout, /^ Take USDT, USDC, BUSD and FDUSD payments/m);

  const files = dpkg('--contents', join(DIR, deb)).stdout;
  assert.match(files, / usr\/bin\/stablepay-pos$/m);
  assert.match(files, / usr\/share\/applications\/StablePay POS\.desktop$/m);
  assert.match(files, / usr\/share\/icons\/hicolor\/128x128\/apps\/stablepay-pos\.png$/m);

  // Unpacked, the binary resolves every library it links against.
  const root = mkdtempSync(join(tmpdir(), 'stablepay-deb-'));
  assert.equal(dpkg('--extract', join(DIR, deb), root).status, 0);
  const ldd = spawnSync('ldd', [join(root, 'usr', 'bin', 'stablepay-pos')], { encoding: 'utf8' });
  assert.equal(ldd.status, 0, ldd.stderr);
  assert.doesNotMatch(ldd.stdout, /not found/, 'every shared library the app needs is installed');
});
