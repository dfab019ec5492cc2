"""The Bot API's Message, User and Chat objects, error answers and sendMessage checks, as the fake
Telegram serves them.

Shapes from https://core.telegram.org/bots/api (#message, #user, #chat, #making-requests,
#sendmessage); error descriptions as the Bot API words them (docs/providers.md lists them).
"""

from __future__ import annotations

import time
import zlib
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tidings.simulators.server import json_response

MAX_TEXT = 4096  # "Text of the message to be sent, 1-4096 characters after entities parsing"
MAX_CHAT_ID = 2**52  # "at most 52 significant bits" (https://core.telegram.org/bots/api#chat)

NOT_FOUND = (404, "Not Found")
UNAUTHORIZED = (401, "Unauthorized")
CHAT_ID_EMPTY = (400, "Bad Request: chat_id is empty")
TEXT_EMPTY = (400, "Bad Request: message text is empty")
TOO_LONG = (400, "Bad Request: message is too long")
CHAT_NOT_FOUND = (400, "Bad Request: chat not found")
BLOCKED = (403, "Forbidden: bot was blocked by the user")
NO_URL = (400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
BAD_SECRET = (400, "Bad Request: secret token contains unallowed characters")
# refuse_chat(kind=...) → the permanent error that chat gets.
REFUSALS = {"blocked": BLOCKED, "not_found": CHAT_NOT_FOUND}
TRANSIENT = {429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway"}


@dataclass
class FakeMessage:
    """One message the fake took, as the Bot API stores it."""

    message_id: int
    chat: dict[str, Any]
    text: str
    bot: dict[str, Any]
    date: int = field(default_factory=lambda: int(time.time()))

    @property
    def chat_id(self) -> int:
        return int(self.chat["id"])

    @property
    def key(self) -> str:
        """``<chat id>:<message_id>``, the id the gateway keeps for it."""
        return f"{self.chat_id}:{self.message_id}"

    def to_json(self) -> dict[str, Any]:
        """The Message object sendMessage answers with."""
        message: dict[str, Any] = {"message_id": self.message_id}
        if self.chat["type"] == "channel":
            message["sender_chat"] = self.chat  # channel posts have no `from`
        else:
            message["from"] = self.bot
        message.update({"chat": self.chat, "date": self.date, "text": self.text})
        return message


def chat_for(chat_id: object) -> dict[str, Any] | None:
    """The Chat a sendMessage ``chat_id`` names, or None when no chat could have that id."""
    if isinstance(chat_id, str) and chat_id.startswith("@") and len(chat_id) > 1:
        # A channel by username: give it a stable supergroup-style id (-100…).
        number = -(10**12 + zlib.crc32(chat_id.lower().encode()))
        return {"id": number, "title": chat_id[1:], "username": chat_id[1:], "type": "channel"}
    try:
        number = int(str(chat_id))
    except ValueError:
        return None
    if not 0 < abs(number) < MAX_CHAT_ID:
        return None
    if number > 0:
        return {"id": number, "first_name": f"User {number}", "type": "private"}
    return {"id": number, "title": f"Group {number}", "type": "group"}


def send_problem(params: dict[str, Any]) -> tuple[int, str] | None:
    """sendMessage's checks, in the order the Bot API reports them."""
    if params.get("chat_id") in (None, ""):
        return CHAT_ID_EMPTY
    text = params.get("text")
    if not isinstance(text, str) or not text.strip():
        return TEXT_EMPTY
    if len(text) > MAX_TEXT:
        return TOO_LONG
    if chat_for(params["chat_id"]) is None:
        return CHAT_NOT_FOUND
    return None


def ok(result: Any, description: str | None = None) -> web.Response:
    body: dict[str, Any] = {"ok": True, "result": result}
    if description:
        body["description"] = description
    return json_response(body)


def error(status: int, description: str, retry_after: int | None = None) -> web.Response:
    """The Bot API's error answer; ``parameters`` only when there is something to say."""
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
    return json_response(body, status)
