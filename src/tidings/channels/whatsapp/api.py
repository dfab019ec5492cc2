"""The Cloud API send call (``POST /{version}/{phone_number_id}/messages``, Bearer token, JSON),
over one keep-alive client; the answer's ``wamid`` is what statuses match."""

# https://developers.facebook.com/docs/whatsapp/cloud-api/reference/messages

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from tidings.channels import http
from tidings.channels.base import SendError
from tidings.channels.keepalive import KeepAliveClient
from tidings.channels.whatsapp.config import WhatsAppCredentials, WhatsAppSettings
from tidings.channels.whatsapp.errors import error_for_response, network_error


def open_client(settings: WhatsAppSettings, credentials: WhatsAppCredentials) -> KeepAliveClient:
    return http.open_client(
        settings.api_base_url,
        timeout_seconds=settings.timeout_seconds,
        max_connections=settings.max_connections,
        headers={"Authorization": f"Bearer {credentials.access_token.get_secret_value()}"},
    )


def messages_path(settings: WhatsAppSettings) -> str:
    return http.api_path(
        settings.api_base_url, f"/{settings.api_version}/{settings.phone_number_id}/messages"
    )


async def send_message(client: KeepAliveClient, path: str, message: Mapping[str, Any]) -> str:
    """Send one message object; its ``wamid``, or :class:`SendError` classified by ``errors``."""
    body = json.dumps(message).encode()
    answer = await http.exchange(
        client, "POST", path, body=body, content_type=http.JSON, network_error=network_error
    )
    status = answer.status
    payload = answer.json()
    if not 200 <= status < 300:
        raise error_for_response(status, payload)
    wamid = _message_id(payload)
    if wamid is None:
        # Meta took the request but we cannot tell which message it made: retrying could send it
        # twice, so this one fails and says why.
        raise SendError(
            "whatsapp_bad_response", f"HTTP {status} without messages[0].id in the answer", retryable=False
        )
    return wamid


def _message_id(payload: Any) -> str | None:
    messages = payload.get("messages") if isinstance(payload, dict) else None
    first = messages[0] if isinstance(messages, list) and messages else None
    wamid = first.get("id") if isinstance(first, dict) else None
    return wamid if isinstance(wamid, str) and wamid else None
