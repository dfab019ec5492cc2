"""Queries for channels (provider connections)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.store.schema import channels


async def insert_channel(conn: AsyncConnection, row: dict[str, Any]) -> None:
    await conn.execute(insert(channels), row)


async def get_channel(conn: AsyncConnection, channel_id: str) -> dict[str, Any] | None:
    row = (await conn.execute(select(channels).where(channels.c.id == channel_id))).first()
    return dict(row._mapping) if row else None


async def find_usable_channel(
    conn: AsyncConnection, lineage: Sequence[str], id_or_name: str | None
) -> dict[str, Any] | None:
    """The channel a message from an account uses: its own, else its nearest ancestor's.

    ``lineage`` is the account followed by its ancestors, nearest first. Without a name, the
    nearest default channel is chosen.
    """
    query = select(channels).where(channels.c.account_id.in_(lineage))
    if id_or_name is None:
        query = query.where(channels.c.is_default.is_(True))
    else:
        query = query.where(or_(channels.c.id == id_or_name, channels.c.name == id_or_name))
    rows = [dict(r._mapping) for r in await conn.execute(query)]
    rank = {account_id: i for i, account_id in enumerate(lineage)}
    rows.sort(key=lambda row: (rank[row["account_id"]], row["id"]))
    return rows[0] if rows else None
