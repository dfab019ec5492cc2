"""The Programmable Messaging REST calls the channel makes, over one keep-alive client.

Create: ``POST {base}/2010-04-01/Accounts/{AccountSid}/Messages.json``, form-encoded, HTTP Basic
(Account SID + Auth Token, or API key SID + secret), answer 201 with the Message JSON whose
``sid`` we keep. https://www.twilio.com/docs/messaging/api/message-resource#create-a-message-resource
Fetch (for polling): ``GET …/Messages/{MessageSid}.json``, answer 200 with the same Message JSON.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

import aiohttp

from tidings.channels import http
from tidings.channels.base import SendError
from tidings.channels.forms import encode_form
from tidings.channels.keepalive import KeepAliveClient
from tidings.channels.twilio.config import TwilioCredentials, TwilioSettings
from tidings.channels.twilio.errors import error_for_response, network_error

API_VERSION = "2010-04-01"
FORM = "application/x-www-form-urlencoded"


def open_client(settings: TwilioSettings, credentials: TwilioCredentials) -> KeepAliveClient:
    user, password = credentials.basic_auth()
    return http.open_client(
        settings.api_base_url,
        timeout_seconds=settings.timeout_seconds,
        max_connections=settings.max_connections,
        headers={"Authorization": aiohttp.encode_basic_auth(user, password)},
    )


def messages_path(settings: TwilioSettings, account_sid: str) -> str:
    return http.api_path(settings.api_base_url, f"/{API_VERSION}/Accounts/{account_sid}/Messages.json")


def message_path(messages: str, sid: str) -> str:
    """One Message's path, from :func:`messages_path` (``…/Messages/{sid}.json``)."""
    return f"{messages.removesuffix('.json')}/{quote(sid, safe='')}.json"


async def fetch_message(client: KeepAliveClient, path: str) -> dict[str, Any] | None:
    """Fetch a Message (``GET …/Messages/{sid}.json``, answer 200 with the Message JSON); None
    when Twilio does not know it (404), :class:`SendError` when it could not be asked.
    https://www.twilio.com/docs/messaging/api/message-resource#fetch-a-message-resource
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
            "twilio_bad_response", f"HTTP {status} without a Message in the answer", retryable=True
        )
    return payload


async def create_message(client: KeepAliveClient, path: str, form: Sequence[tuple[str, str]]) -> str:
    """Create a Message; its SID, or :class:`SendError` classified by ``errors``."""
    body = encode_form(form)
    answer = await http.exchange(
        client, "POST", path, body=body, content_type=FORM, network_error=network_error
    )
    status, retry_after = answer.status, answer.headers.get("retry-after")
    payload = answer.json()
    if not 200 <= status < 300:
        raise error_for_response(status, payload, retry_after)
    sid = payload.get("sid") if isinstance(payload, dict) else None
    if not isinstance(sid, str) or not sid:
        # Twilio took the request but we cannot tell which message it made: retrying could
        # send it twice, so this one fails and says why.
        raise SendError(
            "twilio_bad_response", f"HTTP {status} without a message sid in the answer", retryable=False
        )
    return sid
