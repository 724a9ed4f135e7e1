#!/usr/bin/env node
// Verify a StablePay webhook: node verify-webhook.mjs SECRET 'StablePay-Signature value' < raw-body
// Exits 0 when the signature is valid and fresh, 1 otherwise. In Express, read the raw body
// (express.raw({ type: 'application/json' })) and call verify(secret, req.get('StablePay-Signature'), req.body).
import { createHmac, timingSafeEqual } from 'node:crypto';

const TOLERANCE_SECONDS = 300;

export function verify(secret, header, body, now = Date.now() / 1000) {
  const parts = Object.fromEntries(header.split(',').map((p) => p.split('=', 2)));
  const timestamp = Number(parts.t);
  if (!Number.isInteger(timestamp) || !/^[0-9a-f]{64}$/.test(parts.v1 ?? '')) return false;
  if (Math.abs(now - timestamp) > TOLERANCE_SECONDS) return false; // a replay
  const expected = createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest();
  return timingSafeEqual(expected, Buffer.from(parts.v1, 'hex'));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [secret, header] = process.argv.slice(2);
  const chunks = [];
  for await (const c of process.stdin) chunks.push(c);
  const ok = verify(secret, header, Buffer.concat(chunks));
  console.log(ok ? 'valid' : 'INVALID');
  process.exit(ok ? 0 : 1);
}
