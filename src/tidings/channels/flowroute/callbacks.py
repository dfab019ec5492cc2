"""Flowroute's callbacks to us: delivery receipts (DLRs) and inbound SMS/MMS, both JSON POSTs.

DLR: ``{"data": {"id": "mdr2-…", "type": "delivery_receipt", "attributes": {"status", "level",
"status_code", "status_code_description", "body", "timestamp"}, "links": {"related"}}}``
https://developer.flowroute.com/api/messages/v2.1/receive-a-dlr/
Inbound: ``{"data": {"id", "type": "message", "attributes": {"from", "to", "body", "is_mms",
"direction", ...}, "relationships": {"media": ...}}, "included": [{"type": "media",
"attributes": {"url", "mime_type", "file_name", "file_size"}}]}``
https://developer.flowroute.com/api/messages/v2.1/receive-an-sms/ (and receive-an-mms/).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from tidings.channels.base import CallbackError, InboundMessage, Receipt
from tidings.channels.flowroute.errors import delivery_error
from tidings.core.statuses import MessageStatus

# Flowroute's DLR ``status`` → ours. Flowroute's strings are Kannel's DLR states ("smsc
# submit", "message buffered", "smsc reject", "delivery success/failure") plus "delivered" as
# its message records show it. Level 1 "smsc submit" (handed to the carrier) and level 2
# "message buffered" (accepted by the carrier, code 1003) are intermediate: acknowledged and
# dropped, like any status missing here (a poll that finds one asks again later).
STATUSES = {
    "delivered": MessageStatus.DELIVERED,
    "delivery success": MessageStatus.DELIVERED,
    "undelivered": MessageStatus.UNDELIVERED,
    "undeliverable": MessageStatus.UNDELIVERED,
    "delivery failure": MessageStatus.UNDELIVERED,
    "expired": MessageStatus.UNDELIVERED,
    "smsc reject": MessageStatus.FAILED,
    "rejected": MessageStatus.FAILED,
    "failed": MessageStatus.FAILED,
}
MAX_MEDIA = 20


def parse_document(body: bytes) -> Mapping[str, Any]:
    """The posted JSON object."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise CallbackError("the body is not JSON") from None
    if not isinstance(document, dict):
        raise CallbackError("the body is not a JSON object")
    return document


def receipt(document: Mapping[str, Any]) -> Receipt | None:
    """The receipt a DLR callback carries, or None for an intermediate status."""
    data = _object(document.get("data"))
    attributes = _object(data.get("attributes"))
    message_id, status = data.get("id"), attributes.get("status")
    if not isinstance(message_id, str) or not message_id or not isinstance(status, str) or not status:
        raise CallbackError("a delivery receipt needs data.id and data.attributes.status")
    return receipt_for(
        message_id, status, attributes.get("status_code"), attributes.get("status_code_description")
    )


def record_receipt(message_id: str, record: Mapping[str, Any]) -> Receipt | None:
    """The receipt a message detail record (MDR2, looked up when polling) amounts to, or None
    while its ``status`` is in between. The code and description come from the newest delivery
    receipt with that status (records list them newest first)."""
    data = record.get("data")
    attributes = data.get("attributes") if isinstance(data, Mapping) else None
    status = attributes.get("status") if isinstance(attributes, Mapping) else None
    if not isinstance(attributes, Mapping) or not isinstance(status, str) or not status:
        return None
    receipts = attributes.get("delivery_receipts")
    matching = [
        r
        for r in (receipts if isinstance(receipts, list) else [])
        if isinstance(r, Mapping) and str(r.get("status", "")).strip().lower() == status.strip().lower()
    ]
    latest: Mapping[str, Any] = matching[0] if matching else {}
    return receipt_for(message_id, status, latest.get("status_code"), latest.get("status_code_description"))


def receipt_for(message_id: str, status: str, status_code: object, description: object) -> Receipt | None:
    """The receipt for a Flowroute ``status`` whoever reported it (a DLR callback, or a message
    record when polling); None for an intermediate status."""
    ours = STATUSES.get(status.strip().lower())
    if ours is None:
        return None
    if ours is MessageStatus.DELIVERED:
        return Receipt(message_id, ours)
    code, detail = delivery_error(status, status_code, description)
    return Receipt(message_id, ours, code, detail)


def inbound(document: Mapping[str, Any]) -> InboundMessage:
    """The message an inbound SMS or MMS callback carries.

    The v2 compact form ``{"to", "from", "body", "id"}`` (Flowroute's older inbound format,
    https://developer.flowroute.com/docs/setting-up-inbound-messages-with-flowroute/) is read too.
    """
    data = _object(document.get("data")) if "data" in document else None
    fields = _object(data.get("attributes")) if data is not None else document
    message_id = data.get("id") if data is not None else document.get("id")
    sender, recipient, body = fields.get("from"), fields.get("to"), fields.get("body")
    if not all(isinstance(v, str) and v for v in (sender, recipient, message_id)):
        raise CallbackError("an inbound message needs from, to and id")
    assert isinstance(sender, str) and isinstance(recipient, str) and isinstance(message_id, str)
    extra: dict[str, Any] = {}
    media = _media(document.get("included"))
    if media:
        extra["media"] = media
    if fields.get("is_mms") is True:
        extra["is_mms"] = True
    if isinstance(fields.get("message_type"), str):
        extra["message_type"] = fields["message_type"]
    return InboundMessage(
        e164(sender), e164(recipient), body if isinstance(body, str) else "", message_id, extra
    )


def e164(number: str) -> str:
    """Flowroute writes numbers as digits (``12065551234``, v2.1) or E.164 (``+12065551234``,
    v2.2); the gateway keeps them as E.164."""
    number = number.strip()
    return "+" + number if number.isdigit() else number


def _media(included: object) -> list[dict[str, str]]:
    if not isinstance(included, list):
        return []
    media = []
    for item in included[:MAX_MEDIA]:
        if not isinstance(item, Mapping) or item.get("type") != "media":
            continue
        attributes = _object(item.get("attributes"))
        url = attributes.get("url")
        if isinstance(url, str) and url:
            media.append({"url": url, "content_type": str(attributes.get("mime_type") or "")})
    return media


def _object(value: object) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise CallbackError("the payload is not a Flowroute JSON:API document (data.attributes)")
    return value
