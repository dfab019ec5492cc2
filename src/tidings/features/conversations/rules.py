"""The pure rules of conversations: timer durations, the author prefix of relayed messages, and
which channel may carry a participant (its type serves the address kind and offers the proxy)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from tidings.core.addresses import ChannelKind, parse_address
from tidings.core.numbers import InvalidNumberError

# Timers shorter than a second would only measure the sweep's own period; longer than a year is
# almost certainly a mistake in units.
MIN_TIMER_MS = 1_000
MAX_TIMER_MS = 366 * 86_400_000

# ISO 8601 durations as Twilio's Conversations timers take them (``PT5M``, ``P1D``), restricted to
# units of fixed length: years and months have none, so ``P1M`` is refused rather than guessed.
_DURATION = re.compile(
    r"^P(?:(?P<w>\d+)W)?(?:(?P<d>\d+)D)?"
    r"(?:T(?=\d)(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+(?:\.\d{1,3})?)S)?)?$"
)
_UNIT_MS = {"w": 604_800_000, "d": 86_400_000, "h": 3_600_000, "m": 60_000}


class InvalidDuration(ValueError):
    """A timer value that is neither whole seconds nor an ISO 8601 duration we accept."""


def parse_duration(value: str | int | float) -> int:
    """Milliseconds of a timer given as seconds (``300``) or ISO 8601 (``"PT5M"``, ``"P1DT2H"``,
    ``"PT1.5S"``); raises :class:`InvalidDuration` with a sentence naming the problem."""
    if isinstance(value, bool):  # a JSON true is not a duration, though Python calls it an int
        raise InvalidDuration("a duration is a number of seconds or an ISO 8601 string such as PT5M")
    if isinstance(value, int | float):
        ms = round(value * 1000)
    else:
        match = _DURATION.fullmatch(value.strip().upper())
        if match is None or not any(match.groupdict().values()):
            raise InvalidDuration(
                f"{value!r} is not an ISO 8601 duration of weeks, days, hours, minutes or seconds "
                "(such as PT5M or P1DT2H; years and months have no fixed length)"
            )
        parts = match.groupdict()
        ms = sum(int(parts[unit]) * size for unit, size in _UNIT_MS.items() if parts[unit])
        ms += round(float(parts["s"]) * 1000) if parts["s"] else 0
    if not MIN_TIMER_MS <= ms <= MAX_TIMER_MS:
        raise InvalidDuration("a timer is between 1 second and 366 days")
    return ms


# Whether a participant of each kind gets relayed messages prefixed with the author's identity
# ("Ana: on my way"). Every kind Tidings carries delivers all of a conversation's messages from
# one sender -- the proxy number (SMS, WhatsApp) or the bot (Telegram, Viber) -- so without the
# name a reader cannot tell who wrote; this is Twilio's group-texting style. A kind whose client
# shows the author by itself (a chat SDK identity) would be False.
AUTHOR_PREFIX: Mapping[ChannelKind, bool] = {
    ChannelKind.SMS: True,
    ChannelKind.WHATSAPP: True,
    ChannelKind.TELEGRAM: True,
    ChannelKind.VIBER: True,
}


def relay_body(kind: str, author_identity: str | None, body: str) -> str:
    """The text a participant of ``kind`` receives: prefixed when the author is a participant
    with an identity and the kind needs it. Authors without an identity (a phone participant,
    the system, the organisation) are not named: naming them by address would unmask numbers
    the proxy address exists to hide."""
    if author_identity and AUTHOR_PREFIX.get(ChannelKind(kind), False):
        return f"{author_identity}: {body}"
    return body


# The address kinds each channel type carries; the sandbox carries them all (it stands in
# for every provider).
SERVED_KINDS: Mapping[str, frozenset[ChannelKind]] = {
    "sandbox": frozenset(ChannelKind),
    "twilio": frozenset({ChannelKind.SMS, ChannelKind.WHATSAPP}),
    "flowroute": frozenset({ChannelKind.SMS}),
    "smpp": frozenset({ChannelKind.SMS}),
    "whatsapp": frozenset({ChannelKind.WHATSAPP}),
    "telegram": frozenset({ChannelKind.TELEGRAM}),
    "viber": frozenset({ChannelKind.VIBER}),
}
_PHONE_KINDS = frozenset({ChannelKind.SMS, ChannelKind.WHATSAPP})


def proxy_form(kind: ChannelKind, raw: str) -> str | None:
    """``raw`` as the canonical proxy address of a ``kind`` participant, or None when it cannot
    be one: phone kinds take ``+1…`` or their own prefix (``whatsapp:+1…``) and come back in the
    kind's form; Telegram and Viber take the bot's address as its inbound messages show it."""
    text = raw.strip()
    if not text or len(text) > 64:
        return None
    if kind in _PHONE_KINDS:
        bare = text.split(":", 1)[1] if text.lower().startswith(f"{kind.value}:") else text
        try:
            address = parse_address(bare)
        except InvalidNumberError:
            return None
        if address.kind is not ChannelKind.SMS:
            return None
        return address.value if kind is ChannelKind.SMS else f"{kind.value}:{address.value}"
    try:
        parsed = parse_address(text)
    except InvalidNumberError:
        return text
    return str(parsed) if parsed.kind is kind else text


def proxy_matches(kind: str, proxy_address: str, recipient: str) -> bool:
    """Whether an inbound message to ``recipient`` was written to this proxy address."""
    return proxy_form(ChannelKind(kind), recipient) == proxy_address


def offers(channel: Mapping[str, Any], kind: ChannelKind, proxy_address: str) -> bool:
    """Whether a channel row can carry a ``kind`` participant from ``proxy_address``: its type
    serves the kind, and the proxy is one of its senders -- any address on the sandbox, and any
    on a bot channel (Telegram, Viber) that lists no senders, since a bot is its one sender."""
    if kind not in SERVED_KINDS.get(channel["type"], frozenset()):
        return False
    if channel["type"] == "sandbox":
        return True
    senders = [str(s) for s in json.loads(channel["senders"] or "[]")]
    if not senders:
        return kind not in _PHONE_KINDS
    return any(proxy_form(kind, sender) == proxy_address for sender in senders)


def default_proxy(channel: Mapping[str, Any], kind: ChannelKind) -> str | None:
    """The proxy address used when a participant is added without one: the channel's first
    sender in the kind's form; None when the channel lists none."""
    for sender in json.loads(channel["senders"] or "[]"):
        form = proxy_form(kind, str(sender))
        if form is not None:
            return form
    return None


def delivery_sender(kind: str, proxy_address: str) -> str | None:
    """The ``sender`` of a delivery: the proxy number for phone kinds; none for bot kinds, whose
    channels send as their one bot (Viber would show the string as the sender's name)."""
    return proxy_address if ChannelKind(kind) in _PHONE_KINDS else None


def timer_deadlines(
    state: str, last_activity_at: int, inactive_after_ms: int | None, closed_after_ms: int | None
) -> dict[str, int | None]:
    """When the timers of a conversation in ``state`` fire, counted from its last activity (as
    Twilio's do: every message resets them): ``inactive_at`` only while active, ``closes_at``
    while not closed. None where a timer is unset or no longer applies."""
    return {
        "inactive_at": last_activity_at + inactive_after_ms
        if state == "active" and inactive_after_ms is not None
        else None,
        "closes_at": last_activity_at + closed_after_ms
        if state != "closed" and closed_after_ms is not None
        else None,
    }
