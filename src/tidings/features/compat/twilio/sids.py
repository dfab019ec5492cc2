"""Twilio SIDs for native ids, and back, by arithmetic alone: no table, no lookup.

A native id is ``<prefix>_`` + 26 Crockford base32 characters holding a 128-bit value
(``core/ids.py``); a SID is two letters + 32 hex digits, also 128 bits. The mapping rewrites the
same number in the other alphabet, so ``msg_01JD…`` is always ``SM…`` and the SID of any native
row is known without storing it. Accounts are already ``AC`` + hex and map to themselves.
"""

from __future__ import annotations

import re

from tidings.features.compat.twilio.exceptions import not_found

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_CROCKFORD_VALUE = {char: value for value, char in enumerate(_CROCKFORD)}
_NATIVE_CHARS = 26
_BITS = 128
# Twilio emits lowercase hex; its own patterns accept either case, so a SID typed in capitals
# names the same resource. What we emit is always lowercase.
_SID = re.compile(r"^[A-Z]{2}[0-9a-fA-F]{32}$")
ACCOUNT_SID = re.compile(r"^AC[0-9a-f]{32}$")


def to_sid(letters: str, native_id: str) -> str:
    """The SID (``letters`` + 32 lowercase hex digits) of a native id such as ``msg_01JD…``."""
    _, sep, encoded = native_id.rpartition("_")
    value = _crockford_value(encoded) if sep else None
    if value is None:
        raise ValueError(f"{native_id!r} is not a native id")
    return f"{letters}{value:032x}"


def from_sid(sid: str, letters: str, native_prefix: str) -> str:
    """The native id (``native_prefix`` + ``_`` + 26 Crockford characters) a SID names.

    A SID of the wrong shape or kind names nothing: a 20404, as Twilio answers for an unknown
    SID, never a 500 or a validation error that would tell the shapes apart."""
    if not _SID.fullmatch(sid) or sid[:2] != letters:
        raise not_found()
    value = int(sid[2:], 16)
    chars = []
    for _ in range(_NATIVE_CHARS):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return f"{native_prefix}_" + "".join(reversed(chars))


def is_sid(sid: str, letters: str) -> bool:
    return bool(_SID.fullmatch(sid)) and sid[:2] == letters


def account_sid(account_id: str) -> str:
    """Accounts are ``AC`` + hex natively: their SID is their id."""
    return account_id


def account_id(sid: str) -> str:
    """The account a path's ``{AccountSid}`` names; a malformed one is a 20404."""
    if not ACCOUNT_SID.fullmatch(sid):
        raise not_found()
    return sid


def _crockford_value(encoded: str) -> int | None:
    if len(encoded) != _NATIVE_CHARS:
        return None
    value = 0
    for char in encoded:
        digit = _CROCKFORD_VALUE.get(char)
        if digit is None:
            return None
        value = (value << 5) | digit
    return value if value < 1 << _BITS else None
