#!/usr/bin/env python3
"""Verify a StablePay webhook: python3 verify_webhook.py SECRET 'StablePay-Signature value' < raw-body

Exits 0 when the signature is valid and fresh, 1 otherwise. In your web framework, call
`verify(secret, request.headers["StablePay-Signature"], request.get_data())` on the *raw* body
bytes, before parsing the JSON.
"""
import hashlib
import hmac
import sys
import time

TOLERANCE_SECONDS = 300


def verify(secret: str, header: str, body: bytes, now: float | None = None) -> bool:
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        timestamp = int(parts["t"])
        signature = bytes.fromhex(parts["v1"])
    except (KeyError, ValueError):
        return False
    if abs((now if now is not None else time.time()) - timestamp) > TOLERANCE_SECONDS:
        return False  # too old (or from the future): a replay
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).digest()
    return hmac.compare_digest(expected, signature)


if __name__ == "__main__":
    secret, header = sys.argv[1], sys.argv[2]
    ok = verify(secret, header, sys.stdin.buffer.read())
    print("valid" if ok else "INVALID")
    sys.exit(0 if ok else 1)
