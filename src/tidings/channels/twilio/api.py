"""The Programmable Messaging REST calls the channel makes, over one pooled aiohttp session.

Create: ``POST {base}/2010-04-01/Accounts/{AccountSid}/Messages.json``, form-encoded, HTTP Basic
(Account SID + Auth Token, or API key SID + secret), answer 201 with the Message JSON whose
``sid`` we keep. https://www.twilio.com/docs/messaging/api/message-resource#create-a-message-resource
Fetch (for polling): ``GET …/Messages/{MessageSid}.json``, answer 200 with the same Message JSON.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote, urlencode

import aiohttp

from tidings.channels import http
from tidings.channels.base import SendError
from tidings.channels.twilio.config import TwilioCredentials, TwilioSettings
from tidings.channels.twilio.errors import error_for_response, network_error

API_VERSION = "2010-04-01"
# Bodies are encoded here rather than handed to aiohttp as pairs: its FormData machinery cost
# more than the rest of the request (measured under a bulk send).
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def open_session(settings: TwilioSettings, credentials: TwilioCredentials) -> aiohttp.ClientSession:
    user, password = credentials.basic_auth()
    return http.open_session(
        timeout_seconds=settings.timeout_seconds,
        max_connections=settings.max_connections,
        headers={"Authorization": aiohttp.encode_basic_auth(user, password)},
    )


def messages_url(settings: TwilioSettings, account_sid: str) -> str:
    return f"{settings.api_base_url}/{API_VERSION}/Accounts/{account_sid}/Messages.json"


def message_url(messages: str, sid: str) -> str:
    """One Message's URL, from :func:`messages_url` (``…/Messages/{sid}.json``)."""
    return f"{messages.removesuffix('.json')}/{quote(sid, safe='')}.json"


async def fetch_message(session: aiohttp.ClientSession, url: str) -> dict[str, Any] | None:
    """Fetch a Message (``GET …/Messages/{sid}.json``, answer 200 with the Message JSON); None
    when Twilio does not know it (404), :class:`SendError` when it could not be asked.
    https://www.twilio.com/docs/messaging/api/message-resource#fetch-a-message-resource
    """
    try:
        async with session.get(url) as response:
            raw = await response.read()
            status = response.status
            retry_after = response.headers.get("Retry-After")
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise network_error(exc) from None
    if status == 404:
        return None
    try:
        payload = json.loads(raw) if raw else None
    except ValueError:
        payload = None
    if not 200 <= status < 300:
        raise error_for_response(status, payload, retry_after)
    if not isinstance(payload, dict):
        raise SendError(
            "twilio_bad_response", f"HTTP {status} without a Message in the answer", retryable=True
        )
    return payload


async def create_message(session: aiohttp.ClientSession, url: str, form: Sequence[tuple[str, str]]) -> str:
    """Create a Message; its SID, or :class:`SendError` classified by ``errors``."""
    try:
        async with session.post(url, data=urlencode(form).encode(), headers=FORM) as response:
            raw = await response.read()
            status = response.status
            retry_after = response.headers.get("Retry-After")
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise network_error(exc) from None
    try:
        payload = json.loads(raw) if raw else None
    except ValueError:
        payload = None
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
