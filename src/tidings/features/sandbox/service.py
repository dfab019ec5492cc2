"""Virtual handsets of the sandbox channel: what a number received, and replies from it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from tidings.channels.base import InboundMessage
from tidings.core.addresses import parse_address
from tidings.core.numbers import InvalidNumberError
from tidings.core.presenters import message_json
from tidings.core.tenancy import Principal, Role
from tidings.errors import Unprocessable
from tidings.features.accounts import AccountService
from tidings.features.channels import ChannelService
from tidings.features.inbound import InboundService
from tidings.store.engine import Database
from tidings.store.schema import channels, messages
from tidings.web.services import ServiceKey

# What a handset shows: messages that reached the (simulated) carrier.
_HANDED_OVER = ("sent", "delivered", "undelivered")


class SandboxService:
    def __init__(
        self, db: Database, inbound: InboundService, accounts: AccountService, channels: ChannelService
    ) -> None:
        self._db = db
        self._inbound = inbound
        self._accounts = accounts
        self._channels = channels

    async def handset_messages(
        self, principal: Principal, number: str, *, limit: int
    ) -> list[dict[str, Any]]:
        """Messages this handset received through the caller's sandbox channels, newest first."""
        address = _address(number, "number")
        sandbox_ids = select(channels.c.id).where(channels.c.type == "sandbox")
        query = (
            select(messages)
            .where(
                messages.c.account_id.in_(sorted(principal.account_ids)),
                messages.c.recipient == address,
                messages.c.direction == "outbound",
                messages.c.status.in_(_HANDED_OVER),
                messages.c.channel_id.in_(sandbox_ids),
            )
            .order_by(messages.c.id.desc())
            .limit(limit)
        )
        async with self._db.read() as conn:
            rows = [dict(r._mapping) for r in await conn.execute(query)]
        return [message_json(r) for r in rows]

    async def send_from_handset(
        self, principal: Principal, number: str, *, to: str, body: str, channel: str | None
    ) -> dict[str, Any]:
        """A reply typed on a virtual handset: enters the gateway as an inbound message."""
        principal.require(Role.SENDER)
        sender = _address(number, "number")
        recipient = _address(to, "to")
        if not body.strip():
            raise Unprocessable("the message body is empty", code="empty_body", field="body")
        lineage = await self._accounts.lineage(principal.account_id)
        row = await self._channels.usable(lineage, channel or "sandbox")
        if row is None or row["type"] != "sandbox":
            raise Unprocessable(
                "no sandbox channel for this account", code="no_sandbox_channel", field="channel"
            )
        [message_id] = await self._inbound.receive(row["id"], [InboundMessage(sender, recipient, body)])
        async with self._db.read() as conn:
            stored = (await conn.execute(select(messages).where(messages.c.id == message_id))).one()
        return message_json(dict(stored._mapping))


def _address(raw: str, field: str) -> str:
    try:
        return str(parse_address(raw))
    except InvalidNumberError as error:
        raise Unprocessable(
            f"{raw!r} is not a valid address ({error.reason})", code="invalid_number", field=field
        ) from None


# How routers reach this service (tidings.web.services).
SANDBOX: ServiceKey[SandboxService] = ServiceKey("sandbox")
