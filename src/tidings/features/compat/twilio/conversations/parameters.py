"""Twilio Conversations' form parameters as the native service's fields.

Every parameter Twilio defines is either translated or refused with a 400 naming it: a client
must not believe that ``UniqueName`` or ``MessagingServiceSid`` took effect when Tidings has no
such thing.
"""

from __future__ import annotations

import json
from typing import Any

from tidings.features.compat.twilio.exceptions import invalid_parameter, unsupported_parameter
from tidings.features.compat.twilio.forms import Form

NO_UNIQUE_NAME = "Tidings conversations have no unique name; keep yours in Attributes"
NO_SERVICES = (
    "Tidings has no Messaging or Conversation Services: a participant's channel comes from its proxy address"
)
NO_BINDINGS = "Tidings conversations carry SMS, WhatsApp, Telegram and Viber participants, not email"
NO_BACKDATING = "Tidings stamps its own creation and update times"
NO_CHAT = (
    "Tidings has no chat SDK participants: give MessagingBinding.Address (Identity may name that "
    "participant in relayed messages)"
)
NO_PARTICIPANT_EXTRAS = "Tidings participants carry no attributes, roles or projected addresses"
NO_MESSAGE_EXTRAS = (
    "Tidings conversation messages are text: no media, content templates, subjects or attributes"
)

CONVERSATION_FIELDS = frozenset({"FriendlyName", "Attributes", "State", "Timers.Inactive", "Timers.Closed"})
CONVERSATION_REFUSED = {
    "UniqueName": NO_UNIQUE_NAME,
    "MessagingServiceSid": NO_SERVICES,
    "Bindings.Email.Address": NO_BINDINGS,
    "Bindings.Email.Name": NO_BINDINGS,
    "DateCreated": NO_BACKDATING,
    "DateUpdated": NO_BACKDATING,
}
CONVERSATION_PARAMETERS = CONVERSATION_FIELDS | CONVERSATION_REFUSED.keys()

PARTICIPANT_FIELDS = frozenset({"Identity", "MessagingBinding.Address", "MessagingBinding.ProxyAddress"})
PARTICIPANT_REFUSED = {
    "MessagingBinding.ProjectedAddress": NO_PARTICIPANT_EXTRAS,
    "Attributes": NO_PARTICIPANT_EXTRAS,
    "RoleSid": NO_PARTICIPANT_EXTRAS,
    "DateCreated": NO_BACKDATING,
    "DateUpdated": NO_BACKDATING,
}
PARTICIPANT_PARAMETERS = PARTICIPANT_FIELDS | PARTICIPANT_REFUSED.keys()

MESSAGE_FIELDS = frozenset({"Author", "Body", "Attributes"})
MESSAGE_REFUSED = {
    "MediaSid": NO_MESSAGE_EXTRAS,
    "ContentSid": NO_MESSAGE_EXTRAS,
    "ContentVariables": NO_MESSAGE_EXTRAS,
    "Subject": NO_MESSAGE_EXTRAS,
    "DateCreated": NO_BACKDATING,
    "DateUpdated": NO_BACKDATING,
}
MESSAGE_PARAMETERS = MESSAGE_FIELDS | MESSAGE_REFUSED.keys()

# The native API's limits (its request models), which the service itself does not check.
MAX_NAME_CHARS = 256
MAX_ADDRESS_CHARS = 70
MAX_BODY_CHARS = 1600
BODY_TOO_LONG = 21617

# Twilio's states; "initializing" is a state Tidings conversations never have.
CREATE_STATES = frozenset({"active", "inactive"})
UPDATE_STATES = frozenset({"active", "inactive", "closed"})


def _text(name: str, value: str | None, limit: int) -> str | None:
    """``value`` stripped (None when absent or blank), at most ``limit`` characters."""
    if value is None or not value.strip():
        return None
    if len(value.strip()) > limit:
        raise invalid_parameter(name, f"at most {limit} characters")
    return value.strip()


def _refuse(form: Form, refused: dict[str, str]) -> None:
    for name in form.names():
        if name in refused:
            raise unsupported_parameter(name, refused[name])


def _attributes(value: str) -> dict[str, Any]:
    """``Attributes``: a JSON string; natively a JSON object."""
    try:
        parsed = json.loads(value)
    except ValueError:
        raise invalid_parameter("Attributes", "not valid JSON") from None
    if not isinstance(parsed, dict):
        raise invalid_parameter("Attributes", "Tidings keeps a JSON object here")
    return parsed


def _state(value: str, allowed: frozenset[str], on: str) -> str:
    if value not in allowed:
        raise invalid_parameter("State", f"{on} takes one of {', '.join(sorted(allowed))}")
    return value


def conversation_fields(form: Form, *, creating: bool) -> dict[str, Any]:
    """The native fields of a conversation create or update (only those given, so an update
    keeps the rest)."""
    _refuse(form, CONVERSATION_REFUSED)
    fields: dict[str, Any] = {}
    if "FriendlyName" in form:
        fields["friendly_name"] = _text("FriendlyName", form.get("FriendlyName"), MAX_NAME_CHARS)
    attributes = form.get("Attributes")
    if attributes is not None:
        fields["attributes"] = _attributes(attributes)
    state = form.get("State")
    if state is not None:
        if creating:
            fields["state"] = _state(state, CREATE_STATES, "a new conversation (close it by an update)")
        else:
            fields["state"] = _state(state, UPDATE_STATES, "an update")
    timers = {}
    for name, native in (("Timers.Inactive", "inactive_after"), ("Timers.Closed", "closed_after")):
        value = form.get(name)
        if value is not None:
            timers[native] = value.strip()  # ISO 8601 (PT5M): the native timers read it as is
    if timers:
        fields["timers"] = timers
    return fields


def participant_fields(form: Form) -> dict[str, Any]:
    _refuse(form, PARTICIPANT_REFUSED)
    address = _text("MessagingBinding.Address", form.get("MessagingBinding.Address"), MAX_ADDRESS_CHARS)
    identity = _text("Identity", form.get("Identity"), MAX_NAME_CHARS)
    if address is None:
        if identity is not None:
            raise unsupported_parameter("Identity", NO_CHAT)
        raise invalid_parameter("MessagingBinding.Address", "required")
    proxy = form.get("MessagingBinding.ProxyAddress")
    return {
        "address": address,
        "proxy_address": _text("MessagingBinding.ProxyAddress", proxy, MAX_ADDRESS_CHARS),
        "identity": identity,
    }


def message_fields(form: Form) -> tuple[str | None, str]:
    """``(author, body)`` of a new message. ``Attributes`` is taken when it says nothing
    (``{}``): native conversation messages keep none."""
    _refuse(form, MESSAGE_REFUSED)
    attributes = form.get("Attributes")
    if attributes is not None and _attributes(attributes):
        raise unsupported_parameter("Attributes", NO_MESSAGE_EXTRAS)
    body = form.get("Body")
    if body is None or not body.strip():
        raise invalid_parameter("Body", "a message needs a Body", code=21602)
    if len(body) > MAX_BODY_CHARS:
        raise invalid_parameter("Body", f"at most {MAX_BODY_CHARS} characters", code=BODY_TOO_LONG)
    return _text("Author", form.get("Author"), MAX_NAME_CHARS), body
