// `node devchain/fault-proxy.mjs --upstream http://127.0.0.1:8545 [--port N] [--faults '{"lag": 5}']`
// runs the misbehaving JSON-RPC endpoint of lib/fault-proxy.mjs in front of a node and prints one
// line, `{"url": "http://127.0.0.1:PORT"}`, once it listens. Change its faults while it runs with
// `curl -XPOST URL/__faults -d '{...}'` (the Rust chain suite and the e2e suite do). Stops on SIGINT,
// SIGTERM, or when its standard input closes (so a test that dies takes it along).
import { startFaultProxy } from './lib/fault-proxy.mjs';

const args = process.argv.slice(2);
const option = (name) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const upstream = option('upstream');
if (!upstream) {
  console.error('usage: node devchain/fault-proxy.mjs --upstream URL [--port N] [--faults JSON]');
  process.exit(2);
}
const proxy = await startFaultProxy({ upstream, port: Number(option('port') ?? 0) });
if (option('faults')) await proxy.set(JSON.parse(option('faults')));
console.log(JSON.stringify({ url: proxy.url }));
const stop = async () => {
  await proxy.close();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
process.stdin.on('end', stop);
process.stdin.resume();
