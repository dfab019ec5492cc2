"""Opaque, type-prefixed, time-ordered ids (``msg_01J…``) and Twilio-shaped account ids.

Ids sort by creation time (a ULID-style layout: 48-bit milliseconds, then 80 bits that count up
within a millisecond), so list endpoints page with ``WHERE id < :cursor`` on the primary key and
the messages of one batch keep their submission order. Hand-written because it is a dozen lines
and ids are generated on the intake hot path (100,000 per request).
"""

from __future__ import annotations

import random
import secrets
import threading
import time

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_lock = threading.Lock()
_random = random.Random()
_last_ms = 0
_last_rand = 0
_RAND_BITS = 80


# Ids of one block share everything but their low 20 bits, which are written from a table of
# two-character pairs: 100,000 ids cost tens of milliseconds instead of a divmod loop each.
_PAIRS = [a + b for a in _CROCKFORD for b in _CROCKFORD]
_LOW_BITS = 20
_LOW_MASK = (1 << _LOW_BITS) - 1


def _encode(value: int, length: int) -> str:
    """``value`` as ``length`` (even) Crockford characters, ten bits at a time."""
    pairs = []
    for _ in range(length // 2):
        pairs.append(_PAIRS[value & 1023])
        value >>= 10
    return "".join(reversed(pairs))


def _next_block(count: int) -> tuple[int, int]:
    """Reserve ``count`` (≤ 2**20) consecutive values that share all but their low 20 bits."""
    global _last_ms, _last_rand
    with _lock:
        now_ms = time.time_ns() // 1_000_000
        if now_ms > _last_ms:
            _last_ms = now_ms
            # Leave headroom below 2**80 so bursts within one millisecond never overflow. Not a
            # secret (tenancy never relies on ids being unguessable), so no syscall per call.
            _last_rand = _random.getrandbits(_RAND_BITS - 2)
        start = _last_rand + 1
        if (start & _LOW_MASK) + count > _LOW_MASK + 1:
            start = ((start >> _LOW_BITS) + 1) << _LOW_BITS  # skip ahead: still increasing
        _last_rand = start + count - 1
        if _last_rand >= 1 << _RAND_BITS:  # pragma: no cover - needs 2**78 ids in one ms
            raise OverflowError("id space for this millisecond exhausted")
        return _last_ms, start


def new_id(prefix: str) -> str:
    """One new id such as ``msg_01JD3…`` (26 Crockford base32 characters after the prefix)."""
    return new_ids(prefix, 1)[0]


def new_ids(prefix: str, count: int) -> list[str]:
    """``count`` ids in strictly increasing order, cheaper than calling :func:`new_id` in a loop."""
    ids: list[str] = []
    while count > 0:
        size = min(count, _LOW_MASK + 1)
        ms, start = _next_block(size)
        value = (ms << _RAND_BITS) | start
        head = f"{prefix}_" + _encode(value >> _LOW_BITS, 22)
        low = start & _LOW_MASK
        pairs = _PAIRS
        ids += [head + pairs[v >> 10] + pairs[v & 1023] for v in range(low, low + size)]
        count -= size
    return ids


def new_account_id() -> str:
    """An account id in Twilio's form, ``AC`` + 32 hex digits, so Twilio SDKs accept it."""
    return "AC" + secrets.token_hex(16)


def new_secret(prefix: str, nbytes: int = 32) -> str:
    """A random secret (API key, auth token) with a recognisable prefix for secret scanners."""
    return f"{prefix}{secrets.token_urlsafe(nbytes)}"
