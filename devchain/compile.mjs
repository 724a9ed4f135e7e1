// Compiles contracts/MockStablecoin.sol with solc-js (offline) into artifacts/MockStablecoin.json.
// The artifact is committed: the Rust tests deploy it without running node. `node --test devchain/`
// fails when it is stale.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import solc from 'solc';

const here = dirname(fileURLToPath(import.meta.url));
export const SOURCE = join(here, 'contracts', 'MockStablecoin.sol');
export const ARTIFACT = join(here, 'artifacts', 'MockStablecoin.json');

export function compile() {
  const source = readFileSync(SOURCE, 'utf8');
  const input = {
    language: 'Solidity',
    sources: { 'MockStablecoin.sol': { content: source } },
    settings: {
      optimizer: { enabled: true, runs: 200 },
      evmVersion: 'paris',
      outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } },
    },
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input)));
  const errors = (output.errors ?? []).filter((e) => e.severity === 'error');
  if (errors.length) throw new Error(errors.map((e) => e.formattedMessage).join('\n'));
  const contract = output.contracts['MockStablecoin.sol'].MockStablecoin;
  return {
    contract: 'MockStablecoin',
    solcVersion: solc.version(),
    sourceSha256: createHash('sha256').update(source).digest('hex'),
    abi: contract.abi,
    bytecode: `0x${contract.evm.bytecode.object}`,
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const artifact = compile();
  writeFileSync(ARTIFACT, `${JSON.stringify(artifact, null, 2)}\n`);
  console.log(`wrote ${ARTIFACT} (solc ${artifact.solcVersion})`);
}
