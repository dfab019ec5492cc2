"""A Twilio create-message request as a native send request, and the native refusals as
Twilio's error codes.

Supported: ``To``, ``From``, ``Body``, ``StatusCallback``, ``ValidityPeriod``, and ``SendAt`` with
``ScheduleType=fixed``. Twilio schedules only through a Messaging Service; Tidings has none and
schedules any message with a ``From`` (or the default sender), so ``MessagingServiceSid`` is a
clear 400 rather than a sender silently chosen. Every other Twilio parameter (``MediaUrl``,
``ContentSid``, ``MaxPrice``, ``Attempt``, …) is refused by name: Tidings sends text only.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from tidings.errors import TidingsError
from tidings.features.compat.twilio.dates import parse_time
from tidings.features.compat.twilio.exceptions import (
    TwilioError,
    invalid_parameter,
    translate,
    unsupported_parameter,
)
from tidings.features.compat.twilio.forms import Form
from tidings.features.messages import SendMessagesRequest

SUPPORTED = frozenset({"To", "From", "Body", "StatusCallback", "ValidityPeriod", "SendAt", "ScheduleType"})
# Twilio parameters with a reason of their own; the rest are refused as unknown (forms.py).
UNSUPPORTED = {
    "MessagingServiceSid": "Tidings has no Messaging Services: send with From (scheduling included)",
    "MediaUrl": "Tidings sends text messages only",
    "ContentSid": "Tidings has no Content templates",
    "ContentVariables": "Tidings has no Content templates",
}
CREATE_PARAMETERS = SUPPORTED | UNSUPPORTED.keys()

TO_REQUIRED = 21604
BODY_REQUIRED = 21602
INVALID_TO = 21211
INVALID_FROM = 21212
FROM_NOT_USABLE = 21606
BODY_TOO_LONG = 21617
REGION_NOT_ENABLED = 21408
INVALID_CALLBACK = 21609
SEND_AT_MISSING = 35111
SEND_AT_OUT_OF_WINDOW = 35115
SCHEDULE_TYPE_UNSUPPORTED = 35126
OUTSIDE_WHATSAPP_WINDOW = 63016
MAX_VALIDITY_SECONDS = 36_000  # Twilio's range, 1 to 36,000

# Native refusal codes (features/messages) and the Twilio code each becomes.
_NATIVE_CODES = {
    "invalid_number": INVALID_TO,
    "no_valid_recipients": INVALID_TO,
    "no_recipients": TO_REQUIRED,
    "country_not_allowed": REGION_NOT_ENABLED,
    "empty_body": BODY_REQUIRED,
    "body_too_long": BODY_TOO_LONG,
    "too_many_segments": BODY_TOO_LONG,
    "unknown_sender": FROM_NOT_USABLE,
    "no_channel": FROM_NOT_USABLE,
    "invalid_send_at": SEND_AT_OUT_OF_WINDOW,
    "send_at_in_past": SEND_AT_OUT_OF_WINDOW,
    "send_at_too_far": SEND_AT_OUT_OF_WINDOW,
    "outside_service_window": OUTSIDE_WHATSAPP_WINDOW,
}
_FIELD_CODES = {"to": INVALID_TO, "from": INVALID_FROM, "status_callback": INVALID_CALLBACK}
_FIELD_NAMES = {"to": "To", "from": "From", "status_callback": "StatusCallback", "body": "Body"}


def send_request(form: Form) -> SendMessagesRequest:
    """The native request for a create-message form, or the Twilio error for the first problem."""
    for name, why in UNSUPPORTED.items():
        if name in form:
            raise unsupported_parameter(name, why)
    to = form.get("To")
    if to is None or not to.strip():
        raise TwilioError(TO_REQUIRED, "A 'To' phone number is required.")
    body = form.get("Body")
    if body is None:
        raise TwilioError(BODY_REQUIRED, "Message body is required.")
    fields: dict[str, Any] = {"to": to.strip(), "body": body}
    sender = form.get("From")
    if sender is not None:
        if not sender.strip():
            raise TwilioError(INVALID_FROM, "The 'From' number is empty")
        fields["from"] = sender.strip()
    callback = form.get("StatusCallback")
    if callback:
        fields["status_callback"] = callback
    validity = form.get("ValidityPeriod")
    if validity is not None:
        fields["validity_period"] = _validity_seconds(validity)
    send_at = _schedule(form)
    if send_at is not None:
        fields["send_at"] = send_at
    try:
        return SendMessagesRequest.model_validate(fields)
    except ValidationError as exc:
        raise _invalid(exc) from None


def refusal(exc: TidingsError) -> TwilioError:
    """A native send's refusal as Twilio's error: its code where Twilio has one, the native
    message kept (it names the field and the reason)."""
    code = _NATIVE_CODES.get(exc.code)
    if code is None:
        return translate(exc)
    return TwilioError(code, exc.message, 400)


def _schedule(form: Form) -> Any:
    schedule_type = form.get("ScheduleType")
    send_at = form.get("SendAt")
    if schedule_type is None and send_at is None:
        return None
    if schedule_type is not None and schedule_type != "fixed":
        raise TwilioError(
            SCHEDULE_TYPE_UNSUPPORTED, f"ScheduleType {schedule_type!r} is not supported: use fixed"
        )
    if send_at is None:
        raise TwilioError(SEND_AT_MISSING, "SendAt is required when ScheduleType is fixed")
    if schedule_type is None:
        raise TwilioError(SCHEDULE_TYPE_UNSUPPORTED, "SendAt needs ScheduleType=fixed")
    return parse_time("SendAt", send_at, code=SEND_AT_OUT_OF_WINDOW)


def _validity_seconds(value: str) -> int:
    if not value.isdigit() or not 1 <= int(value) <= MAX_VALIDITY_SECONDS:
        raise invalid_parameter("ValidityPeriod", f"expected whole seconds from 1 to {MAX_VALIDITY_SECONDS}")
    return int(value)


def _invalid(exc: ValidationError) -> TwilioError:
    first = exc.errors()[0]
    field = str(first["loc"][0]) if first["loc"] else ""
    name = _FIELD_NAMES.get(field, field or "request")
    return invalid_parameter(name, str(first["msg"]), _FIELD_CODES.get(field, 21200))
