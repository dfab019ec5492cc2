"""The REST bot API calls (``/pa/send_message``, ``/pa/set_webhook``) over one keep-alive client:
JSON, X-Viber-Auth-Token, HTTP 200 with ``status`` 0 on success.
https://developers.viber.com/docs/api/rest-bot-api/#send-message"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from tidings.channels import http
from tidings.channels.base import SendError
from tidings.channels.keepalive import KeepAliveClient
from tidings.channels.viber.callbacks import message_token
from tidings.channels.viber.config import ViberCredentials, ViberSettings
from tidings.channels.viber.errors import error_for_http, error_for_status, network_error

AUTH_HEADER = "X-Viber-Auth-Token"


def open_client(settings: ViberSettings, credentials: ViberCredentials) -> KeepAliveClient:
    return http.open_client(
        settings.api_base_url,
        timeout_seconds=settings.timeout_seconds,
        max_connections=settings.max_connections,
        headers={AUTH_HEADER: credentials.auth_token.get_secret_value()},
    )


def endpoint_path(settings: ViberSettings, name: str) -> str:
    return http.api_path(settings.api_base_url, f"/pa/{name}")


async def send_message(client: KeepAliveClient, path: str, payload: dict[str, Any]) -> str:
    """Send one message; its ``message_token`` as a decimal string, or :class:`SendError`."""
    answer = await _call(client, path, payload)
    token = message_token(answer.get("message_token"))
    if token is None:
        # Viber took the request but we cannot tell which message it made: retrying could send
        # it twice, so this one fails and says why.
        raise SendError(
            "viber_bad_response", "status 0 without a message_token in the answer", retryable=False
        )
    return token


async def set_webhook(
    client: KeepAliveClient, path: str, webhook_url: str, event_types: Sequence[str]
) -> list[str]:
    """Make ``webhook_url`` the bot's webhook; the event types Viber says it will send.

    Viber checks the URL by posting a signed ``webhook`` event to it before it answers, so the
    gateway must already be reachable there.
    https://developers.viber.com/docs/api/rest-bot-api/#setting-a-webhook
    """
    answer = await _call(client, path, {"url": webhook_url, "event_types": list(event_types)})
    granted = answer.get("event_types")
    return [str(e) for e in granted] if isinstance(granted, list) else list(event_types)


async def _call(client: KeepAliveClient, path: str, payload: dict[str, Any]) -> dict[str, Any]:
    body = json.dumps(payload).encode()
    reply = await http.exchange(
        client, "POST", path, body=body, content_type=http.JSON, network_error=network_error
    )
    status, retry_after = reply.status, reply.headers.get("retry-after")
    if not 200 <= status < 300:
        raise error_for_http(status, retry_after)
    answer = reply.json()  # the standard library's reader: message tokens are 64-bit integers
    if not isinstance(answer, dict):
        raise SendError("viber_bad_response", f"HTTP {status} without a JSON object", retryable=False)
    status_code = answer.get("status")
    if type(status_code) is not int or status_code != 0:  # not bool: False == 0 in Python
        raise error_for_status(status_code, answer.get("status_message"))
    return answer
