"""Signing of outbound event webhooks, and the helper receivers use to check a signature.

The header is ``Tidings-Signature: t=<unix seconds>,v1=<hex>``, where the hex is HMAC-SHA256,
keyed with the account's webhook secret, of ``f"{t}.{body}"``: the timestamp is signed with the
body so a captured request cannot be replayed later with a fresh ``t``. Several ``v1`` entries may
appear (one per valid secret); a request verifies if any of them matches.

This module is public and depends on the standard library only, so a receiver can import
:func:`verify_signature` (or copy it) without the rest of the gateway.
"""

from __future__ import annotations

import hashlib
import hmac
import time

__all__ = ["SIGNATURE_HEADER", "sign", "signature_header", "verify_signature"]

SIGNATURE_HEADER = "Tidings-Signature"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of ``"{timestamp}.{body}"`` under ``secret``."""
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(secret: str, body: bytes, *, timestamp: int | None = None) -> str:
    """The ``Tidings-Signature`` value for ``body`` sent at ``timestamp`` (default: now)."""
    t = int(time.time()) if timestamp is None else timestamp
    return f"t={t},v1={sign(secret, t, body)}"


def verify_signature(
    secret: str,
    header: str | None,
    body: bytes | str,
    tolerance_s: int = 300,
    *,
    now: float | None = None,
) -> bool:
    """Whether ``header`` is a valid ``Tidings-Signature`` of ``body`` under ``secret``.

    ``body`` must be the raw request body, exactly as received (re-serialised JSON differs).
    A timestamp more than ``tolerance_s`` seconds from ``now`` (default: the current time) is
    refused, which bounds how long a captured request can be replayed. Comparisons are in
    constant time. Never raises on a malformed header: it simply does not verify.
    """
    if not header or not secret:
        return False
    raw = body.encode() if isinstance(body, str) else body
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            continue
        if key == "t" and value.isascii() and value.isdigit() and len(value) <= 12:
            timestamp = int(value)
        elif key == "v1":
            candidates.append(value)
    if timestamp is None or not candidates:
        return False
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance_s:
        return False
    expected = sign(secret, timestamp, raw).encode()
    matched = False
    for candidate in candidates:
        # No early exit: every candidate is compared, so timing says nothing about which matched.
        matched |= hmac.compare_digest(expected, candidate.encode("utf-8", "replace"))
    return matched
