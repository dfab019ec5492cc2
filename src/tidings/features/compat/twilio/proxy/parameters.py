"""Twilio Proxy's form parameters, checked and translated; every parameter Twilio defines that
Tidings cannot honour is a 400 naming it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from tidings.core.addresses import ChannelKind, parse_address
from tidings.core.clock import now_ms, to_ms
from tidings.core.numbers import InvalidNumberError
from tidings.features.compat.twilio.dates import parse_time
from tidings.features.compat.twilio.exceptions import invalid_parameter, unsupported_parameter
from tidings.features.compat.twilio.forms import Form

NO_CALLBACKS = "Tidings announces sessions to the account's webhook (proxy.session.* events)"
NO_GEO = "Tidings places a session on the service's least busy number free of both participants"
NO_CHAT = "Tidings proxy sessions carry SMS and WhatsApp, not chat"
NO_VOICE = "Tidings relays messages only: Mode is message-only"
NO_NEW_EXPIRY = "a Tidings session's expiry is set when it is created"
NO_FAIL_OPTION = "Tidings always refuses a participant already in a session on every free number"

SERVICE_FIELDS = frozenset({"UniqueName", "DefaultTtl"})
SERVICE_REFUSED = {
    "CallbackUrl": NO_CALLBACKS,
    "InterceptCallbackUrl": NO_CALLBACKS,
    "OutOfSessionCallbackUrl": NO_CALLBACKS,
    "GeoMatchLevel": NO_GEO,
    "NumberSelectionBehavior": NO_GEO,
    "ChatInstanceSid": NO_CHAT,
}
SERVICE_PARAMETERS = SERVICE_FIELDS | SERVICE_REFUSED.keys()
NUMBER_PARAMETERS = frozenset({"PhoneNumber", "Sid", "IsReserved"})
SESSION_FIELDS = frozenset({"UniqueName", "Ttl", "DateExpiry", "Mode", "Participants"})
SESSION_REFUSED = {"Status": "a session is created open", "FailOnParticipantConflict": NO_FAIL_OPTION}
SESSION_PARAMETERS = SESSION_FIELDS | SESSION_REFUSED.keys()
SESSION_UPDATE_REFUSED = {
    "Ttl": NO_NEW_EXPIRY,
    "DateExpiry": NO_NEW_EXPIRY,
    "FailOnParticipantConflict": NO_FAIL_OPTION,
}
SESSION_UPDATE_PARAMETERS = frozenset({"Status"}) | SESSION_UPDATE_REFUSED.keys()
PARTICIPANT_KEYS = ("Identifier", "FriendlyName", "ProxyIdentifier", "ProxyIdentifierSid")
PARTICIPANT_PARAMETERS = frozenset(PARTICIPANT_KEYS)

MAX_UNIQUE_NAME = 191
MAX_FRIENDLY_NAME = 255
MAX_TTL_S = 365 * 86_400  # the native sessions' longest expiry (525,600 minutes)
MODES = frozenset({"message-only", "voice-only", "voice-and-message"})


@dataclass(frozen=True)
class ParticipantAsk:
    identifier: str  # canonical: +E164 or whatsapp:+E164
    friendly_name: str | None
    proxy_identifier: str | None  # a pool number (E.164) it asks to be reached from
    proxy_identifier_sid: str | None


def refuse(form: Form, refused: dict[str, str]) -> None:
    for name in form.names():
        if name in refused:
            raise unsupported_parameter(name, refused[name])


def text(name: str, value: str | None, limit: int) -> str | None:
    if value is None:
        return None
    stripped = value.strip()
    if not stripped or len(stripped) > limit:
        raise invalid_parameter(name, f"give 1 to {limit} characters")
    return stripped


def seconds(name: str, value: str | None, *, minimum: int) -> int | None:
    if value is None:
        return None
    if not value.strip().isdigit() or not minimum <= int(value) <= MAX_TTL_S:
        raise invalid_parameter(name, f"whole seconds from {minimum} to {MAX_TTL_S}")
    return int(value)


def boolean(name: str, value: str | None) -> bool | None:
    if value is None:
        return None
    if value.lower() not in ("true", "false"):
        raise invalid_parameter(name, "true or false")
    return value.lower() == "true"


def service_fields(form: Form, *, creating: bool) -> dict[str, Any]:
    refuse(form, SERVICE_REFUSED)
    fields: dict[str, Any] = {}
    name = text("UniqueName", form.get("UniqueName"), MAX_UNIQUE_NAME)
    if name is not None:
        fields["unique_name"] = name
    elif creating:
        raise invalid_parameter("UniqueName", "required")
    if "DefaultTtl" in form:
        # 0 is Twilio's "no default": sessions last until closed.
        ttl = seconds("DefaultTtl", form.get("DefaultTtl"), minimum=0)
        fields["default_ttl"] = ttl or None
    return fields


def identifier(name: str, raw: str | None) -> str:
    """A participant's address, canonical (``+E164`` or ``whatsapp:+E164``), as the native proxy
    stores participants."""
    if raw is None or not raw.strip():
        raise invalid_parameter(name, "required")
    try:
        address = parse_address(raw.strip())
    except InvalidNumberError as error:
        raise invalid_parameter(
            name, f"{raw!r} is not an E.164 or whatsapp: number ({error.reason})"
        ) from None
    if address.kind not in (ChannelKind.SMS, ChannelKind.WHATSAPP):
        raise invalid_parameter(name, "an SMS (+1…) or WhatsApp (whatsapp:+1…) number")
    return str(address)


def participant_ask(values: dict[str, Any], where: str) -> ParticipantAsk:
    """One participant, from a form (``where`` ``""``) or a ``Participants`` JSON object."""
    for key in values:
        if key not in PARTICIPANT_KEYS:
            raise invalid_parameter(f"{where}{key}", "not a participant field")
    for key, value in values.items():
        if value is not None and not isinstance(value, str):
            raise invalid_parameter(f"{where}{key}", "a string")
    proxy = values.get("ProxyIdentifier")
    return ParticipantAsk(
        identifier=identifier(f"{where}Identifier", values.get("Identifier")),
        friendly_name=text(f"{where}FriendlyName", values.get("FriendlyName"), MAX_FRIENDLY_NAME),
        proxy_identifier=identifier(f"{where}ProxyIdentifier", proxy).removeprefix("whatsapp:")
        if proxy
        else None,
        proxy_identifier_sid=values.get("ProxyIdentifierSid"),
    )


def participant_form(form: Form) -> ParticipantAsk:
    return participant_ask({key: form.get(key) for key in PARTICIPANT_KEYS if key in form}, "")


def session_fields(form: Form, default_ttl: int | None) -> tuple[dict[str, Any], list[ParticipantAsk]]:
    """``({unique_name, ttl, expires_at}, participants)`` of a new session."""
    refuse(form, SESSION_REFUSED)
    mode = form.get("Mode")
    if mode is not None:
        if mode not in MODES:
            raise invalid_parameter("Mode", "message-only, voice-only or voice-and-message")
        if mode != "message-only":
            raise unsupported_parameter("Mode", NO_VOICE)
    ttl = seconds("Ttl", form.get("Ttl"), minimum=0)
    date_expiry = form.get("DateExpiry")
    if ttl and date_expiry is not None:
        raise invalid_parameter("DateExpiry", "give Ttl or DateExpiry, not both")
    now = now_ms()
    expires_at = None
    if date_expiry is not None:
        expires_at = to_ms(parse_time("DateExpiry", date_expiry))
        if expires_at <= now:
            raise invalid_parameter("DateExpiry", "a time in the future")
    else:
        ttl = ttl or default_ttl
        expires_at = now + ttl * 1000 if ttl else None
    participants = []
    for position, raw in enumerate(form.all("Participants")):
        try:
            values = json.loads(raw)
        except ValueError:
            values = None
        if not isinstance(values, dict):
            raise invalid_parameter(
                "Participants", 'each a JSON object such as {"Identifier": "+14155550100"}'
            )
        participants.append(participant_ask(values, f"Participants[{position}]."))
    if len(participants) > 2:
        raise invalid_parameter("Participants", "a message-only session has at most two participants")
    if len(participants) == 2 and participants[0].identifier == participants[1].identifier:
        raise invalid_parameter("Participants", "the two participants are the same number")
    fields = {
        "unique_name": text("UniqueName", form.get("UniqueName"), MAX_UNIQUE_NAME),
        "ttl": ttl or None,
        "expires_at": expires_at,
    }
    return fields, participants
