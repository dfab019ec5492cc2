"""Viber's send_message checks, answers and callback bodies, as the fake Viber serves them
(limits from https://developers.viber.com/docs/api/rest-bot-api/#send-message).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web

from tidings.channels.viber.errors import STATUS_MESSAGES
from tidings.simulators.server import json_response

MAX_REQUEST_BYTES = 30 * 1024  # "Maximum message size is 30KB"
MAX_SENDER_NAME = 28
MAX_TRACKING_DATA = 4000
MAX_TEXT = {"text": 7000, "picture": 768}  # picture: its description
MESSAGE_TYPES = frozenset({"text", "picture", "video", "file", "contact", "location", "url", "sticker"})
CHAT_HOSTNAME = "SN-CHAT-FAKE_"


@dataclass
class FakeViberMessage:
    """One message the fake accepted."""

    message_token: int
    receiver: str
    sender_name: str
    sender_avatar: str | None
    type: str
    text: str | None
    media: str | None
    tracking_data: str | None
    min_api_version: int
    status: str = "sent"  # then delivered or failed
    created_at: float = field(default_factory=time.time)


def validate(payload: Any) -> tuple[int, str] | None:
    """send_message checks: ``(status, status_message)`` for the first problem, or None."""
    if not isinstance(payload, dict):
        return 3, "the body is not a JSON object"
    receiver, kind, sender = payload.get("receiver"), payload.get("type"), payload.get("sender")
    if not isinstance(receiver, str) or not receiver:
        return 4, "receiver"
    if not isinstance(kind, str) or not kind:
        return 4, "type"
    name = sender.get("name") if isinstance(sender, dict) else None
    if not isinstance(name, str) or not name:
        return 4, "sender.name"
    if len(name) > MAX_SENDER_NAME:
        return 3, f"sender.name is longer than {MAX_SENDER_NAME} characters"
    if kind not in MESSAGE_TYPES:
        return 3, f"unknown message type {kind!r}"
    limit, text = MAX_TEXT.get(kind), payload.get("text")
    if limit is not None:
        # A picture's description may be empty ("Can be an empty string if irrelevant").
        if not isinstance(text, str) or (kind == "text" and not text):
            return 4, "text"
        if len(text) > limit:
            return 3, f"text is longer than {limit} characters"
    if kind == "picture" and not isinstance(payload.get("media"), str):
        return 4, "media"
    version = payload.get("min_api_version", 1)
    if type(version) is not int or version < 1:
        return 3, "min_api_version is not a positive integer"
    tracking = payload.get("tracking_data")
    if tracking is not None and (not isinstance(tracking, str) or len(tracking) > MAX_TRACKING_DATA):
        return 3, f"tracking_data is not a string of at most {MAX_TRACKING_DATA} characters"
    return None


def message_from(payload: dict[str, Any], token: int) -> FakeViberMessage:
    sender = payload["sender"]
    return FakeViberMessage(
        message_token=token,
        receiver=payload["receiver"],
        sender_name=sender["name"],
        sender_avatar=sender.get("avatar"),
        type=payload["type"],
        text=payload.get("text"),
        media=payload.get("media"),
        tracking_data=payload.get("tracking_data"),
        min_api_version=payload.get("min_api_version", 1),
    )


def status_response(status: int, message: str | None = None, **more: Any) -> web.Response:
    """Viber's answer: always HTTP 200, the outcome in ``status``."""
    text = message or ("ok" if status == 0 else STATUS_MESSAGES.get(status, "generalError"))
    return json_response({"status": status, "status_message": text, **more, "chat_hostname": CHAT_HOSTNAME})


def callback_body(event: str, token: int, **fields: Any) -> bytes:
    """A callback's exact bytes (the signature covers them)."""
    body = {"event": event, "timestamp": int(time.time() * 1000), "chat_hostname": CHAT_HOSTNAME}
    return orjson.dumps({**body, "message_token": token, **fields})
