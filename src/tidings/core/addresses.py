"""Recipient addresses of every channel: ``+2783…`` (SMS, ``sms:`` optional), ``whatsapp:+2783…``,
``telegram:<chat id or @channel>`` and ``viber:<user id>``; the sandbox channel carries them all.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from enum import StrEnum

from tidings.core.numbers import (
    InvalidNumberError,
    NormalizedNumbers,
    classify_numbers,
    normalize_number,
    tally,
)

INVALID_ADDRESS = "invalid_address"


class ChannelKind(StrEnum):
    """The kind of channel an address belongs to; also its prefix."""

    SMS = "sms"
    WHATSAPP = "whatsapp"
    TELEGRAM = "telegram"
    VIBER = "viber"


@dataclass(frozen=True, slots=True)
class Address:
    """A recipient: the channel kind and the canonical value (E.164, chat id or user id)."""

    kind: ChannelKind
    value: str

    def __str__(self) -> str:
        if self.kind is ChannelKind.SMS:
            return self.value
        return f"{self.kind}:{self.value}"


_KINDS = {kind.value: kind for kind in ChannelKind}
_PHONE_KINDS = frozenset({ChannelKind.SMS, ChannelKind.WHATSAPP})

# Chat ids "have at most 52 significant bits" (https://core.telegram.org/bots/api#chat); groups
# are negative and supergroups/channels -100…, so a sign is allowed.
_TELEGRAM_CHAT_ID = re.compile(r"-?[0-9]{1,16}")
_TELEGRAM_ID_LIMIT = 2**52
# Public usernames are 5-32 of a-z, 0-9 and _, start with a letter and ignore case
# (https://telegram.org/faq#usernames-and-t-me); collectible ones bought on Fragment may be 4 long.
_TELEGRAM_USERNAME = re.compile(r"@[A-Za-z][A-Za-z0-9_]{3,31}")
# Viber user ids are opaque base64-like strings (https://developers.viber.com/docs/api/rest-bot-api/).
_VIBER_ID = re.compile(r"[A-Za-z0-9+/=_-]{1,64}")


def _split_kind(raw: str) -> tuple[ChannelKind | None, str]:
    # A phone number never holds a colon, so the text before the first one is a channel prefix.
    prefix, colon, rest = raw.partition(":")
    if not colon:
        return ChannelKind.SMS, raw
    return _KINDS.get(prefix.strip().lower()), rest


def _chat_address(kind: ChannelKind, rest: str) -> str | None:
    """Canonical telegram/viber value of ``rest``, or None when it is not a legal id."""
    value = rest.strip()
    if kind is ChannelKind.TELEGRAM:
        if _TELEGRAM_CHAT_ID.fullmatch(value):
            chat_id = int(value)
            return str(chat_id) if 0 < abs(chat_id) < _TELEGRAM_ID_LIMIT else None
        # Usernames compare case-insensitively, so one spelling keeps duplicates apart.
        return value.lower() if _TELEGRAM_USERNAME.fullmatch(value) else None
    return value if _VIBER_ID.fullmatch(value) else None


def parse_address(
    raw: str, default_country: str | None = None, allowed_countries: frozenset[str] | None = None
) -> Address:
    """Parse one recipient; raises :class:`InvalidNumberError` (``invalid_address`` or a number
    reason code). Phone-number forms go through :func:`normalize_number` with the two options.
    """
    kind, rest = _split_kind(raw)
    if kind is None:
        raise InvalidNumberError(raw, INVALID_ADDRESS)
    if kind in _PHONE_KINDS:
        try:
            return Address(kind, normalize_number(rest, default_country, allowed_countries))
        except InvalidNumberError as exc:
            raise InvalidNumberError(raw, exc.reason) from None
    value = _chat_address(kind, rest)
    if value is None:
        raise InvalidNumberError(raw, INVALID_ADDRESS)
    return Address(kind, value)


def normalize_addresses(
    raws: Sequence[str],
    default_country: str | None = None,
    allowed_countries: frozenset[str] | None = None,
    executor: Executor | None = None,
) -> NormalizedNumbers:
    """Normalize a batch of addresses as :func:`~tidings.core.numbers.normalize_numbers` does
    numbers: ``valid`` holds canonical address strings, deduplicated by canonical form.

    Phone-number forms share the batched number path (and ``executor`` when it is worth it).
    """
    canonical: dict[str, str] = {}
    reasons: dict[str, str] = {}
    phone_forms: dict[str, tuple[ChannelKind, str]] = {}
    for raw in dict.fromkeys(raws):
        kind, rest = _split_kind(raw)
        if kind is None:
            reasons[raw] = INVALID_ADDRESS
        elif kind in _PHONE_KINDS:
            phone_forms[raw] = (kind, rest)
        else:
            value = _chat_address(kind, rest)
            if value is None:
                reasons[raw] = INVALID_ADDRESS
            else:
                canonical[raw] = str(Address(kind, value))
    numbers = list(dict.fromkeys(rest for _, rest in phone_forms.values()))
    outcomes = classify_numbers(numbers, default_country, allowed_countries, executor)
    for raw, (kind, rest) in phone_forms.items():
        e164 = outcomes.canonical.get(rest)
        if e164 is None:
            reasons[raw] = outcomes.reasons[rest]
        else:
            canonical[raw] = str(Address(kind, e164))
    return tally(raws, canonical, reasons)


def sender_key(sender: str) -> tuple[str, str] | None:
    """``(kind, address)`` of an inbound sender, canonical; None when it is not an address a
    contact can hold (an alphanumeric sender id, say)."""
    try:
        address = parse_address(sender)
    except InvalidNumberError:
        return None
    return address.kind.value, str(address)
