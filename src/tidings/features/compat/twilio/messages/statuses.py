"""Native message statuses and error codes in Twilio's terms (docs/twilio-compat.md, "Statuses").

Every native status but one has Twilio's name already (``core/statuses.py`` borrowed them).
``expired`` (the validity period passed before the message could leave) is Twilio's ``failed``
with error 30001, as Twilio fails a message its ``ValidityPeriod`` outlived.
"""

from __future__ import annotations

import re

from tidings.core.optouts import OPTED_OUT
from tidings.core.statuses import MessageStatus

_STATUS = {status.value: status.value for status in MessageStatus}
_STATUS[MessageStatus.EXPIRED.value] = MessageStatus.FAILED.value

OPTED_OUT_CODE = 21610
UNKNOWN_ERROR = 30008
# Native error codes with a Twilio counterpart; a channel's other failures are 30008 (unknown),
# their native code and text kept in error_message.
_ERROR_CODES = {
    OPTED_OUT: OPTED_OUT_CODE,
    "validity_period_expired": 30001,  # queue overflow: it waited longer than it may
    "sandbox_undelivered": 30003,  # unreachable handset
    "sandbox_rejected": 30005,  # unknown handset
}
# A Twilio channel's own errors keep Twilio's code (``twilio_21211``, channels/twilio/errors.py).
_TWILIO_CODE = re.compile(r"^twilio_(\d{5})$")


def twilio_status(native: str) -> str:
    return _STATUS.get(native, native)


def twilio_error_code(native: str | None) -> int | None:
    if not native:
        return None
    own = _TWILIO_CODE.fullmatch(native)
    if own:
        return int(own.group(1))
    return _ERROR_CODES.get(native, UNKNOWN_ERROR)
