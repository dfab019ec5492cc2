"""Request and response models of the messages API (SPEC §3 "Messages")."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from tidings.core.urls import check_webhook_url


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class PersonalMessage(Strict):
    to: str = Field(min_length=1, max_length=64)
    body: str


class TemplateRecipient(Strict):
    to: str = Field(min_length=1, max_length=64)
    vars: dict[str, str | int | float] = Field(default_factory=dict)


class SendMessagesRequest(Strict):
    """One of: ``to`` + ``body``; ``messages``; or ``body`` as a template + ``recipients``."""

    to: str | list[str] | None = Field(
        default=None,
        description="One recipient, or a list of up to 100,000",
        examples=["+27830000000"],
    )
    body: str | None = Field(default=None, description="Text, or a template with {{name}} slots")
    messages: list[PersonalMessage] | None = None
    recipients: list[TemplateRecipient] | None = None
    channel: str | None = Field(default=None, description="Channel id or name; default channel if absent")
    from_: str | None = Field(default=None, alias="from", max_length=64)
    send_at: datetime | None = Field(default=None, description="RFC 3339; at most 35 days ahead")
    validity_period: int | None = Field(
        default=None, ge=1, le=35 * 86_400, description="Seconds the message may wait to be sent"
    )
    status_callback: str | None = Field(
        default=None, max_length=2048, description="Also POST this message's events here (http or https)"
    )
    metadata: dict[str, Any] | None = None
    priority: Literal["high", "normal", "bulk"] = "normal"
    default_country: str | None = Field(default=None, min_length=2, max_length=2)

    @field_validator("status_callback")
    @classmethod
    def _callback_url(cls, value: str | None) -> str | None:
        # Checked here, at intake: a bad URL would otherwise fail its deliveries for 24 hours.
        return None if value is None else check_webhook_url(value)


class InvalidRecipient(BaseModel):
    input: str
    reason: str


class BatchOut(BaseModel):
    id: str
    accepted: int
    invalid: list[InvalidRecipient]
    duplicates: int
    segments: int | None = Field(description="Segments per message (null when bodies differ)")
    total_segments: int
    encoding: str | None
    channel_id: str
    send_at: str | None
    status_counts: dict[str, int]
    message_ids: list[str] | None = Field(
        default=None, description="Inline up to 1,000; beyond that page GET /v1/messages?batch_id="
    )
    created_at: str


class BatchStatusOut(BaseModel):
    id: str
    accepted: int
    invalid: list[InvalidRecipient]
    duplicates: int
    channel_id: str
    send_at: str | None
    status_counts: dict[str, int]
    done: int
    progress: float = Field(description="Share of messages in a final status, 0..1")
    created_at: str


class MessageError(BaseModel):
    code: str
    message: str | None


class Routing(BaseModel):
    """Why the message is on its channel."""

    route: str | None = Field(description="The route that chose the channel; null for the default channel")
    fallback_channel_id: str | None
    via_fallback: bool = Field(description="True once the message moved to its fallback channel")


class MessageOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    id: str
    account_id: str
    batch_id: str | None
    direction: str
    status: str
    channel_id: str | None
    routing: Routing
    from_: str | None = Field(alias="from")
    to: str
    body: str
    encoding: str
    segments: int
    priority: str
    send_at: str | None
    expires_at: str | None
    attempts: int
    provider_message_id: str | None
    error: MessageError | None
    status_callback: str | None
    metadata: dict[str, Any] | None
    created_at: str
    updated_at: str


class MessagePage(BaseModel):
    data: list[MessageOut]
    next_cursor: str | None


class EventOut(BaseModel):
    status: str
    at: str
    code: str | None
    detail: str | None


class EventPage(BaseModel):
    data: list[EventOut]
    next_cursor: str | None


class CancelBatchOut(BaseModel):
    id: str
    canceled: int
