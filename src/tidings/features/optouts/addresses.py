"""Opt-out addresses in the canonical form the messages table uses, so that the refusal at send
is a plain equality probe: ``+E164``, ``whatsapp:+E164``, ``telegram:<id>``, ``viber:<id>``."""

from __future__ import annotations

from tidings.core.addresses import parse_address, sender_key
from tidings.core.numbers import InvalidNumberError
from tidings.core.optouts import ALL_SENDERS
from tidings.errors import Unprocessable


def canonical(raw: str) -> str:
    """An address reported by a channel, canonical; as given when it is not one we can parse
    (an alphanumeric sender id, say), which is then matched exactly."""
    key = sender_key(raw)
    return key[1] if key is not None else raw


def api_address(raw: str, default_country: str | None, field: str) -> str:
    """An address given to ``/v1/opt-outs`` in any form (``083…`` read in ``default_country``);
    422 ``invalid_address`` when it is none."""
    try:
        return str(parse_address(raw.strip(), default_country))
    except InvalidNumberError as error:
        raise Unprocessable(
            f"{raw!r} is not an address ({error.reason})", code="invalid_address", field=field
        ) from None


def api_sender(raw: str | None, default_country: str | None, field: str = "sender") -> str:
    """``*`` (all senders; the default) or one of our addresses, canonical."""
    if raw is None or raw.strip() == ALL_SENDERS:
        return ALL_SENDERS
    return api_address(raw, default_country, field)
