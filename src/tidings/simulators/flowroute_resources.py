"""Flowroute's message records, error bodies and send checks, as the fake Flowroute serves them.

Shapes from Flowroute's OpenAPI (``Message``, ``MessageSuccess``, ``MDR2``, ``Error`` in
github.com/flowroute/flowroute-sdk-v3-python) and developer.flowroute.com/api/messages/v2.1/.
"""

from __future__ import annotations

import re
import secrets
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from tidings.simulators.server import json_response

JSON_API = "application/vnd.api+json"
VERSIONS = ("v2.1", "v2.2")
# v2.1: "11-digit North American number format"; v2.2: "compliant with E.164" (with "+").
NUMBER = {"v2.1": re.compile(r"^[1-9][0-9]{10,14}$"), "v2.2": re.compile(r"^\+[1-9][0-9]{7,14}$")}
TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    415: "Unsupported Media Type",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


@dataclass
class DeliveryReceipt:
    level: int
    status: str
    status_code: str | None
    status_code_description: str
    timestamp: str = field(default_factory=lambda: _now())

    def to_json(self, *, in_record: bool = False) -> dict[str, Any]:
        """As a DLR callback carries it (``status_code`` a string) or as a message record lists
        it (an integer, as in Flowroute's record examples)."""
        code: str | int | None = self.status_code
        if in_record and self.status_code is not None and self.status_code.isdigit():
            code = int(self.status_code)
        return {
            "level": self.level,
            "status": self.status,
            "status_code": code,
            "status_code_description": self.status_code_description,
            "timestamp": self.timestamp,
        }


@dataclass
class FakeMessage:
    """One message the fake accepted, as Flowroute would record it (an MDR2)."""

    id: str
    api_version: str
    to: str
    from_: str
    body: str
    is_mms: bool
    media_urls: list[str]
    dlr_callback: str | None
    status: str = "queued"
    created_at: float = field(default_factory=time.time)
    delivery_receipts: list[DeliveryReceipt] = field(default_factory=list)

    def accepted(self, base_url: str) -> dict[str, Any]:
        """The 202 answer to a send (``MessageSuccess``)."""
        return {
            "data": {
                "id": self.id,
                "type": "message",
                "links": {"self": f"{base_url}/{self.api_version}/messages/{self.id}"},
            }
        }

    def to_json(self) -> dict[str, Any]:
        """The message detail record (``MDR2``) that GET /messages/{id} answers."""
        return {
            "data": {
                "id": self.id,
                "type": "message",
                "attributes": {
                    "body": self.body,
                    "direction": "outbound",
                    "from": self.from_,
                    "to": self.to,
                    "is_mms": self.is_mms,
                    "message_encoding": 0,
                    "message_type": "longcode",
                    "status": self.status,
                    "timestamp": _now(self.created_at),
                    "amount_display": "$0.0040",
                    "amount_nanodollars": 4000000,
                    "delivery_receipts": [
                        r.to_json(in_record=True) for r in reversed(self.delivery_receipts)
                    ],
                },
            }
        }


def message_id() -> str:
    return "mdr2-" + uuid.uuid4().hex


def read_send(document: Any) -> dict[str, Any] | str:
    """The attributes of a send request, or why it is refused (422 detail).

    Both request formats Flowroute v2.1 takes: JSON:API (``data.type = message``,
    ``data.attributes``) and the compact one (the attributes at the top level).
    """
    if not isinstance(document, dict):
        return "The request body must be a JSON object"
    if "data" in document:
        data = document["data"]
        if not isinstance(data, dict) or data.get("type") != "message":
            return "data.type must be 'message'"
        attributes = data.get("attributes")
        if not isinstance(attributes, dict):
            return "data.attributes is required"
        return attributes
    return document


def validate(version: str, attributes: dict[str, Any]) -> str | None:
    """Flowroute's send checks; the detail of the 422 when one fails."""
    to, sender, body = attributes.get("to"), attributes.get("from"), attributes.get("body")
    media = attributes.get("media_urls")
    if not isinstance(to, str) or not to:
        return "'to' is required"
    if not isinstance(sender, str) or not sender:
        return "'from' is required"
    if body is not None and not isinstance(body, str):
        return "'body' must be a string"
    if media is not None and (not isinstance(media, list) or not all(isinstance(u, str) for u in media)):
        return "'media_urls' must be an array of URLs"
    if not body and not media:
        return "'body' is required unless media_urls is given"
    for name, number in (("to", to), ("from", sender)):
        if not NUMBER[version].match(number):
            form = "11-digit North American" if version == "v2.1" else "E.164 (+…)"
            return f"'{name}' must be a phone number in {form} format: {number!r}"
    return None


def is_mms(attributes: dict[str, Any]) -> bool:
    # The official SDK's own example sends "true" as a string.
    return attributes.get("is_mms") in (True, "true") or bool(attributes.get("media_urls"))


def dlr_document(record_id: str, receipt: DeliveryReceipt, base_url: str) -> dict[str, Any]:
    """A DLR callback body: https://developer.flowroute.com/api/messages/v2.1/receive-a-dlr/"""
    return {
        "data": {
            "id": record_id,
            "type": "delivery_receipt",
            "attributes": {"body": "", **receipt.to_json()},
            "links": {"related": f"{base_url}/v2.1/messages/{record_id}"},
        }
    }


def inbound_document(
    callback_url: str,
    base_url: str,
    *,
    from_: str,
    to: str,
    body: str,
    media_urls: Sequence[str],
    api_version: str,
) -> dict[str, Any]:
    """An inbound SMS/MMS callback body (receive-an-sms/, receive-an-mms/); media as JSON:API
    ``included`` resources. v2.1 writes numbers as digits only, v2.2 with "+"."""

    def number(value: str) -> str:
        return value.removeprefix("+") if api_version == "v2.1" else value

    media = [
        {
            "type": "media",
            "id": secrets.token_hex(16),
            "attributes": {
                "url": media_url,
                "mime_type": "image/jpeg",
                "file_name": f"IMG{n:04d}.jpg",
                "file_size": 38733,
            },
            "links": {"self": f"{base_url}/{api_version}/media/{n}"},
        }
        for n, media_url in enumerate(media_urls)
    ]
    document: dict[str, Any] = {
        "data": {
            "id": message_id(),
            "type": "message",
            "attributes": {
                "body": body,
                "direction": "inbound",
                "from": number(from_),
                "to": number(to),
                "is_mms": bool(media),
                "message_encoding": 0,
                "message_type": "longcode",
                "status": "delivered",
                "amount_display": "$0.0000",
                "amount_nanodollars": 0,
                "delivery_receipts": [],
                "message_callback_url": callback_url,
            },
        }
    }
    if media:
        document["data"]["relationships"] = {
            "media": {"data": [{"id": m["id"], "type": "media"} for m in media]}
        }
        document["included"] = media
    return document


def error_body(status: int, detail: str | None = None) -> dict[str, Any]:
    """Flowroute's error document: an ``errors`` array of {detail, id, status, title}."""
    title = TITLES.get(status, "Error")
    return {
        "errors": [{"detail": detail or title, "id": str(uuid.uuid4()), "status": status, "title": title}]
    }


def document_response(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """An answer of Flowroute's API: a JSON:API document."""
    return json_response(payload, status, headers, content_type=JSON_API)


def error_response(
    status: int, detail: str | None = None, headers: dict[str, str] | None = None
) -> web.Response:
    return document_response(error_body(status, detail), status, headers)


def _now(at: float | None = None) -> str:
    moment = datetime.fromtimestamp(time.time() if at is None else at, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 10000:02d}Z"
