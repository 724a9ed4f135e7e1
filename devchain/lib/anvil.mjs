// Starts anvil (npm @foundry-rs/anvil; its binary ships in the platform package) on a random
// loopback port with chain id 56 and BSC-like finality (--slots-in-an-epoch 1: finalized = head − 2).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { rpcClient } from './rpc.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export function anvilBinary() {
  const path = join(root, 'node_modules', '@foundry-rs', `anvil-${process.platform}-${process.arch === 'x64' ? 'amd64' : process.arch}`, 'bin', 'anvil');
  if (!existsSync(path)) throw new Error(`anvil not found at ${path}; run npm ci`);
  return path;
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * @param {{port?: number, blockTime?: number, extraArgs?: string[]}} options
 *   blockTime: seconds between blocks (interval mining, so confirmations keep coming); unset = mine per transaction.
 */
export async function startAnvil({ port, blockTime, chainId = 56, extraArgs = [] } = {}) {
  for (let attempt = 0; attempt < 5; attempt++) {
    const chosen = port ?? (await freePort());
    const args = ['--host', '127.0.0.1', '--port', String(chosen), '--chain-id', String(chainId), '--slots-in-an-epoch', '1', '--silent', ...extraArgs];
    if (blockTime) args.push('--block-time', String(blockTime));
    const child = spawn(anvilBinary(), args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const rpcUrl = `http://127.0.0.1:${chosen}`;
    const call = rpcClient(rpcUrl);
    const stop = () => new Promise((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGINT');
    });
    const onExit = () => child.kill('SIGKILL');
    process.once('exit', onExit);
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline && child.exitCode === null) {
      try {
        if ((await call('eth_chainId')) === `0x${chainId.toString(16)}`) {
          return { rpcUrl, wsUrl: `ws://127.0.0.1:${chosen}`, port: chosen, pid: child.pid, call, process: child, stop: async () => { process.off('exit', onExit); await stop(); } };
        }
      } catch { /* not up yet */ }
      await new Promise((r) => setTimeout(r, 100));
    }
    child.kill('SIGKILL');
    if (port) throw new Error(`anvil did not start on port ${port}: ${stderr.trim()}`);
  }
  throw new Error('anvil did not start on any random port');
}
