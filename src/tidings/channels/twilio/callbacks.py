"""Twilio's callbacks to us: status callbacks (delivery receipts) and inbound messages.

Both are form-encoded POSTs signed with X-Twilio-Signature. Field names from
https://www.twilio.com/docs/messaging/guides/webhook-request (inbound) and
https://www.twilio.com/docs/messaging/guides/track-outbound-message-status (status).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qsl

from tidings.channels.base import CallbackError, InboundMessage, Receipt
from tidings.channels.twilio.errors import delivery_error
from tidings.core.statuses import MessageStatus

# Twilio's MessageStatus → ours. Statuses missing here (accepted, queued, sending, sent,
# scheduled, canceled) tell us nothing the send's own answer did not; they are acknowledged
# and dropped; a poll that finds one asks again later. ``read`` (WhatsApp read receipt) implies
# delivered.
STATUSES = {
    "delivered": MessageStatus.DELIVERED,
    "read": MessageStatus.DELIVERED,
    "undelivered": MessageStatus.UNDELIVERED,
    "failed": MessageStatus.FAILED,
}

EMPTY_TWIML = b'<?xml version="1.0" encoding="UTF-8"?><Response/>'
MAX_FIELDS = 500  # Twilio sends a few dozen; MediaUrl0..9 and geo fields included
MAX_MEDIA = 10  # Twilio's limit per message


def parse_form(body: bytes) -> list[tuple[str, str]]:
    """The posted fields, in order, repeated names kept."""
    try:
        return parse_qsl(
            body.decode("utf-8"), keep_blank_values=True, strict_parsing=False, max_num_fields=MAX_FIELDS
        )
    except (UnicodeDecodeError, ValueError):
        raise CallbackError("the body is not a UTF-8 form (application/x-www-form-urlencoded)") from None


def receipt(fields: Sequence[tuple[str, str]]) -> Receipt | None:
    """The receipt a status callback carries, or None for a status we do not track."""
    form = dict(fields)
    sid = form.get("MessageSid") or form.get("SmsSid")
    status = form.get("MessageStatus") or form.get("SmsStatus")
    if not sid or not status:
        raise CallbackError("a status callback needs MessageSid and MessageStatus")
    return receipt_for(sid, status, form.get("ErrorCode"))


def receipt_for(
    sid: str, status: str, error_code: str | None, error_message: str | None = None
) -> Receipt | None:
    """The receipt for a Message ``status`` whoever reported it (a status callback, or a fetch
    when polling); None while it is still in between."""
    ours = STATUSES.get(status.lower())
    if ours is None:
        return None
    if ours is MessageStatus.DELIVERED:
        return Receipt(sid, ours)
    code, detail = delivery_error(error_code, error_message)
    return Receipt(sid, ours, code, detail)


def inbound(fields: Sequence[tuple[str, str]]) -> InboundMessage:
    """The message an inbound callback carries (SMS, MMS or WhatsApp)."""
    form = dict(fields)
    sender, recipient = form.get("From"), form.get("To")
    sid = form.get("MessageSid") or form.get("SmsMessageSid") or form.get("SmsSid")
    if not sender or not recipient or not sid:
        raise CallbackError("an inbound message needs From, To and MessageSid")
    extra: dict[str, Any] = {}
    media = _media(form)
    if media:
        extra["media"] = media
    for field, key in (("ProfileName", "profile_name"), ("WaId", "wa_id"), ("OptOutType", "opt_out_type")):
        if form.get(field):
            extra[key] = form[field]
    return InboundMessage(sender, recipient, form.get("Body", ""), sid, extra)


def _media(form: dict[str, str]) -> list[dict[str, str]]:
    raw = form.get("NumMedia", "0")
    count = min(int(raw), MAX_MEDIA) if raw.isdigit() else 0
    return [
        {"url": form[f"MediaUrl{n}"], "content_type": form.get(f"MediaContentType{n}", "")}
        for n in range(count)
        if form.get(f"MediaUrl{n}")
    ]
