"""Where a Twilio session's native session goes: the pool numbers of its service, and turning a
session's two participants into a native session.

A service owns the pool numbers added to it (``twilio_proxy_numbers``); the native pool is the
account's. A native session is placed, by the native pool rule (least busy number free of both
participants), on the service's numbers that are not reserved -- or on the one number a
participant asked for (``ProxyIdentifier``/``ProxyIdentifierSid``, reserved or not).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tidings.core.tenancy import Principal
from tidings.errors import NotFound
from tidings.features.compat.twilio.exceptions import invalid_parameter
from tidings.features.compat.twilio.proxy import repository as repo
from tidings.features.compat.twilio.proxy.parameters import ParticipantAsk
from tidings.features.compat.twilio.proxy.responses import NUMBER
from tidings.features.compat.twilio.sids import from_sid, is_sid
from tidings.features.proxy import ProxyService
from tidings.store.engine import Database


async def requested_number(
    db: Database, proxy: ProxyService, caller: Principal, service_id: str, ask: ParticipantAsk
) -> str | None:
    """The pool number id a participant asks to be reached from, checked to be its service's;
    None when it asks for none."""
    if ask.proxy_identifier is None and ask.proxy_identifier_sid is None:
        return None
    number_ids = []
    if ask.proxy_identifier_sid is not None and not is_sid(ask.proxy_identifier_sid, NUMBER[0]):
        raise invalid_parameter("ProxyIdentifierSid", "a PN… SID of this service's phone numbers")
    try:
        if ask.proxy_identifier_sid is not None:
            number_id = from_sid(ask.proxy_identifier_sid, *NUMBER)
            number_ids.append((await proxy.get_number(caller, number_id, account_id=None))["id"])
        if ask.proxy_identifier is not None:
            number_ids.append((await proxy.get_number(caller, ask.proxy_identifier, account_id=None))["id"])
    except NotFound:
        number_ids.append("")
    async with db.read() as conn:
        owners = await conn.run_sync(lambda c: [repo.number(c, n) for n in number_ids])
    if len(set(number_ids)) != 1 or any(m is None or m["service_id"] != service_id for m in owners):
        raise invalid_parameter("ProxyIdentifier", "not a phone number of this service")
    return str(number_ids[0])


async def start_native(
    db: Database,
    proxy: ProxyService,
    caller: Principal,
    service_id: str,
    identifiers: tuple[str, str],
    requested: Sequence[str | None],
    expires_at: int | None,
) -> dict[str, Any]:
    """The native session of two participants, on the service's numbers (above)."""
    wanted = {number for number in requested if number is not None}
    if len(wanted) > 1:
        raise invalid_parameter("ProxyIdentifier", "the two participants ask for different numbers")
    if wanted:
        candidates = list(wanted)
    else:
        async with db.read() as conn:
            owned = await conn.run_sync(lambda c: repo.numbers_of(c, service_id))
        candidates = [row["number_id"] for row in owned if not row["is_reserved"]]
    fields = {
        "participant_a": identifiers[0],
        "participant_b": identifiers[1],
        "expires_at": expires_at,
        "proxy_number_ids": candidates,
    }
    return await proxy.create_session(caller, fields, account_id=None)
