"""Meta's callbacks to us (webhook notifications), ``entry[].changes[].value`` with ``statuses[]`` (receipts)
and ``messages[]`` (inbound messages), parsed with lenient pydantic models."""

# Shapes: https://developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/overview
# and https://developers.facebook.com/docs/whatsapp/cloud-api/webhooks/components

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tidings.channels.base import CallbackError, InboundMessage, Receipt
from tidings.channels.whatsapp.errors import UNDELIVERABLE_CODES, describe
from tidings.core.statuses import MessageStatus

PREFIX = "whatsapp:+"
# Meta's status → ours; ``sent`` tells nothing the send's answer did not, and is dropped. ``read``
# implies delivered. ``failed`` depends on the error code (see ``errors.UNDELIVERABLE_CODES``).
STATUSES = {"delivered": MessageStatus.DELIVERED, "read": MessageStatus.DELIVERED}
MEDIA_TYPES = ("image", "video", "document", "audio", "sticker", "voice")


class _Lenient(BaseModel):
    # Meta adds fields over time; what we do not read is ignored, never an error.
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class _Error(_Lenient):
    code: int | None = None
    title: str | None = None
    message: str | None = None
    error_data: dict[str, Any] | None = None


class _Status(_Lenient):
    id: str = Field(min_length=1)
    status: str
    recipient_id: str | None = None
    errors: list[_Error] = Field(default_factory=list)


class _Message(_Lenient):
    model_config = ConfigDict(extra="allow", populate_by_name=True)  # the type's own object
    sender: str = Field(alias="from", min_length=1)
    id: str = Field(min_length=1)
    type: str = "text"
    timestamp: str | None = None
    context: dict[str, Any] | None = None


class _Metadata(_Lenient):
    display_phone_number: str = ""
    phone_number_id: str = ""


class _Contact(_Lenient):
    wa_id: str | None = None
    profile: dict[str, Any] | None = None


class _Value(_Lenient):
    metadata: _Metadata = Field(default_factory=_Metadata)
    contacts: list[_Contact] = Field(default_factory=list)
    messages: list[_Message] = Field(default_factory=list)
    statuses: list[_Status] = Field(default_factory=list)


class _Change(_Lenient):
    field: str = "messages"
    value: _Value = Field(default_factory=_Value)


class _Entry(_Lenient):
    id: str | None = None
    changes: list[_Change] = Field(default_factory=list)


class Notification(_Lenient):
    object: str
    entry: list[_Entry] = Field(default_factory=list)

    def changes_for(self, phone_number_id: str) -> list[_Value]:
        """The ``messages`` changes for our number; one app's callback URL gets every number's."""
        return [
            change.value
            for entry in self.entry
            for change in entry.changes
            if change.field == "messages" and change.value.metadata.phone_number_id in ("", phone_number_id)
        ]


def parse(body: bytes) -> Notification:
    try:
        notification = Notification.model_validate_json(body)
    except ValidationError:
        raise CallbackError("the body is not a WhatsApp Business Account notification") from None
    if notification.object != "whatsapp_business_account":
        raise CallbackError("the notification's object is not whatsapp_business_account")
    return notification


def receipts(value: _Value) -> list[Receipt]:
    """The receipts of one change's statuses, skipping those we do not track."""
    found: list[Receipt] = []
    for status in value.statuses:
        name = status.status.lower()
        if name == "failed":
            found.append(_failure(status))
        elif name in STATUSES:
            found.append(Receipt(status.id, STATUSES[name]))
    return found


def _failure(status: _Status) -> Receipt:
    if not status.errors:
        return Receipt(status.id, MessageStatus.FAILED, None, "failed without an error code")
    error = status.errors[0]
    if error.code is None:
        return Receipt(status.id, MessageStatus.FAILED, None, describe(error.model_dump()) or None)
    detail = describe(error.model_dump()) or UNDELIVERABLE_CODES.get(error.code) or f"error {error.code}"
    ours = MessageStatus.UNDELIVERED if error.code in UNDELIVERABLE_CODES else MessageStatus.FAILED
    return Receipt(status.id, ours, f"whatsapp_{error.code}", detail)


def inbound(value: _Value) -> list[InboundMessage]:
    """The inbound messages of one change; non-text types keep a caption or a ``[type]`` body."""
    recipient = PREFIX + _digits(value.metadata.display_phone_number)
    names = {c.wa_id: (c.profile or {}).get("name") for c in value.contacts if c.wa_id}
    found: list[InboundMessage] = []
    for message in value.messages:
        extra: dict[str, Any] = {"wa_id": message.sender}
        if names.get(message.sender):
            extra["profile_name"] = names[message.sender]
        if message.type != "text":
            extra["type"] = message.type
        content = (message.model_extra or {}).get(message.type)
        content = content if isinstance(content, dict) else {}
        if message.type in MEDIA_TYPES:
            extra["media"] = {
                k: v for k, v in content.items() if k in ("id", "mime_type", "sha256", "filename")
            }
        if message.type == "location":
            extra["location"] = content
        if message.context and message.context.get("id"):
            extra["in_reply_to"] = message.context["id"]
        body = _body(message.type, content)
        found.append(InboundMessage(PREFIX + _digits(message.sender), recipient, body, message.id, extra))
    return found


def _body(kind: str, content: dict[str, Any]) -> str:
    if kind == "text":
        return str(content.get("body") or "")
    if kind == "button":  # a quick-reply button of a template
        return str(content.get("text") or "[button]")
    if kind == "interactive":  # a reply button or list row
        reply = content.get("button_reply") or content.get("list_reply") or {}
        return str(reply.get("title") or "[interactive]") if isinstance(reply, dict) else "[interactive]"
    if kind == "reaction":
        return str(content.get("emoji") or "[reaction]")
    return str(content.get("caption") or content.get("body") or f"[{kind}]")


def _digits(number: str) -> str:
    return "".join(ch for ch in number if ch.isdigit())
