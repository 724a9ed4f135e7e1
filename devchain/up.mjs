// Starts anvil, deploys the four mock stablecoins, funds the customer wallet and writes
// .devchain/stablepay.toml (the app's config) and .devchain/state.json (for `npm run pay`).
// Usage: node devchain/up.mjs [--port N] [--bind ADDR] [--block-time SECONDS]
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startAnvil } from './lib/anvil.mjs';
import { ACCOUNTS, deployToken, mint, toBaseUnits } from './lib/tokens.mjs';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const STATE_DIR = join(ROOT, '.devchain');

export const MOCKS = [
  { symbol: 'USDT', name: 'Tether USD (mock)' },
  { symbol: 'USDC', name: 'USD Coin (mock)' },
  { symbol: 'FDUSD', name: 'First Digital USD (mock)' },
  { symbol: 'BUSD', name: 'Binance USD (legacy, mock)', legacy: true },
];

export function configToml({ bind, databasePath, rpcUrl, rpcUrls = [rpcUrl], wsUrl, merchant, tokens }) {
  const lines = [
    '# Written by devchain/up.mjs for the local demo chain. Regenerated on every `npm run demo`.',
    '[server]', `bind = "${bind}"`, '',
    '[database]', `path = "${databasePath}"`, '',
    '[merchant]', 'name = "Demo Shop"', `receive_address = "${merchant}"`, '',
    '[payments]', 'confirmations = 3', 'expiry_seconds = 900', '',
    '[chain]', 'poll_interval_ms = 500', '',
    '[[networks]]', 'id = "bsc"', 'name = "BNB Smart Chain (local anvil)"', 'chain_id = 56',
    `rpc_urls = [${rpcUrls.map((u) => `"${u}"`).join(', ')}]`, `ws_urls = [${wsUrl ? `"${wsUrl}"` : ''}]`, 'explorer_url = ""', '',
  ];
  for (const t of tokens) {
    lines.push('[[tokens]]', `symbol = "${t.symbol}"`, `name = "${t.name}"`, 'network = "bsc"', `contract_address = "${t.address}"`, 'decimals = 18', `legacy = ${Boolean(t.legacy)}`, '');
  }
  return lines.join('\n');
}

export async function up({ port, bind = '127.0.0.1:8080', blockTime = 1, stateDir = STATE_DIR } = {}) {
  const anvil = await startAnvil({ port, blockTime });
  try {
    const tokens = [];
    for (const mock of MOCKS) {
      const address = await deployToken(anvil.call, { name: mock.name, symbol: mock.symbol, decimals: 18 });
      await mint(anvil.call, address, ACCOUNTS.customer, toBaseUnits('1000000', 18));
      tokens.push({ ...mock, address });
    }
    mkdirSync(stateDir, { recursive: true });
    const configPath = join(stateDir, 'stablepay.toml');
    const databasePath = join(stateDir, 'stablepay.db');
    writeFileSync(configPath, configToml({ bind, databasePath, rpcUrl: anvil.rpcUrl, wsUrl: anvil.wsUrl, merchant: ACCOUNTS.merchant, tokens }));
    const state = {
      rpcUrl: anvil.rpcUrl,
      wsUrl: anvil.wsUrl,
      pid: anvil.pid,
      server: `http://${bind.replace('0.0.0.0', '127.0.0.1')}`,
      merchant: ACCOUNTS.merchant,
      customer: ACCOUNTS.customer,
      tokens: Object.fromEntries(tokens.map((t) => [t.symbol, t.address])),
    };
    writeFileSync(join(stateDir, 'state.json'), `${JSON.stringify(state, null, 2)}\n`);
    return { anvil, configPath, databasePath, state };
  } catch (e) {
    await anvil.stop();
    throw e;
  }
}

function flag(name) {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const port = flag('--port') ? Number(flag('--port')) : undefined;
  const { anvil, configPath, state } = await up({ port, bind: flag('--bind') ?? '127.0.0.1:8080', blockTime: Number(flag('--block-time') ?? 1) });
  console.log(`anvil on ${anvil.rpcUrl} (chain id 56); tokens:`, state.tokens);
  console.log(`config written to ${configPath}; Ctrl-C stops the chain`);
  process.on('SIGINT', async () => { await anvil.stop(); process.exit(0); });
}
