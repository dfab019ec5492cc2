"""The pure rules of proxy sessions: address forms, expiry, who a message is relayed to, and which
channel a pool number belongs to. No database here."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Any

from tidings.core.addresses import ChannelKind, parse_address
from tidings.core.numbers import InvalidNumberError

ACTIVE = "active"
ENDED = "ended"
STATUSES = (ACTIVE, ENDED)

# A participant a phone number can reach: SMS, or WhatsApp from the same number.
PHONE_KINDS = frozenset({ChannelKind.SMS, ChannelKind.WHATSAPP})
NOT_A_PHONE_ADDRESS = "not_a_phone_address"

# A year: a session outliving that is a number lent out for good, not a session.
MAX_TTL_MINUTES = 525_600
_MINUTE_MS = 60_000


class EndReason(StrEnum):
    DELETED = "deleted"  # DELETE /v1/proxy/sessions/{id}
    EXPIRED = "expired"  # its ttl ran out (found by a message or by the sweep)
    NUMBER_REMOVED = "number_removed"  # its pool number was removed with ?end_sessions=true


class Text(StrEnum):
    """The per-account system messages, as named in ``account_texts``."""

    SESSION_START = "proxy_session_start"  # to both participants when a session is created
    SESSION_END = "proxy_session_end"  # to both participants when it ends
    NO_SESSION = "proxy_no_session"  # to whoever writes to a pool number outside any session


# ``metadata.proxy`` of the messages a session carries between its participants: relays of
# their inbound messages, and messages sent into the session through the service.
RELAY = "relay"
INTERACTION = "interaction"

# The field names of ``/v1/proxy/settings``.
SETTING_TEXTS: Mapping[str, Text] = {
    "session_start": Text.SESSION_START,
    "session_end": Text.SESSION_END,
    "no_session": Text.NO_SESSION,
}


def participant_address(raw: str, default_country: str | None) -> str:
    """``raw`` as a canonical participant (``+E164`` or ``whatsapp:+E164``); raises
    :class:`InvalidNumberError` for anything else (a Telegram chat cannot use a phone number)."""
    address = parse_address(raw.strip(), default_country)
    if address.kind not in PHONE_KINDS:
        raise InvalidNumberError(raw, NOT_A_PHONE_ADDRESS)
    return str(address)


def phone_value(raw: str, default_country: str | None = None) -> str | None:
    """The E.164 number of an SMS or WhatsApp address (``+1…``, ``whatsapp:+1…``); None when
    ``raw`` is no such address. Pool numbers, channel senders and inbound recipients compare so."""
    try:
        address = parse_address(raw.strip(), default_country)
    except InvalidNumberError:
        return None
    return address.value if address.kind in PHONE_KINDS else None


def sender_channel(
    channels: Sequence[Mapping[str, Any]], lineage: Sequence[str], number: str
) -> Mapping[str, Any] | None:
    """The channel a pool number belongs to: one listing it among its senders (in any phone
    form), the account's own first, then the nearest ancestor's, as sends choose channels."""
    rank = {account_id: i for i, account_id in enumerate(lineage)}
    holders = [
        channel
        for channel in channels
        if channel["account_id"] in rank
        and any(phone_value(str(sender)) == number for sender in json.loads(channel["senders"] or "[]"))
    ]
    holders.sort(key=lambda channel: (rank[channel["account_id"]], channel["id"]))
    return holders[0] if holders else None


def expiry(now: int, ttl_minutes: int | None) -> int | None:
    """When a session created at ``now`` expires; None: never (until ended)."""
    return None if ttl_minutes is None else now + ttl_minutes * _MINUTE_MS


def has_expired(expires_at: int | None, at: int) -> bool:
    return expires_at is not None and expires_at <= at


def other_participant(session: Mapping[str, Any], sender: str) -> str:
    """The participant a message from ``sender`` is relayed to."""
    return str(session["participant_b"] if sender == session["participant_a"] else session["participant_a"])


def from_pool_number(number: str, recipient: str) -> str:
    """The sender a participant sees: the pool number, in the participant's own form (a WhatsApp
    participant hears from ``whatsapp:+1…``), never the other participant's address."""
    kind, colon, _ = recipient.partition(":")
    return (
        f"{ChannelKind.WHATSAPP.value}:{number}" if colon and kind == ChannelKind.WHATSAPP.value else number
    )


def pool_counts(active_by_number: Mapping[str, int]) -> dict[str, int]:
    """``available`` (numbers serving no session), ``in_use`` (numbers serving one or more),
    ``pool_size`` and ``active_sessions``. A number in use still takes sessions of other people."""
    in_use = sum(1 for count in active_by_number.values() if count > 0)
    return {
        "available": len(active_by_number) - in_use,
        "in_use": in_use,
        "pool_size": len(active_by_number),
        "active_sessions": sum(active_by_number.values()),
    }
