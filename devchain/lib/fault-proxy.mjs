// A JSON-RPC proxy in front of a real node (anvil) that misbehaves on demand, the way public BSC
// endpoints do: errors per method (rate limits, disabled methods), HTTP statuses with Retry-After,
// a head that lags behind the real one, silently clamped log ranges, a `finalized` tag that turns
// null, delays, another chain id — and, as an outright liar, Transfer logs and receipts it invents.
//
// Faults are set while it runs: `POST /__faults` with a JSON body replaces them (`{}` = honest),
// `GET /__faults` shows them with per-method request counts. Everything else is JSON-RPC, forwarded.
//
// Faults (all optional):
//   methods:   { "<method>" | "*": { error: {code, message}, status, retryAfter, body } }
//              a JSON-RPC error, or an HTTP status (with Retry-After seconds and a plain-text body)
//   http:      { status, retryAfter, body }   every request answers this HTTP status
//   lag:       N      the head is N blocks behind the node's: newer blocks, logs and receipts are not there yet
//   clampLogs: N      eth_getLogs silently answers only the first N blocks of the range asked
//   finalized: "null" | "error"   the `finalized` tag answers null, or an "invalid block tag" error
//   delayMs:   N      every answer comes N ms late
//   chainId:   N      eth_chainId / net_version answer another chain
//   fabricate: [{ token, from, to, value }]  invented Transfer logs (in the head block at the time
//              the fault is set, with its real hash) and matching successful receipts
import http from 'node:http';
import { createHash } from 'node:crypto';
import { TRANSFER_TOPIC } from './abi.mjs';

const hex = (n) => `0x${BigInt(n).toString(16)}`;
const num = (h) => Number(BigInt(h));
const word = (h) => `0x${h.toLowerCase().replace(/^0x/, '').padStart(64, '0')}`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Starts the proxy on a random loopback port (or `port`).
 * @returns {Promise<{url: string, port: number, set: (faults: object) => Promise<void>, counts: () => object, close: () => Promise<void>}>}
 */
export async function startFaultProxy({ upstream, port = 0 }) {
  let faults = {};
  let fabricated = []; // { log, receipt }
  const counts = {};
  let nextId = 1;

  async function forward(method, params) {
    const response = await fetch(upstream, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: nextId++, method, params }),
    });
    const body = await response.json();
    if (body.error) throw Object.assign(new Error(body.error.message), { rpc: body.error });
    return body.result;
  }

  async function setFaults(next) {
    faults = next ?? {};
    fabricated = [];
    for (const [i, f] of (faults.fabricate ?? []).entries()) {
      const head = await forward('eth_getBlockByNumber', ['latest', false]);
      const txHash = `0x${createHash('sha256').update(`fabricated ${i} ${Date.now()} ${Math.random()}`).digest('hex')}`;
      const log = {
        address: f.token,
        topics: [TRANSFER_TOPIC, word(f.from), word(f.to)],
        data: word(BigInt(f.value).toString(16)),
        blockNumber: head.number,
        blockHash: head.hash,
        blockTimestamp: head.timestamp,
        transactionHash: txHash,
        transactionIndex: '0x0',
        logIndex: hex(90 + i),
        removed: false,
      };
      const receipt = {
        type: '0x2',
        status: '0x1',
        cumulativeGasUsed: '0xc350',
        logsBloom: `0x${'0'.repeat(512)}`,
        logs: [log],
        transactionHash: txHash,
        transactionIndex: '0x0',
        blockHash: head.hash,
        blockNumber: head.number,
        gasUsed: '0xc350',
        effectiveGasPrice: '0x3b9aca00',
        from: f.from,
        to: f.token,
        contractAddress: null,
      };
      fabricated.push({ log, receipt });
    }
  }

  /** The head this endpoint admits to (the node's, less the lag). */
  async function head() {
    const real = num(await forward('eth_blockNumber', []));
    return Math.max(0, real - (faults.lag ?? 0));
  }

  function blockParam(tag, h) {
    if (tag === 'latest' || tag === 'pending' || tag === undefined) return hex(h);
    if (typeof tag === 'string' && tag.startsWith('0x')) return num(tag) > h ? null : tag;
    return tag; // earliest
  }

  async function answer(method, params) {
    if (faults.chainId && method === 'eth_chainId') return hex(faults.chainId);
    if (faults.chainId && method === 'net_version') return String(faults.chainId);
    if (method === 'eth_getTransactionReceipt') {
      const fake = fabricated.find((f) => f.receipt.transactionHash === params[0]);
      if (fake) return fake.receipt;
    }
    const lag = faults.lag ?? 0;
    const needsHead = lag > 0 || faults.clampLogs;
    const h = needsHead ? await head() : undefined;
    switch (method) {
      case 'eth_blockNumber':
        return lag > 0 ? hex(h) : forward(method, params);
      case 'eth_getBlockByNumber': {
        const [tag, full] = params;
        if (tag === 'finalized' || tag === 'safe') {
          if (faults.finalized === 'null') return null;
          if (faults.finalized === 'error') throw Object.assign(new Error('invalid block tag'), { rpc: { code: -32602, message: `invalid block tag ${tag}` } });
          const block = await forward(method, params);
          if (block && lag > 0 && num(block.number) > h) return forward(method, [hex(h), full]);
          return block;
        }
        if (lag > 0) {
          const n = blockParam(tag, h);
          return n === null ? null : forward(method, [n, full]);
        }
        return forward(method, params);
      }
      case 'eth_getBlockByHash': {
        const block = await forward(method, params);
        return block && lag > 0 && num(block.number) > h ? null : block;
      }
      case 'eth_getTransactionReceipt':
      case 'eth_getTransactionByHash': {
        const found = await forward(method, params);
        return found && lag > 0 && found.blockNumber && num(found.blockNumber) > h ? null : found;
      }
      case 'eth_getLogs': {
        const filter = { ...params[0] };
        if (needsHead) {
          const to = filter.toBlock === undefined || filter.toBlock === 'latest' ? h : Math.min(num(filter.toBlock), h);
          const from = filter.fromBlock === undefined || filter.fromBlock === 'latest' ? h : num(filter.fromBlock);
          const clampedTo = faults.clampLogs ? Math.min(to, from + faults.clampLogs - 1) : to;
          if (from > clampedTo) return [];
          filter.fromBlock = hex(from);
          filter.toBlock = hex(clampedTo);
        }
        const logs = await forward(method, [filter]);
        return [...logs, ...fabricated.map((f) => f.log).filter((log) => matches(filter, log))];
      }
      default:
        return forward(method, params);
    }
  }

  function matches(filter, log) {
    const from = filter.fromBlock && filter.fromBlock !== 'latest' ? num(filter.fromBlock) : 0;
    const to = filter.toBlock && filter.toBlock !== 'latest' ? num(filter.toBlock) : Infinity;
    const n = num(log.blockNumber);
    if (n < from || n > to) return false;
    const addresses = [filter.address ?? []].flat().map((a) => a.toLowerCase());
    if (addresses.length && !addresses.includes(log.address.toLowerCase())) return false;
    return (filter.topics ?? []).every((t, i) => t === null || [t].flat().map((x) => x.toLowerCase()).includes(log.topics[i]?.toLowerCase()));
  }

  /** One JSON-RPC call: the configured error, or the (possibly bent) answer. */
  async function handleOne(call) {
    counts[call.method] = (counts[call.method] ?? 0) + 1;
    const rule = faults.methods?.[call.method] ?? faults.methods?.['*'];
    if (rule?.error) return { jsonrpc: '2.0', id: call.id, error: rule.error };
    try {
      return { jsonrpc: '2.0', id: call.id, result: await answer(call.method, call.params ?? []) };
    } catch (e) {
      return { jsonrpc: '2.0', id: call.id, error: e.rpc ?? { code: -32603, message: e.message } };
    }
  }

  /** An HTTP-level refusal for this request, if a fault asks for one. */
  function httpRefusal(calls) {
    if (faults.http) return faults.http;
    for (const c of calls) {
      const rule = faults.methods?.[c.method] ?? faults.methods?.['*'];
      if (rule?.status) return rule;
    }
    return null;
  }

  const server = http.createServer(async (req, res) => {
    let text = '';
    for await (const chunk of req) text += chunk;
    if (req.url === '/__faults') {
      if (req.method === 'POST') {
        try {
          await setFaults(text ? JSON.parse(text) : {});
        } catch (e) {
          res.writeHead(400, { 'content-type': 'text/plain' }).end(String(e.message));
          return;
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ faults, counts }));
      return;
    }
    let body;
    try {
      body = JSON.parse(text);
    } catch {
      res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32700, message: 'parse error' } }));
      return;
    }
    const calls = Array.isArray(body) ? body : [body];
    if (faults.delayMs) await sleep(faults.delayMs);
    const refusal = httpRefusal(calls);
    if (refusal) {
      for (const c of calls) counts[c.method] = (counts[c.method] ?? 0) + 1;
      const headers = { 'content-type': 'text/plain' };
      if (refusal.retryAfter !== undefined) headers['retry-after'] = String(refusal.retryAfter);
      res.writeHead(refusal.status, headers).end(refusal.body ?? http.STATUS_CODES[refusal.status] ?? 'error');
      return;
    }
    const answers = await Promise.all(calls.map(handleOne));
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(Array.isArray(body) ? answers : answers[0]));
  });
  server.keepAliveTimeout = 5000;
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
  const actual = server.address().port;
  return {
    url: `http://127.0.0.1:${actual}`,
    port: actual,
    set: setFaults,
    counts: () => ({ ...counts }),
    close: () => new Promise((resolve) => {
      server.closeAllConnections?.();
      server.close(() => resolve());
    }),
  };
}
