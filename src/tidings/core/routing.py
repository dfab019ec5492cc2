"""Which channel a message takes: the first route whose conditions all match its recipient.

A route matches on the recipient's channel kind (sms, whatsapp, telegram, viber), its country
(ISO 3166 code of the number) and an E.164 prefix; a condition left empty matches anything.
Routes are tried nearest account first (the sender's own, then its parent's, ...), and within an
account by ascending ``priority``, then name. No match means the account's default channel.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from tidings.core.addresses import ChannelKind


@dataclass(frozen=True, slots=True)
class Route:
    name: str
    channel_id: str
    fallback_channel_id: str | None = None
    kind: ChannelKind | None = None
    country: str | None = None
    prefix: str | None = None  # "+2783": compared with the E.164 number


def recipient_kind(recipient: str) -> ChannelKind:
    """The kind of a canonical recipient (``+27…`` is SMS, others carry their kind as prefix)."""
    if recipient.startswith("+"):
        return ChannelKind.SMS
    return ChannelKind(recipient.split(":", 1)[0])


def phone_number(recipient: str) -> str | None:
    """The E.164 number of an SMS or WhatsApp recipient; None for chat and user ids."""
    if recipient.startswith("+"):
        return recipient
    if recipient.startswith("whatsapp:"):
        return recipient[len("whatsapp:") :]
    return None


class Router:
    """Routes of one account lineage, ready to answer per recipient.

    ``country_of`` maps an E.164 number to its ISO country (phonenumbers does it; injected so
    this module stays free of the parsing library's cost when no route asks for a country).
    """

    def __init__(self, routes: Sequence[Route], country_of: Callable[[str], str | None]) -> None:
        self.routes = tuple(routes)
        self._country_of = country_of
        self._needs_country = any(route.country for route in self.routes)

    def choose(self, recipient: str) -> Route | None:
        if not self.routes:
            return None
        kind = recipient_kind(recipient)
        number = phone_number(recipient)
        country = self._country_of(number) if number and self._needs_country else None
        for route in self.routes:
            if route.kind is not None and route.kind is not kind:
                continue
            if route.prefix is not None and (number is None or not number.startswith(route.prefix)):
                continue
            if route.country is not None and route.country != country:
                continue
            return route
        return None
