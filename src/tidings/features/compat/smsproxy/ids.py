"""Session ids as the seed shows them: 32 hex digits (``366910827c8e4a6593943a28e4931668``).

A native session id (``pxs_`` + 26 Crockford base32 characters) holds 128 bits, exactly what 32
hex digits hold, so the seed's id is the native id's bits written in hex: a mapping both ways
with no table."""

from __future__ import annotations

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_VALUES = {char: value for value, char in enumerate(_CROCKFORD)}
_PREFIX = "pxs_"
_CHARS = 26
_HEX = frozenset("0123456789abcdef")


def seed_session_id(native_id: str) -> str:
    value = 0
    for char in native_id.removeprefix(_PREFIX):
        value = value * 32 + _VALUES[char]
    return f"{value:032x}"


def native_session_id(seed_id: str) -> str | None:
    """The native id a seed id stands for; None when it is no 32-hex-digit id."""
    text = seed_id.strip().lower()
    if len(text) != 32 or not set(text) <= _HEX:
        return None
    value = int(text, 16)
    chars = []
    for _ in range(_CHARS):
        value, digit = divmod(value, 32)
        chars.append(_CROCKFORD[digit])
    return _PREFIX + "".join(reversed(chars))
