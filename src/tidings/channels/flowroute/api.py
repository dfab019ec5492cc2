"""The Messaging API call the channel makes, over one keep-alive client.

Send: ``POST {base}/{v2.1|v2.2}/messages`` with a JSON:API document, ``Content-Type:
application/vnd.api+json``, HTTP Basic (access key, secret key); answer 202 with
``{"data": {"id": "mdr2-…", "type": "message", "links": {...}}}`` whose id we keep.
https://developer.flowroute.com/api/messages/v2.1/send-an-sms/
Look up (for polling): ``GET {base}/{version}/messages/{id}``, answer 200 with the MDR2 record.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import aiohttp
import orjson

from tidings.channels import http
from tidings.channels.base import SendError
from tidings.channels.flowroute.config import FlowrouteCredentials, FlowrouteSettings
from tidings.channels.flowroute.errors import error_for_response, network_error
from tidings.channels.keepalive import KeepAliveClient

JSON_API = "application/vnd.api+json"


def open_client(settings: FlowrouteSettings, credentials: FlowrouteCredentials) -> KeepAliveClient:
    user = credentials.access_key.get_secret_value()
    password = credentials.secret_key.get_secret_value()
    return http.open_client(
        settings.api_base_url,
        timeout_seconds=settings.timeout_seconds,
        max_connections=settings.max_connections,
        headers={"Authorization": aiohttp.encode_basic_auth(user, password), "Accept": JSON_API},
    )


def messages_path(settings: FlowrouteSettings) -> str:
    return http.api_path(settings.api_base_url, f"/{settings.api_version}/messages")


def record_path(messages: str, record_id: str) -> str:
    """One message detail record's path, from :func:`messages_path`."""
    return f"{messages}/{quote(record_id, safe='')}"


async def fetch_record(client: KeepAliveClient, path: str) -> dict[str, Any] | None:
    """Look up a message detail record (MDR2, ``{"data": {"id", "type", "attributes": {...,
    "status", "delivery_receipts": [newest first]}}}``); None when Flowroute does not know it
    (404), :class:`SendError` when it could not be asked.
    https://developer.flowroute.com/api/messages/v2.1/look-up-a-message-detail-record/
    """
    answer = await http.exchange(client, "GET", path, network_error=network_error)
    status, retry_after = answer.status, answer.headers.get("retry-after")
    if status == 404:
        return None
    payload = answer.json()
    if not 200 <= status < 300:
        raise error_for_response(status, payload, retry_after)
    if not isinstance(payload, dict):
        raise SendError(
            "flowroute_bad_response", f"HTTP {status} without a message record in the answer", retryable=True
        )
    return payload


async def create_message(client: KeepAliveClient, path: str, document: dict[str, Any]) -> str:
    """Send one message; its ``mdr2-…`` id, or :class:`SendError` classified by ``errors``."""
    answer = await http.exchange(
        client, "POST", path, body=orjson.dumps(document), content_type=JSON_API, network_error=network_error
    )
    status, retry_after = answer.status, answer.headers.get("retry-after")
    payload = answer.json()
    if not 200 <= status < 300:
        raise error_for_response(status, payload, retry_after)
    data = payload.get("data") if isinstance(payload, dict) else None
    message_id = data.get("id") if isinstance(data, dict) else None
    if not isinstance(message_id, str) or not message_id:
        # Flowroute took the request but we cannot tell which message it made: retrying could
        # send it twice, so this one fails and says why.
        raise SendError(
            "flowroute_bad_response", f"HTTP {status} without a message id in the answer", retryable=False
        )
    return message_id
