"""``/send_message``'s body, checked in the seed's order (body, send_at, recipients), each
refusal one sentence (400). Fields the seed does not read are ignored, as it ignored them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import orjson

from tidings.features.compat.messagesender.exceptions import PAST_DATE, BadInput

SEND_AT_FORMAT = "%Y-%m-%d %H:%M:%S"  # the one format the seed accepts: "2020-10-05 13:48:00"
SERVICES = ("whatsapp", "telegram", "viber")


@dataclass(frozen=True, slots=True)
class Recipient:
    uuid: str  # a contact's external id
    service: str  # whatsapp | telegram | viber: which of its addresses


@dataclass(frozen=True, slots=True)
class SendOrder:
    body: str
    send_at: datetime | None  # aware; None: send now (the seed's "main" queue)
    recipients: list[Recipient]


def send_order(raw: bytes, zone: ZoneInfo, now: datetime) -> SendOrder:
    try:
        given = orjson.loads(raw) if raw.strip() else None
    except orjson.JSONDecodeError:
        given = None
    if not isinstance(given, dict) or not given:
        raise BadInput("Message required as a JSON object")
    body = given.get("body")
    if not isinstance(body, str) or not body:
        raise BadInput("Body of the message must be a non-empty string")
    return SendOrder(body, _send_at(given.get("send_at"), zone, now), _recipients(given.get("recipients")))


def _send_at(value: Any, zone: ZoneInfo, now: datetime) -> datetime | None:
    if value is None or value == "":
        return None  # as the seed: no date, no schedule
    if not isinstance(value, str):
        raise BadInput("send_at parameter must be a string")
    try:
        moment = datetime.strptime(value, SEND_AT_FORMAT).replace(tzinfo=zone)
    except ValueError:
        raise BadInput(f"send_at must be a date as YYYY-MM-DD HH:MM:SS, not {value!r}") from None
    if moment <= now:
        raise BadInput(PAST_DATE)
    return moment


def _recipients(value: Any) -> list[Recipient]:
    if not isinstance(value, list) or not value:
        raise BadInput("Recipients of the message must be a list of at least one object")
    recipients = []
    for item in value:
        if not isinstance(item, dict):
            raise BadInput("Recipient of the message must be an object with uuid and service")
        uuid, service = item.get("uuid"), item.get("service")
        if not isinstance(uuid, str) or not uuid:
            raise BadInput("UUID parameter must be a non-empty string")
        if not isinstance(service, str):
            raise BadInput("Service parameter must be a string")
        if service not in SERVICES:
            raise BadInput(f"Unknown messenger {service!r}: one of {', '.join(SERVICES)}")
        recipients.append(Recipient(uuid, service))
    return recipients
