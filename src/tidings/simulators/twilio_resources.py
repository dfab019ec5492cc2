"""Twilio's Message resource, error bodies and create checks, as the fake Twilio serves them.

Shapes from Twilio's OpenAPI (twilio_api_v2010.json, ``api.v2010.account.message``) and
https://www.twilio.com/docs/api/errors; see docs/providers.md for which fields are covered.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Any

from aiohttp import web

from tidings.simulators.server import json_response

API = "/2010-04-01/Accounts/{account}"
PHONE = frozenset("+0123456789")
HTTP_STATUS = {20003: 401, 20404: 404, 20429: 429, 20500: 500, 20503: 503}
ERROR_TEXT = {
    20003: "Authenticate",
    20404: "The requested resource was not found",
    20429: "Too Many Requests",
    20500: "Internal Server Error",
    20503: "Service Unavailable",
    21211: "The 'To' number is not a valid phone number.",
    21408: "Permission to send an SMS has not been enabled for the region indicated by the 'To' number",
    21602: "Message body is required.",
    21603: "A 'From' phone number is required.",
    21604: "A 'To' phone number is required.",
    21610: "Attempt to send to unsubscribed recipient",
    21614: "'To' number is not a valid mobile number",
    21617: "The concatenated message body exceeds the 1600 character limit.",
    21910: "Invalid From and To pair. From and To should be of the same channel",
    # Delivery errors, as a fetched Message's error_message shows them.
    30003: "Unreachable destination handset",
    30005: "Unknown destination handset",
    30006: "Landline or unreachable carrier",
    30007: "Message filtered",
    30008: "Unknown error",
}


@dataclass
class FakeMessage:
    """One message the fake accepted, as Twilio would store it."""

    sid: str
    account_sid: str
    to: str
    from_: str | None
    messaging_service_sid: str | None
    body: str
    media_urls: list[str]
    status_callback: str | None
    status: str
    created_at: float = field(default_factory=time.time)
    error_code: int | None = None
    sent_at: float | None = None  # when it became `sent` (date_sent)
    updated_at: float | None = None  # the last status change (date_updated)

    def move_to(self, status: str, error_code: int | None = None) -> None:
        """A status change as Twilio records it: ``sent`` sets date_sent; every change sets
        date_updated; undelivered and failed carry their error code."""
        now = time.time()
        self.status, self.updated_at = status, now
        if status == "sent":
            self.sent_at = now
        if error_code is not None:
            self.error_code = error_code

    def to_json(self) -> dict[str, Any]:
        """Twilio's Message resource (REST API 2010-04-01)."""
        uri = f"{API.format(account=self.account_sid)}/Messages/{self.sid}.json"
        created = _rfc2822(self.created_at)
        return {
            "sid": self.sid,
            "account_sid": self.account_sid,
            "messaging_service_sid": self.messaging_service_sid,
            "from": self.from_,
            "to": self.to,
            "body": self.body,
            "direction": "outbound-api",
            "status": self.status,
            "num_segments": "1",
            "num_media": str(len(self.media_urls)),
            "date_created": created,
            "date_updated": _rfc2822(self.updated_at) if self.updated_at is not None else created,
            "date_sent": _rfc2822(self.sent_at) if self.sent_at is not None else None,
            "error_code": self.error_code,
            "error_message": None if self.error_code is None else error_text(self.error_code),
            "price": None,
            "price_unit": "USD",
            "api_version": "2010-04-01",
            "uri": uri,
            "subresource_uris": {
                "media": uri.replace(".json", "/Media.json"),
                "feedback": uri.replace(".json", "/Feedback.json"),
            },
        }


def validate(
    to: str | None, sender: str | None, service: str | None, body: str, media: list[str]
) -> int | None:
    """Twilio's create checks, in the order Twilio reports them."""
    if not to:
        return 21604
    if not sender and not service:
        return 21603
    if not body and not media:
        return 21602
    if len(body) > 1600:
        return 21617
    if not _is_phone(to.removeprefix("whatsapp:")):
        return 21211
    if sender and to.startswith("whatsapp:") != sender.startswith("whatsapp:"):
        return 21910
    return None


def error_text(code: int) -> str:
    return ERROR_TEXT.get(code, f"Error {code}")


def _rfc2822(at: float) -> str:
    return formatdate(at, usegmt=True).replace("GMT", "+0000")


def _is_phone(value: str) -> bool:
    return value.startswith("+") and 8 <= len(value) <= 16 and set(value) <= PHONE and "+" not in value[1:]


def error_response(
    code: int, status: int | None = None, headers: dict[str, str] | None = None
) -> web.Response:
    """Twilio's error body: never ``type`` with ``title`` (the SDK would read it as RFC 9457)."""
    http_status = status or HTTP_STATUS.get(code, 400)
    body = {
        "code": code,
        "message": error_text(code),
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": http_status,
    }
    return json_response(body, http_status, headers)
