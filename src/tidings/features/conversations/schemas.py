"""Request and response models of ``/v1/conversations`` (docs/conversations.md)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, StringConstraints

FriendlyName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=256)]
Text = Annotated[str, StringConstraints(min_length=1, max_length=1600)]
Identity = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=256)]
AddressText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=70)]
# Seconds, or an ISO 8601 duration of fixed-length units ("PT5M", "P1DT2H"); checked by
# rules.parse_duration, which names the problem. Strict: a JSON true is not one second.
Duration = Annotated[
    StrictInt | StrictFloat | Annotated[str, StringConstraints(max_length=64)],
    Field(examples=["PT5M", 300]),
]
State = Literal["active", "inactive", "closed"]


class Timers(BaseModel):
    """Idle periods after the last message; ``null`` (or leaving one out on create) means none."""

    model_config = ConfigDict(extra="forbid")
    inactive_after: Duration | None = Field(default=None, description="active → inactive")
    closed_after: Duration | None = Field(default=None, description="active or inactive → closed")


class ConversationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    friendly_name: FriendlyName | None = None
    attributes: dict[str, Any] | None = Field(default=None, description="Free JSON for your records")
    state: Literal["active", "inactive"] = "active"
    timers: Timers | None = None
    close_message: Text | None = Field(default=None, description="Sent to every participant on closing")


class ConversationUpdate(BaseModel):
    """Fields left out keep their values; ``null`` clears the optional ones. ``state: closed``
    sends ``close_message`` (this request's, else the stored one) before closing; a closed
    conversation cannot be reopened."""

    model_config = ConfigDict(extra="forbid")
    friendly_name: FriendlyName | None = None
    attributes: dict[str, Any] | None = None
    state: State | None = None
    timers: Timers | None = None
    close_message: Text | None = None


class ParticipantIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    address: AddressText = Field(examples=["+14155550100", "whatsapp:+14155550100", "telegram:123456"])
    proxy_address: AddressText | None = Field(
        default=None,
        description="Our address the participant is reached from and writes to; default: the "
        "channel's first sender",
    )
    identity: Identity | None = Field(default=None, description="Names the participant in relays")


class MessageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    author: Identity | None = Field(
        default=None, description="A participant's identity or address (not sent to), or any name"
    )
    body: Text


class TimersOut(BaseModel):
    inactive_after: float | None
    closed_after: float | None
    inactive_at: str | None
    closes_at: str | None


class ConversationOut(BaseModel):
    id: str
    account_id: str
    friendly_name: str | None
    attributes: dict[str, Any] | None
    state: State
    close_message: str | None
    timers: TimersOut
    last_activity_at: str
    created_at: str
    updated_at: str


class ConversationPage(BaseModel):
    data: list[ConversationOut]
    next_cursor: str | None


class ParticipantOut(BaseModel):
    id: str
    conversation_id: str
    address: str
    kind: str
    proxy_address: str
    identity: str | None
    channel_id: str
    created_at: str


class ParticipantPage(BaseModel):
    data: list[ParticipantOut]
    next_cursor: str | None


class DeliveryError(BaseModel):
    code: str
    message: str | None


class DeliveryOut(BaseModel):
    participant_id: str
    message_id: str
    to: str
    channel_id: str | None
    status: str
    error: DeliveryError | None


class MessageOut(BaseModel):
    id: str
    conversation_id: str
    author: str
    participant_id: str | None
    direction: Literal["outbound", "inbound"]
    body: str
    inbound_message_id: str | None
    deliveries: list[DeliveryOut]
    failed: int = Field(description="Deliveries that will not arrive (failed, undelivered, ...)")
    created_at: str


class MessagePage(BaseModel):
    data: list[MessageOut]
    next_cursor: str | None
