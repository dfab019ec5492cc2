"""What the fake WhatsApp answers and posts: send answers, Graph API error bodies, message object
checks and webhook notification bodies."""

# Shapes: https://developers.facebook.com/docs/whatsapp/cloud-api/reference/messages,
# https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes,
# https://developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/overview

from __future__ import annotations

import base64
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

MEDIA_TYPES = ("image", "video", "audio", "document", "sticker")
CAPTIONED = frozenset({"image", "video", "document"})
# code → (HTTP status, message title, details)
ERRORS: dict[int, tuple[int, str, str]] = {
    2: (503, "Service temporarily unavailable", "Temporary due to downtime or due to being overloaded."),
    100: (400, "Invalid parameter", "The request included one or more unsupported or misspelled parameters."),
    190: (401, "Invalid OAuth access token - Cannot parse access token", "Your access token is invalid."),
    130429: (429, "Rate limit hit", "Cloud API message throughput has been reached."),
    131000: (500, "Something went wrong", "Message failed to send due to an unknown error."),
    131009: (400, "Parameter value is not valid", "One or more parameter values are invalid."),
    131026: (400, "Message undeliverable", "Unable to deliver message."),
    131030: (
        400,
        "Recipient phone number not in allowed list",
        "Add recipient phone number to recipient list.",
    ),
    131047: (
        400,
        "Re-engagement message",
        "Message failed to send because more than 24 hours have passed since the customer last replied to "
        "this number.",
    ),
    131051: (400, "Unsupported message type", "Unsupported message type."),
    132000: (
        400,
        "Number of parameters does not match the expected number of params",
        "Parameter count mismatch.",
    ),
    132001: (400, "Template does not exist", "The template does not exist in the specified language."),
}


@dataclass
class FakeMessage:
    """One message the fake accepted."""

    id: str  # wamid.…
    to: str  # digits, as wa_id
    type: str
    content: dict[str, Any]  # the type's object: text, template, image...
    status: str = "accepted"
    created_at: float = field(default_factory=time.time)
    error_code: int | None = None

    @property
    def body(self) -> str:
        """What a handset would show first: the text, the caption, or the template's name."""
        return str(self.content.get("body") or self.content.get("caption") or self.content.get("name") or "")


def wa_id(number: str) -> str:
    """Digits of ``+1415…``, ``whatsapp:+1415…`` or ``1415…``."""
    # strip(): a "+" in an unencoded query string arrives as a space.
    return number.strip().removeprefix("whatsapp:").removeprefix("+")


def new_wamid() -> str:
    return "wamid." + base64.b64encode(secrets.token_bytes(30)).decode()


def validate(message: Any, templates: dict[str, dict[str, int]]) -> tuple[int, str] | None:
    """Meta's checks on a message object: ``(code, details)`` of the first problem, or None."""
    if not isinstance(message, dict):
        return 100, "The request body must be a JSON object."
    if message.get("messaging_product") != "whatsapp":
        return 100, "The parameter messaging_product is required and must be whatsapp."
    if message.get("recipient_type", "individual") != "individual":
        return 100, "recipient_type must be individual."
    to = message.get("to")
    if not isinstance(to, str) or not to:
        return 100, "The parameter to is required."
    digits = to.removeprefix("+")
    if not digits.isdigit() or not 7 <= len(digits) <= 15:
        return 131009, f"Param to ({to}) is not a valid phone number."
    kind = message.get("type", "text")
    content = message.get(kind)
    if not isinstance(content, dict):
        return 100, f"The parameter {kind} is required for messages of type {kind}."
    if kind == "text":
        return _text(content)
    if kind in MEDIA_TYPES:
        return _media(kind, content)
    if kind == "template":
        return _template(content, templates)
    return 131051, f"Message type {kind} is not supported by the fake."


def _text(text: dict[str, Any]) -> tuple[int, str] | None:
    body = text.get("body")
    if not isinstance(body, str) or not body:
        return 100, "Param text['body'] is required."
    if len(body) > 4096:
        return 100, "Param text['body'] must be at most 4096 characters long."
    if "preview_url" in text and not isinstance(text["preview_url"], bool):
        return 100, "Param text['preview_url'] must be a boolean."
    return None


def _media(kind: str, media: dict[str, Any]) -> tuple[int, str] | None:
    link, media_id = media.get("link"), media.get("id")
    if (link is None) == (media_id is None):
        return 100, f"Param {kind} needs exactly one of link or id."
    if link is not None and not (isinstance(link, str) and link.startswith(("http://", "https://"))):
        return 131009, f"Param {kind}['link'] must be an http(s) URL."
    if "caption" in media:
        if kind not in CAPTIONED:
            return 100, f"Param {kind}['caption'] is not supported for {kind} messages."
        if not isinstance(media["caption"], str) or len(media["caption"]) > 1024:
            return 100, f"Param {kind}['caption'] must be a string of at most 1024 characters."
    return None


def _template(template: dict[str, Any], known: dict[str, dict[str, int]]) -> tuple[int, str] | None:
    name, language = template.get("name"), template.get("language")
    if not isinstance(name, str) or not name:
        return 100, "Param template['name'] is required."
    code = language.get("code") if isinstance(language, dict) else None
    if not isinstance(code, str) or not code:
        return 100, "Param template['language']['code'] is required."
    components = template.get("components", [])
    if not isinstance(components, list) or not all(isinstance(c, dict) and c.get("type") for c in components):
        return 100, "Param template['components'] must be a list of objects with a type."
    if not known:  # no templates registered: every name is taken as approved
        return None
    if code not in known.get(name, {}):
        return 132001, f"template name ({name}) does not exist in {code}"
    body_params = sum(len(c.get("parameters") or []) for c in components if str(c["type"]).lower() == "body")
    if body_params != known[name][code]:
        return (
            132000,
            f"body: number of localizable_params ({body_params}) does not match the expected "
            f"number of params ({known[name][code]})",
        )
    return None


def sent_answer(to: str, wamid: str, *, template: bool) -> dict[str, Any]:
    """The 200 answer to a send (templates also say ``message_status: accepted``)."""
    message: dict[str, Any] = {"id": wamid}
    if template:
        message["message_status"] = "accepted"
    return {
        "messaging_product": "whatsapp",
        "contacts": [{"input": to, "wa_id": wa_id(to)}],
        "messages": [message],
    }


def error_body(
    code: int, details: str | None = None, *, status: int | None = None
) -> tuple[int, dict[str, Any]]:
    """``(HTTP status, Graph API error body)`` for ``code``."""
    http_status, title, default = ERRORS.get(code, (400, f"Error {code}", ""))
    body = {
        "error": {
            "message": f"(#{code}) {title}",
            "type": "OAuthException",
            "code": code,
            "error_data": {"messaging_product": "whatsapp", "details": details or default},
            "fbtrace_id": "A" + secrets.token_urlsafe(16),
        }
    }
    return status or http_status, body


def notification(waba_id: str, metadata: dict[str, str], value: dict[str, Any]) -> dict[str, Any]:
    """The envelope of every messages-field notification."""
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": waba_id,
                "changes": [
                    {
                        "value": {"messaging_product": "whatsapp", "metadata": metadata, **value},
                        "field": "messages",
                    }
                ],
            }
        ],
    }


def status_value(wamid: str, status: str, recipient: str, error_code: int | None = None) -> dict[str, Any]:
    """``value.statuses[0]`` for one status; ``failed`` carries ``errors``."""
    now = str(int(time.time()))
    entry: dict[str, Any] = {"id": wamid, "status": status, "timestamp": now, "recipient_id": recipient}
    if status == "failed":
        _, title, details = ERRORS.get(error_code or 131026, (400, "Error", ""))
        entry["errors"] = [
            {
                "code": error_code,
                "title": title,
                "message": title,
                "error_data": {"details": details},
                "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/",
            }
        ]
    elif status in ("sent", "delivered"):
        entry["conversation"] = {"id": secrets.token_hex(16), "origin": {"type": "service"}}
        entry["pricing"] = {"billable": True, "pricing_model": "CBP", "category": "service"}
    return {"statuses": [entry]}


def message_value(sender: str, profile_name: str, kind: str, content: dict[str, Any]) -> dict[str, Any]:
    """``value.contacts`` and ``value.messages`` for one inbound message from ``sender`` (digits)."""
    message = {
        "from": sender,
        "id": new_wamid(),
        "timestamp": str(int(time.time())),
        "type": kind,
        kind: content,
    }
    return {"contacts": [{"profile": {"name": profile_name}, "wa_id": sender}], "messages": [message]}
