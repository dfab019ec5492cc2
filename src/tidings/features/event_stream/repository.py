"""Queries behind the live stream: the message_events table read in id order, scoped by account."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.core.events import ANNOUNCED_VALUES
from tidings.store.event_rows import events_with_their_messages
from tidings.store.schema import message_events, messages

_ANNOUNCED = sorted(ANNOUNCED_VALUES)


async def latest_event_id(conn: AsyncConnection) -> int:
    return int((await conn.execute(select(func.coalesce(func.max(message_events.c.id), 0)))).scalar_one())


async def event_ids_after(conn: AsyncConnection, after: int, *, limit: int) -> list[int]:
    """The next ids of every account's events (the primary key alone: cheap at any table size)."""
    rows = await conn.execute(
        select(message_events.c.id)
        .where(message_events.c.id > after)
        .order_by(message_events.c.id)
        .limit(limit)
    )
    return [row[0] for row in rows]


async def announced_events(
    conn: AsyncConnection, account_ids: Sequence[str], *, after: int, upto: int
) -> list[dict[str, Any]]:
    """Announced events with ``after < id <= upto`` of messages in these accounts, oldest first."""
    rows = await conn.execute(
        events_with_their_messages()
        .where(
            message_events.c.id > after,
            message_events.c.id <= upto,
            message_events.c.status.in_(_ANNOUNCED),
            messages.c.account_id.in_(account_ids),
        )
        .order_by(message_events.c.id)
    )
    return [dict(row._mapping) for row in rows]
