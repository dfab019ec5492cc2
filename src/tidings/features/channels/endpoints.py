"""``/v1/channels``: an account's provider connections. Credentials go in, never come out."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from tidings.core.clock import to_rfc3339
from tidings.core.numbers import known_region
from tidings.core.tenancy import Principal
from tidings.errors import Unprocessable
from tidings.features.channels.service import CHANNELS, ChannelService
from tidings.web.auth import principal
from tidings.web.idempotency import run_idempotent
from tidings.web.responses import ERRORS, JSONResponse

router = APIRouter(prefix="/v1", tags=["channels"], responses=ERRORS)
Caller = Annotated[Principal, Depends(principal)]
Channels = Annotated[ChannelService, Depends(CHANNELS)]
Limit = Annotated[int, Query(ge=1, le=1000)]

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
# Stored on each message as its sender (64 characters).
Sender = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Senders = Annotated[list[Sender], Field(max_length=1000)]
Countries = Annotated[list[str], Field(max_length=300)]
Settings = Annotated[dict[str, Any], Field(description="The type's settings (see docs/channels.md)")]
Credentials = Annotated[
    dict[str, Any], Field(description="The type's secrets: stored encrypted, never returned")
]
Mps = Annotated[int, Field(ge=1, le=100_000, description="Sends per second across all workers")]
BatchSize = Annotated[int, Field(ge=1, le=10_000, description="Messages per provider call")]
Segments = Annotated[int, Field(ge=1, le=255)]


def _check_countries(value: list[str] | None) -> list[str] | None:
    if value is None:
        return None
    for code in value:
        if not known_region(code.upper()):
            raise ValueError(f"{code!r} is not an ISO 3166 country code")
    return [code.upper() for code in value]


class ChannelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: str = Field(min_length=1, max_length=32, description="sandbox, twilio, ...")
    name: Name
    settings: Settings = Field(default_factory=dict)
    credentials: Credentials = Field(default_factory=dict)
    senders: Senders = Field(default_factory=list)
    mps: Mps | None = None
    max_batch_size: BatchSize = 1
    max_segments: Segments = 10
    countries: Countries | None = Field(default=None, description="Allowed destinations; null: any")
    is_default: bool = False

    _countries = field_validator("countries")(_check_countries)


class ChannelUpdate(BaseModel):
    """Fields left out keep their values; ``settings`` merge key by key (``null`` resets a key),
    ``credentials`` replace the stored ones as a whole."""

    model_config = ConfigDict(extra="forbid")
    name: Name | None = None
    settings: Settings | None = None
    credentials: Credentials | None = None
    senders: Senders | None = None
    mps: Mps | None = None
    max_batch_size: BatchSize | None = None
    max_segments: Segments | None = None
    countries: Countries | None = None
    is_default: bool | None = None

    _countries = field_validator("countries")(_check_countries)


class ChannelOut(BaseModel):
    id: str
    account_id: str
    name: str
    type: str
    is_default: bool
    inherited: bool = Field(description="A parent account's channel: usable, not changeable")
    senders: list[str]
    settings: dict[str, Any] | None = Field(description="null on a parent account's channel")
    has_credentials: bool
    mps: int | None
    max_batch_size: int
    max_segments: int
    countries: list[str] | None
    created_at: str
    updated_at: str


class ChannelPage(BaseModel):
    data: list[ChannelOut]
    next_cursor: str | None


# null means "unlimited" and "any country"; every other field needs a value.
_NULLABLE = frozenset({"mps", "countries"})


def channel_json(row: dict[str, Any], *, inherited: bool = False) -> dict[str, Any]:
    """A channel as the API shows it: credentials only as ``has_credentials``, and a parent's
    channel without its settings (operational detail of the account that owns it)."""
    return {
        "id": row["id"],
        "account_id": row["account_id"],
        "name": row["name"],
        "type": row["type"],
        "is_default": bool(row["is_default"]),
        "inherited": inherited,
        "senders": json.loads(row["senders"] or "[]"),
        "settings": None if inherited else json.loads(row["settings"] or "{}"),
        "has_credentials": row["credentials_ciphertext"] is not None,
        "mps": row["mps"],
        "max_batch_size": row["max_batch_size"],
        "max_segments": row["max_segments"],
        "countries": json.loads(row["countries"]) if row["countries"] else None,
        "created_at": to_rfc3339(row["created_at"]),
        "updated_at": to_rfc3339(row["updated_at"]),
    }


def _shown(caller: Principal, row: dict[str, Any]) -> dict[str, Any]:
    return channel_json(row, inherited=ChannelService.is_inherited(caller, row))


@router.post("/channels", status_code=201, response_model=ChannelOut)
async def create_channel(
    body: ChannelIn, caller: Caller, service: Channels, request: Request
) -> JSONResponse:
    """Add a channel to the caller's account (admin). Credentials are validated by the type,
    stored encrypted and never returned."""

    async def produce() -> tuple[int, dict[str, Any]]:
        fields = body.model_dump()
        row = await service.create(caller, **fields)
        return 201, _shown(caller, row)

    return await run_idempotent(request, caller, produce)


@router.get("/channels", response_model=ChannelPage)
async def list_channels(
    caller: Caller,
    service: Channels,
    account_id: Annotated[
        str | None, Query(description="A subaccount's own channels; default: the ones the caller can use")
    ] = None,
    cursor: str | None = None,
    limit: Limit = 100,
) -> JSONResponse:
    """The channels the caller can send on: its account's and, read-only, its ancestors'."""
    page = await service.list(caller, account_id=account_id, cursor=cursor, limit=limit)
    return JSONResponse(page.body(lambda row: _shown(caller, row)))


@router.get("/channels/{channel_id}", response_model=ChannelOut)
async def get_channel(channel_id: str, caller: Caller, service: Channels) -> JSONResponse:
    return JSONResponse(_shown(caller, await service.get(caller, channel_id)))


@router.patch("/channels/{channel_id}", response_model=ChannelOut)
async def update_channel(
    channel_id: str,
    body: ChannelUpdate,
    caller: Caller,
    service: Channels,
) -> JSONResponse:
    """Change a channel (admin). Running workers reopen it within a few seconds."""
    changes = body.model_dump(exclude_unset=True)
    for field, value in changes.items():
        if value is None and field not in _NULLABLE:
            raise Unprocessable(f"{field} cannot be null", code="invalid_value", field=field)
    row = await service.update(caller, channel_id, changes)
    return JSONResponse(_shown(caller, row))


@router.delete("/channels/{channel_id}", status_code=204)
async def delete_channel(channel_id: str, caller: Caller, service: Channels) -> Response:
    """Delete a channel (admin): refused with 409 while a route uses it or messages on it are
    not final."""
    await service.delete(caller, channel_id)
    return Response(status_code=204)
