// A tiny JSON-RPC client over fetch with clear errors.
export class RpcError extends Error {}

export function rpcClient(url) {
  let id = 0;
  return async function call(method, params = []) {
    let response;
    try {
      response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: ++id, method, params }),
      });
    } catch (e) {
      throw new RpcError(`cannot reach the chain at ${url} (${e.cause?.code ?? e.message}); is the demo running?`);
    }
    const body = await response.json();
    if (body.error) throw new RpcError(`${method}: ${body.error.message}`);
    return body.result;
  };
}

/** Polls for a transaction receipt (anvil mines at once, or on the next interval block). */
export async function waitForReceipt(call, hash, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const receipt = await call('eth_getTransactionReceipt', [hash]);
    if (receipt) return receipt;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new RpcError(`transaction ${hash} was not mined within ${timeoutMs / 1000} s`);
}
