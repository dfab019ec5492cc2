"""Send, step 1, the origin: the channel the request names (else the account's default), the
sender address on it, the limits of that account and channel, and the account's routes when no
channel is named. Each lookup is cached briefly: a stream of sends reads none of them each time."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from tidings.core.routing import Router
from tidings.core.tenancy import Principal
from tidings.errors import Unprocessable
from tidings.features.accounts import AccountService, countries_from_json
from tidings.features.channels import ChannelService
from tidings.features.messages.schemas import SendMessagesRequest
from tidings.features.routes import RouteService


@dataclass(frozen=True, slots=True)
class Limits:
    max_recipients: int
    max_body_chars: int
    max_segments: int
    max_schedule_days: int
    default_country: str | None
    allowed_countries: frozenset[str] | None


@dataclass(frozen=True, slots=True)
class Send:
    """One ``POST /v1/messages`` as the pipeline takes it."""

    principal: Principal
    request: SendMessagesRequest
    idempotency_key: str | None
    request_hash: str
    # The form of this send's status_callback deliveries (core.events.TWILIO_FORMAT), or None
    # for the native JSON. Not part of the request body: only code (the Twilio surface) sets it.
    callback_format: str | None = None


@dataclass(frozen=True, slots=True)
class Origin:
    """Who sends: the channel, the sender on it, the limits that hold, the routes that apply."""

    send: Send
    lineage: tuple[str, ...]
    channel: dict[str, Any]
    limits: Limits
    sender: str | None
    # A channel named in the request is used as is; otherwise the account's routes decide.
    router: Router | None


@dataclass(frozen=True, slots=True)
class ChooseOrigin:
    accounts: AccountService
    channels: ChannelService
    routes: RouteService
    limits: Limits  # the gateway's own, narrowed per account and channel

    async def __call__(self, send: Send) -> Origin:
        request, account_id = send.request, send.principal.account_id
        lineage = await self.accounts.lineage(account_id)
        channel = await self.channels.usable(lineage, request.channel)
        account = await self.accounts.cached_account(account_id)
        if channel is None:
            if request.channel is None:
                raise Unprocessable("this account has no default channel", code="no_channel")
            raise Unprocessable(
                f"no channel {request.channel!r} for this account",
                code="unknown_channel",
                field="channel",
            )
        limits = self._limits_for(account, channel)
        sender = _sender(request.from_, channel)
        router = await self.routes.router_for(lineage) if request.channel is None else None
        return Origin(send, lineage, channel, limits, sender, router)

    def _limits_for(self, account: dict[str, Any], channel: dict[str, Any]) -> Limits:
        allowed = _intersect(
            countries_from_json(account["allowed_countries"]),
            countries_from_json(channel["countries"]),
        )
        return Limits(
            max_recipients=self.limits.max_recipients,
            max_body_chars=self.limits.max_body_chars,
            max_segments=min(self.limits.max_segments, channel["max_segments"]),
            max_schedule_days=self.limits.max_schedule_days,
            default_country=account["default_country"] or self.limits.default_country,
            allowed_countries=allowed,
        )


def _intersect(a: frozenset[str] | None, b: frozenset[str] | None) -> frozenset[str] | None:
    if a is None:
        return b
    if b is None:
        return a
    return a & b


def _sender(requested: str | None, channel: dict[str, Any]) -> str | None:
    senders: list[str] = json.loads(channel["senders"] or "[]")
    if requested is None:
        return senders[0] if senders else None
    if senders and requested not in senders:
        raise Unprocessable(
            f"{requested!r} is not one of this channel's senders",
            code="unknown_sender",
            field="from",
        )
    return requested
