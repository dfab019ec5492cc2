"""Opaque, type-prefixed, time-ordered ids (``msg_01J…``) and Twilio-shaped account ids.

Ids sort by creation time (a ULID-style layout: 48-bit milliseconds, then 80 bits that count up
within a millisecond), so list endpoints page with ``WHERE id < :cursor`` on the primary key and
the messages of one batch keep their submission order. Hand-written because it is a dozen lines
and ids are generated on the intake hot path (100,000 per request).
"""

from __future__ import annotations

import os
import secrets
import threading
import time

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_lock = threading.Lock()
_last_ms = 0
_last_rand = 0
_RAND_BITS = 80


def _encode(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        value, rem = divmod(value, 32)
        chars.append(_CROCKFORD[rem])
    return "".join(reversed(chars))


def _next_values(count: int) -> list[int]:
    global _last_ms, _last_rand
    with _lock:
        now_ms = time.time_ns() // 1_000_000
        if now_ms > _last_ms:
            _last_ms = now_ms
            # Leave headroom below 2**80 so a burst within one millisecond never overflows.
            _last_rand = int.from_bytes(os.urandom(10), "big") >> 2
        start = _last_rand + 1
        _last_rand += count
        if _last_rand >= 1 << _RAND_BITS:  # pragma: no cover - needs 2**78 ids in one ms
            raise OverflowError("id space for this millisecond exhausted")
        ms = _last_ms
    return [(ms << _RAND_BITS) | (start + i) for i in range(count)]


def new_id(prefix: str) -> str:
    """One new id such as ``msg_01JD3…`` (26 Crockford base32 characters after the prefix)."""
    return f"{prefix}_{_encode(_next_values(1)[0], 26)}"


def new_ids(prefix: str, count: int) -> list[str]:
    """``count`` ids in strictly increasing order, cheaper than calling :func:`new_id` in a loop."""
    return [f"{prefix}_{_encode(value, 26)}" for value in _next_values(count)]


def new_account_id() -> str:
    """An account id in Twilio's form, ``AC`` + 32 hex digits, so Twilio SDKs accept it."""
    return "AC" + secrets.token_hex(16)


def new_secret(prefix: str, nbytes: int = 32) -> str:
    """A random secret (API key, auth token) with a recognisable prefix for secret scanners."""
    return f"{prefix}{secrets.token_urlsafe(nbytes)}"
