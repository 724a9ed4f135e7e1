// A throwaway PostgreSQL cluster from Debian's `postgresql` package, for the suites that run on
// PostgreSQL: `initdb` in a temporary folder, a random loopback port, no service manager, deleted
// afterwards. As root the server runs as the `postgres` user (initdb refuses root).
//
//   node scripts/postgres.mjs <command> [args…]   runs the command with STABLEPAY_TEST_POSTGRES set
//                                                 to the cluster's URL, then stops the cluster
//   import { startPostgres } from './postgres.mjs' for a harness: { url, stop() }
import { spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync, chmodSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

// The newest installed server's programs (`/usr/lib/postgresql/<version>/bin`).
export function postgresBin() {
  const base = '/usr/lib/postgresql';
  const versions = existsSync(base) ? readdirSync(base).filter((v) => existsSync(join(base, v, 'bin', 'initdb'))) : [];
  if (versions.length === 0) throw new Error('PostgreSQL is not installed (Debian package postgresql; npm test installs it)');
  versions.sort((a, b) => Number(b) - Number(a));
  return join(base, versions[0], 'bin');
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function postgresUser() {
  const r = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const g = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  return r.status === 0 ? { uid: Number(r.stdout.trim()), gid: Number(g.stdout.trim()) } : null;
}

function run(bin, args, asPostgres) {
  const [cmd, argv] = asPostgres ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, args];
  const r = spawnSync(cmd, argv, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${bin} ${args.join(' ')} failed:\n${r.stdout}${r.stderr}`);
}

// Starts a cluster; `url` is a superuser's URL to its `postgres` database.
export async function startPostgres() {
  const bin = postgresBin();
  const asPostgres = process.getuid?.() === 0;
  const dir = mkdtempSync(join(tmpdir(), 'stablepay-pg-'));
  if (asPostgres) {
    const user = postgresUser();
    if (!user) throw new Error('running as root needs the postgres user (made by the postgresql package)');
    chownSync(dir, user.uid, user.gid);
  }
  chmodSync(dir, 0o700);
  const data = join(dir, 'data');
  run(join(bin, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8'], asPostgres);
  const port = await freePort();
  // A test cluster: durability off (it is deleted afterwards), room for many test servers' pools.
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=400 -c fsync=off -c synchronous_commit=off -c full_page_writes=off`;
  run(join(bin, 'pg_ctl'), ['-D', data, '-o', options, '-l', join(dir, 'log'), '-w', 'start'], asPostgres);
  const stop = () => {
    try {
      run(join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop'], asPostgres);
    } catch {
      // already stopped
    }
    rmSync(dir, { recursive: true, force: true });
  };
  return { url: `postgres://postgres@127.0.0.1:${port}/postgres`, port, stop };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [cmd, ...args] = process.argv.slice(2);
  if (!cmd) {
    console.error('usage: node scripts/postgres.mjs <command> [args…]');
    process.exit(2);
  }
  const pg = await startPostgres();
  console.log(`postgres: throwaway cluster at ${pg.url}`);
  let status = 1;
  try {
    const r = spawnSync(cmd, args, { stdio: 'inherit', env: { ...process.env, STABLEPAY_TEST_POSTGRES: pg.url } });
    status = r.status ?? 1;
  } finally {
    pg.stop();
  }
  process.exit(status);
}
