"""The Bot API calls the channel makes, over one keep-alive client.

``POST {api_base_url}/bot<token>/<method>`` with a JSON body; every answer is JSON
``{"ok": true, "result": ...}`` or ``{"ok": false, "error_code": N, "description": "..."}``
(https://core.telegram.org/bots/api#making-requests). The token is part of the path, so paths are
built per call and never kept, logged or put into an error.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import partial
from typing import Any

from tidings.channels import http
from tidings.channels.base import SendError
from tidings.channels.keepalive import KeepAliveClient
from tidings.channels.telegram.config import TelegramSettings
from tidings.channels.telegram.errors import error_for_response, network_error

TELEGRAM = "telegram:"


def open_client(settings: TelegramSettings) -> KeepAliveClient:
    return http.open_client(
        settings.api_base_url,
        timeout_seconds=settings.timeout_seconds,
        max_connections=settings.max_connections,
    )


def method_path(settings: TelegramSettings, token: str, method: str) -> str:
    """``method``'s path. It holds the token: build it per call, never keep or log it."""
    return http.api_path(settings.api_base_url, f"/bot{token}/{method}")


async def call(client: KeepAliveClient, path: str, token: str, params: Mapping[str, Any]) -> Any:
    """Call the method at ``path`` (from :func:`method_path`); its ``result``, or
    :class:`SendError` classified by ``errors``, with ``token`` masked in its message."""
    body = json.dumps(dict(params)).encode()
    masked = partial(network_error, token=token)
    answer = await http.exchange(
        client, "POST", path, body=body, content_type=http.JSON, network_error=masked
    )
    status = answer.status
    payload = answer.json()
    if not 200 <= status < 300 or not isinstance(payload, dict) or payload.get("ok") is not True:
        if 200 <= status < 300:
            # Telegram took the request but we cannot tell what it did: retrying could send twice.
            raise SendError(
                "telegram_bad_response", f"HTTP {status} without ok: true in the answer", retryable=False
            )
        raise error_for_response(status, payload)
    return payload.get("result")


def chat_id(recipient: str) -> int | str:
    """sendMessage's ``chat_id`` for ``telegram:<chat id>`` (an Integer) or ``telegram:@channel``
    (a String), https://core.telegram.org/bots/api#sendmessage."""
    if not recipient.startswith(TELEGRAM):
        raise SendError(
            "telegram_bad_recipient", "a telegram channel sends to telegram:<chat id> only", retryable=False
        )
    value = recipient.removeprefix(TELEGRAM)
    try:
        return int(value)
    except ValueError:
        if value.startswith("@") and len(value) > 1:
            return value
    raise SendError("telegram_bad_recipient", "not a chat id or @channel username", retryable=False)


def message_key(message: Any) -> str:
    """``<chat id>:<message_id>`` for a Message: message ids are unique only within their chat
    (https://core.telegram.org/bots/api#message)."""
    chat = message.get("chat") if isinstance(message, dict) else None
    number = message.get("message_id") if isinstance(message, dict) else None
    chat_number = chat.get("id") if isinstance(chat, dict) else None
    if not isinstance(number, int) or not isinstance(chat_number, int):
        raise SendError(
            "telegram_bad_response", "no Message with chat.id and message_id in the answer", retryable=False
        )
    return f"{chat_number}:{number}"
