"""Inbound messages: stored as ``received`` messages of the account that owns the channel.

Routing to proxy sessions, conversations and webhooks builds on this (SPEC §3 "Inbound").
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, insert

from tidings.channels.base import InboundMessage
from tidings.core.clock import now_ms
from tidings.core.encoding import analyse
from tidings.core.ids import new_ids
from tidings.core.statuses import MessageStatus
from tidings.features.channels.repository import get_channel
from tidings.store.engine import Database
from tidings.store.queue import insert_events
from tidings.store.schema import messages


class InboundService:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def receive(self, channel_id: str, inbound: Sequence[InboundMessage]) -> list[str]:
        """Store inbound messages reported by a channel; return their ids."""
        if not inbound:
            return []
        async with self._db.read() as conn:
            channel = await get_channel(conn, channel_id)
        if channel is None:
            raise LookupError(f"channel {channel_id} does not exist")
        now = now_ms()
        ids = new_ids("msg", len(inbound))
        rows = [_row(i, channel, m, now) for i, m in zip(ids, inbound, strict=True)]

        def store(conn: Connection) -> None:
            conn.execute(insert(messages), rows)
            insert_events(conn, [(i, MessageStatus.RECEIVED.value, now, None, None) for i in ids])

        await self._db.transact(store)
        return ids


def _row(message_id: str, channel: dict[str, Any], inbound: InboundMessage, now: int) -> dict[str, Any]:
    info = analyse(inbound.body) if inbound.body else None
    return {
        "id": message_id,
        "account_id": channel["account_id"],
        "batch_id": None,
        "direction": "inbound",
        "status": MessageStatus.RECEIVED.value,
        "priority": 1,
        "channel_id": channel["id"],
        "sender": inbound.sender,
        "recipient": inbound.recipient,
        "body": inbound.body,
        "encoding": info.encoding.value if info else "GSM-7",
        "segments": info.segments if info else 0,
        "due_at": None,
        "send_at": None,
        "expires_at": None,
        "attempts": 0,
        "lease_owner": None,
        "lease_until": None,
        "provider_message_id": inbound.provider_message_id,
        "error_code": None,
        "error_message": None,
        "status_callback": None,
        "metadata": None,
        "created_at": now,
        "updated_at": now,
    }
