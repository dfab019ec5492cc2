"""The Cloud API send call (``POST /{version}/{phone_number_id}/messages``, Bearer token, JSON),
over one pooled aiohttp session; the answer's ``wamid`` is what statuses match."""

# https://developers.facebook.com/docs/whatsapp/cloud-api/reference/messages

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import aiohttp

from tidings.channels import http
from tidings.channels.base import SendError
from tidings.channels.whatsapp.config import WhatsAppCredentials, WhatsAppSettings
from tidings.channels.whatsapp.errors import error_for_response, network_error


def open_session(settings: WhatsAppSettings, credentials: WhatsAppCredentials) -> aiohttp.ClientSession:
    return http.open_session(
        timeout_seconds=settings.timeout_seconds,
        max_connections=settings.max_connections,
        headers={"Authorization": f"Bearer {credentials.access_token.get_secret_value()}"},
    )


def messages_url(settings: WhatsAppSettings) -> str:
    return f"{settings.api_base_url}/{settings.api_version}/{settings.phone_number_id}/messages"


async def send_message(session: aiohttp.ClientSession, url: str, message: Mapping[str, Any]) -> str:
    """Send one message object; its ``wamid``, or :class:`SendError` classified by ``errors``."""
    try:
        async with session.post(url, json=message) as response:
            raw = await response.read()
            status = response.status
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise network_error(exc) from None
    try:
        payload = json.loads(raw) if raw else None
    except ValueError:
        payload = None
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
