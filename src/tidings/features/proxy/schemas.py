"""Request and response models of ``/v1/proxy`` (docs/proxy.md)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from tidings.features.proxy.rules import MAX_TTL_MINUTES

Address = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
# A system message: one message, at most the longest body a send may have.
SystemText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1600)]
SessionStatus = Literal["active", "ended"]


class PoolNumberIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    number: Address = Field(
        description="A sender of a channel the account may use: +1…, or national with the default country",
        examples=["+14155550100"],
    )


class PoolNumberOut(BaseModel):
    id: str
    account_id: str
    number: str = Field(description="E.164")
    channel_id: str = Field(description="The channel whose sender it is, resolved when it was added")
    active_sessions: int
    created_at: str


class PoolPage(BaseModel):
    data: list[PoolNumberOut]
    next_cursor: str | None
    available: int = Field(description="Numbers serving no session")
    in_use: int = Field(description="Numbers serving at least one session (they still take others)")
    pool_size: int
    active_sessions: int


class SessionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    participant_a: Address = Field(examples=["+14155550101"], description="+1… (SMS) or whatsapp:+1…")
    participant_b: Address = Field(examples=["whatsapp:+14155550102"])
    ttl_minutes: int | None = Field(
        default=None, ge=1, le=MAX_TTL_MINUTES, description="Ends the session after this long; default: never"
    )


class SessionOut(BaseModel):
    id: str
    account_id: str
    proxy_number: str = Field(description="The pool number both participants write to")
    proxy_number_id: str
    channel_id: str
    participant_a: str
    participant_b: str
    status: SessionStatus
    expires_at: str | None
    ended_reason: str | None = Field(description="deleted | expired | number_removed")
    created_at: str
    updated_at: str


class SessionPage(BaseModel):
    data: list[SessionOut]
    next_cursor: str | None


class ProxyTexts(BaseModel):
    """System messages, sent from the pool number; ``null`` (the default) sends none. In a
    change, a text left out keeps its value."""

    model_config = ConfigDict(extra="forbid")
    session_start: SystemText | None = Field(default=None, description="To both participants on creation")
    session_end: SystemText | None = Field(default=None, description="To both participants when it ends")
    no_session: SystemText | None = Field(
        default=None, description="To whoever writes to a pool number without a session on it"
    )
