// Signed pushes: the server signs every message on /ws/display and /ws/payments/{id} with its
// Ed25519 key (`signature`: hex, over the message without `signature` as canonical JSON — members
// sorted by name, no whitespace). A screen that pinned the key (the desktop windows over IPC, a
// paired display at pairing) uses only messages that verify, so a man in the middle on a plain-HTTP
// LAN cannot swap the address or the amount the customer is shown. Pure JS: `crypto.subtle` exists
// only in secure contexts, and a tablet on plain HTTP is exactly where this matters.
import { ed25519 } from '@noble/curves/ed25519.js';

/** `value` as canonical JSON (the messages carry strings, integers, booleans and nulls only). */
export function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const members = value as Record<string, unknown>;
    const names = Object.keys(members).sort();
    return `{${names.map((n) => `${JSON.stringify(n)}:${canonical(members[n])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

function bytes(hex: string): Uint8Array | null {
  if (!/^(?:[0-9a-f]{2})+$/i.test(hex)) return null;
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** The message in `text` when it carries a valid signature by `publicKey` (hex); otherwise null. */
export function verified<T extends object = Record<string, unknown>>(text: string, publicKey: string): T | null {
  let message: unknown;
  try {
    message = JSON.parse(text);
  } catch {
    return null;
  }
  if (message === null || typeof message !== 'object' || Array.isArray(message)) return null;
  const { signature, ...rest } = message as Record<string, unknown>;
  const sig = typeof signature === 'string' ? bytes(signature) : null;
  const key = bytes(publicKey);
  if (!sig || sig.length !== 64 || !key || key.length !== 32) return null;
  try {
    return ed25519.verify(sig, new TextEncoder().encode(canonical(rest)), key) ? (rest as T) : null;
  } catch {
    return null;
  }
}
