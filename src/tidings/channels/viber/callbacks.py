"""The events Viber posts to the bot's one webhook (receipts, inbound messages, the rest), as in
https://developers.viber.com/docs/api/rest-bot-api/#callbacks and creators.viber.com/docs/bots-api/events.
"""

from __future__ import annotations

import json
from typing import Any

from tidings.channels.base import CallbackError, CallbackResult, InboundMessage, Receipt
from tidings.core.statuses import MessageStatus

# Viber's receipt events → ours. ``seen`` implies delivered (Viber sends it once, when the user
# reads their unread messages); statuses only move forward, so a late one changes nothing.
# ``failed`` is a message Viber accepted but could not hand to the user's device.
STATUSES = {
    "delivered": MessageStatus.DELIVERED,
    "seen": MessageStatus.DELIVERED,
    "failed": MessageStatus.UNDELIVERED,
}
FAILED_CODE = "viber_failed"
ADDRESS_PREFIX = "viber:"
MAX_DETAIL_CHARS = 500


def parse_event(body: bytes) -> dict[str, Any]:
    """The decoded callback. Python's ``json`` reads integers exactly, which the 64-bit
    ``message_token`` needs (a float would round it)."""
    try:
        event = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        raise CallbackError("the body is not JSON") from None
    if not isinstance(event, dict) or not isinstance(event.get("event"), str):
        raise CallbackError("a Viber callback is a JSON object with an event name")
    return event


def message_token(value: object) -> str | None:
    """A ``message_token`` as an exact decimal string, or None when it is not an integer."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return str(value)
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return value
    return None


def callback_result(event: dict[str, Any], recipient: str) -> CallbackResult:
    """What one verified callback means for us. Events we do not track (``webhook``, the
    set_webhook check; ``subscribed``, ``unsubscribed``, ``conversation_started``, and any new
    ones) are acknowledged with 200 and dropped: Viber retries anything else for an hour."""
    name = event["event"]
    if name in STATUSES:
        return CallbackResult(receipts=[receipt(event)])
    if name == "message":
        return CallbackResult(inbound=[inbound(event, recipient)])
    return CallbackResult()


def receipt(event: dict[str, Any]) -> Receipt:
    """The receipt a ``delivered``, ``seen`` or ``failed`` callback carries."""
    token = message_token(event.get("message_token"))
    status = STATUSES.get(event["event"])
    if token is None or status is None:
        raise CallbackError("a receipt callback needs an integer message_token")
    if status is MessageStatus.UNDELIVERED:
        desc = event.get("desc")
        detail = str(desc)[:MAX_DETAIL_CHARS] if desc else "Viber could not deliver the message"
        return Receipt(token, status, FAILED_CODE, detail)
    return Receipt(token, status)


def inbound(event: dict[str, Any], recipient: str) -> InboundMessage:
    """The message a user sent the bot. Text messages carry ``text``; pictures, videos, files,
    locations and the like carry ``media``/``location`` and perhaps a caption."""
    sender = event.get("sender")
    message = event.get("message")
    token = message_token(event.get("message_token"))
    if not isinstance(sender, dict) or not isinstance(message, dict) or token is None:
        raise CallbackError("a message callback needs sender, message and message_token")
    sender_id = sender.get("id")
    if not isinstance(sender_id, str) or not sender_id:
        raise CallbackError("a message callback needs sender.id")
    text = message.get("text")
    extra: dict[str, Any] = {}
    if sender.get("name"):
        extra["profile_name"] = str(sender["name"])
    if message.get("type") not in (None, "text"):
        extra["type"] = str(message["type"])
    for key in ("media", "location", "tracking_data", "file_name"):
        if message.get(key) is not None:
            extra[key] = message[key]
    return InboundMessage(
        ADDRESS_PREFIX + sender_id, recipient, text if isinstance(text, str) else "", token, extra
    )
