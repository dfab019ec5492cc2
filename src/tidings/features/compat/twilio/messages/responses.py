"""Twilio's Message JSON for a native message (its public shape, ``core/presenters.py``)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from tidings.core.clock import to_ms
from tidings.features.compat.twilio.dates import rfc2822
from tidings.features.compat.twilio.messages.statuses import twilio_error_code, twilio_status
from tidings.features.compat.twilio.sids import to_sid

API_VERSION = "2010-04-01"
MESSAGE_LETTERS = "SM"
MESSAGE_PREFIX = "msg"
# The outbound statuses a message has left in: it has a send time.
_LEFT = frozenset({"sent", "delivered", "undelivered"})


def message_sid(message_id: str) -> str:
    return to_sid(MESSAGE_LETTERS, message_id)


def messages_path(account_sid: str) -> str:
    return f"/{API_VERSION}/Accounts/{account_sid}/Messages"


def message_json(message: dict[str, Any]) -> dict[str, Any]:
    """``message``: a native message as ``MessageService.get`` answers it.

    ``date_sent``: Tidings keeps no separate send time on a message, so an outbound message that
    has left shows its scheduled time (else its creation time), an inbound one its arrival, and
    one that has not left (or never will) shows null, as Twilio's does."""
    sid = message_sid(message["id"])
    account_sid = message["account_id"]
    created = _ms(message["created_at"])
    inbound = message["direction"] == "inbound"
    if inbound:
        sent: int | None = created
    elif message["status"] in _LEFT:
        sent = _ms(message["send_at"]) or created
    else:
        sent = None
    error = message["error"]
    base = f"{messages_path(account_sid)}/{sid}"
    return {
        "sid": sid,
        "account_sid": account_sid,
        "messaging_service_sid": None,
        "from": message["from"],
        "to": message["to"],
        "body": message["body"],
        "direction": "inbound" if inbound else "outbound-api",
        "status": twilio_status(message["status"]),
        "num_segments": str(message["segments"]),
        "num_media": "0",
        "date_created": rfc2822(created),
        "date_updated": rfc2822(_ms(message["updated_at"])),
        "date_sent": rfc2822(sent),
        "error_code": twilio_error_code(error["code"]) if error else None,
        "error_message": error["message"] if error else None,
        "price": None,
        "price_unit": "USD",
        "api_version": API_VERSION,
        "uri": f"{base}.json",
        "subresource_uris": {"media": f"{base}/Media.json", "feedback": f"{base}/Feedback.json"},
    }


# An address intake stores exactly as given: E.164, or a WhatsApp address of one.
_STORED_AS_GIVEN = re.compile(r"^(whatsapp:)?\+[1-9][0-9]{6,14}$")


def accepted_message(
    batch: dict[str, Any], account_id: str, to: str, sender: str | None, body: str
) -> dict[str, Any] | None:
    """The one message a send just accepted, in the native public shape, from the send's own
    answer (the batch) and the request, when they say all of it: the sender was named and the
    recipient is stored as given. Else None, and the caller reads the message. Saves a read on
    the hot path (a create costs one send, as ``POST /v1/messages`` does)."""
    if sender is None or not _STORED_AS_GIVEN.fullmatch(to) or batch["segments"] is None:
        return None
    (status,) = batch["status_counts"]
    return {
        "id": batch["message_ids"][0],
        "account_id": account_id,
        "direction": "outbound",
        "status": status,
        "from": sender,
        "to": to,
        "body": body,
        "segments": batch["segments"],
        "send_at": batch["send_at"],
        "error": None,
        "created_at": batch["created_at"],
        "updated_at": batch["created_at"],
    }


def _ms(rfc3339: str | None) -> int | None:
    return None if rfc3339 is None else to_ms(datetime.fromisoformat(rfc3339))
