"""A contact's addresses in the canonical form the messages table uses, so that resolving a
contact recipient and matching an inbound sender are both plain equality lookups."""

from __future__ import annotations

from tidings.core.addresses import INVALID_ADDRESS, ChannelKind, parse_address
from tidings.core.numbers import InvalidNumberError

KIND_MISMATCH = "kind_mismatch"
_KINDS = frozenset(kind.value for kind in ChannelKind)


def contact_address(kind: ChannelKind, raw: str, default_country: str | None = None) -> str:
    """``raw`` as the canonical address of ``kind``: given bare (``+1…``, ``083…`` read with
    ``default_country``, ``123`` for a Telegram chat, ``@name``) or with its own prefix
    (``whatsapp:+1…``, ``telegram:123``). Raises :class:`InvalidNumberError` with a number reason
    code, ``invalid_address``, or ``kind_mismatch`` for another kind's prefix."""
    prefix, colon, _ = raw.partition(":")
    given = prefix.strip().lower() if colon else None
    if given is not None and given in _KINDS:
        if given != kind.value:
            raise InvalidNumberError(raw, KIND_MISMATCH)
        qualified = raw
    elif given is not None:
        # No legal value of any kind holds a colon: an unknown prefix is simply invalid.
        raise InvalidNumberError(raw, INVALID_ADDRESS)
    else:
        qualified = raw if kind is ChannelKind.SMS else f"{kind.value}:{raw}"
    try:
        address = parse_address(qualified, default_country)
    except InvalidNumberError as error:
        raise InvalidNumberError(raw, error.reason) from None
    return str(address)


def lookup_candidates(raw: str, default_country: str | None = None) -> list[tuple[str, str]]:
    """``(kind, address)`` pairs an address lookup matches: a bare phone number matches the
    contact's SMS and WhatsApp addresses alike; a prefixed address only its own kind."""
    address = parse_address(raw, default_country)
    if address.kind is ChannelKind.SMS and ":" not in raw:
        return [
            (ChannelKind.SMS.value, address.value),
            (ChannelKind.WHATSAPP.value, f"whatsapp:{address.value}"),
        ]
    return [(address.kind.value, str(address))]
