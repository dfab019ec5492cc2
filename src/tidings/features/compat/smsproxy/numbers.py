"""The seed's numbers: 11-digit North American E.164 without ``+`` (``12062992129``), and the
native ``+1…`` they stand for."""

from __future__ import annotations

from tidings.core.numbers import InvalidNumberError, normalize_number
from tidings.features.compat.smsproxy.exceptions import BadRequest

NANP_DIGITS = 11


def to_native(raw: object, field: str) -> str:
    """``"12062992129"`` (or the integer, which the seed's table calls the type) as ``+12062992129``;
    anything else, or a number no North American plan assigns, is a 400."""
    value = str(raw).strip() if isinstance(raw, str | int) and not isinstance(raw, bool) else ""
    if len(value) == NANP_DIGITS and value.isascii() and value.isdigit() and value[0] == "1":
        try:
            return normalize_number("+" + value, None)
        except InvalidNumberError:
            pass
    raise BadRequest(f"Required argument: '{field}' (str, an 11-digit number 1XXXXXXXXXX)")


def to_seed(native: str) -> str:
    """``+12062992129`` as ``12062992129``."""
    return native.removeprefix("+")
