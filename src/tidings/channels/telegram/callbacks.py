"""Telegram's callbacks to us: one JSON Update per POST, its kind told by which field is set.

Only ``message`` Updates with ``text`` become inbound messages; every other kind (edited
messages, channel posts, callback queries, media without text...) is acknowledged and dropped.
https://core.telegram.org/bots/api#update and https://core.telegram.org/bots/api#message
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Mapping
from typing import Any

from tidings.channels.base import CallbackError, InboundMessage

# setWebhook's secret_token comes back in this header on every Update
# (https://core.telegram.org/bots/api#setwebhook).
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def secret_matches(expected: str, given: str | None) -> bool:
    """Whether the header holds the channel's webhook secret (compared in constant time)."""
    return given is not None and hmac.compare_digest(expected.encode(), given.encode())


def parse_update(body: bytes) -> dict[str, Any]:
    """The Update object posted, checked for its one required field."""
    try:
        update = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        raise CallbackError("the body is not a JSON Update") from None
    if not isinstance(update, dict) or not _is_int(update.get("update_id")):
        raise CallbackError("an Update needs an integer update_id")
    return update


def inbound(update: Mapping[str, Any], bot_address: str) -> InboundMessage | None:
    """The text message an Update carries, addressed to ``bot_address``; None for other kinds."""
    message = update.get("message")
    if not isinstance(message, dict):
        return None
    text = message.get("text")
    chat = message.get("chat")
    if not isinstance(text, str) or not isinstance(chat, dict):
        return None
    chat_id, message_id = chat.get("id"), message.get("message_id")
    if not _is_int(chat_id) or not _is_int(message_id):
        raise CallbackError("a message needs chat.id and message_id")
    extra: dict[str, Any] = {"update_id": update["update_id"], "chat_type": chat.get("type")}
    author = message.get("from")
    if isinstance(author, dict):
        for field, key in (("id", "from_id"), ("username", "username"), ("first_name", "first_name")):
            if author.get(field) is not None:
                extra[key] = author[field]
    if _is_int(message.get("date")):
        extra["date"] = message["date"]
    # The chat, not the author, is the sender: a reply to it lands where the message came from
    # (the same for private chats, the group for group messages).
    return InboundMessage(f"telegram:{chat_id}", bot_address, text, f"{chat_id}:{message_id}", extra)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
