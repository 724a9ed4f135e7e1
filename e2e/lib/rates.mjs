// A stand-in for the public price APIs the server reads rates from, answering in their real
// formats (no internet here): CoinGecko `GET /api/v3/simple/price` (numbers, each coin with its own
// `last_updated_at`) and Coinbase `GET /v2/exchange-rates?currency=USDT` (strings, no time; an
// unknown currency answered with USD's rates, as Coinbase does). The test sets the rates and how old
// CoinGecko says they are.
import { createServer } from 'node:http';

const COINGECKO_IDS = { tether: 'USDT', 'usd-coin': 'USDC', 'binance-usd': 'BUSD', 'first-digital-usd': 'FDUSD' };

export async function startRates({ coingecko = { USDT: 7.2 }, coinbase = { USDT: '7.3' }, currency = 'CNY' } = {}) {
  const state = { coingecko, coinbase, currency, ageSeconds: 5, asked: [] };
  const server = createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    state.asked.push(`${url.pathname}${url.search}`);
    const send = (body) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (url.pathname === '/api/v3/simple/price') {
      const vs = url.searchParams.get('vs_currencies');
      const at = Math.floor(Date.now() / 1000) - state.ageSeconds;
      const body = {};
      for (const id of (url.searchParams.get('ids') ?? '').split(',')) {
        const rate = state.coingecko[COINGECKO_IDS[id]];
        if (rate !== undefined && vs === state.currency.toLowerCase()) body[id] = { [vs]: rate, last_updated_at: at };
      }
      return send(body);
    }
    if (url.pathname === '/v2/exchange-rates') {
      const asked = url.searchParams.get('currency');
      const rate = state.coinbase[asked];
      return send(rate === undefined
        ? { data: { currency: 'USD', rates: { [state.currency]: '7.1' } } }
        : { data: { currency: asked, rates: { [state.currency]: rate, USD: '1.0' } } });
    }
    res.writeHead(404).end();
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    state,
    stop: () => new Promise((r) => server.close(r)),
  };
}
