"""Queries for channels (provider connections), shared by the channels feature, dispatch, inbound
routing and provider callbacks. Deleted channels keep their row and are skipped by every lookup
here."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import exists, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.core.cursors import Paging
from tidings.core.statuses import MessageStatus
from tidings.store.pages import keyset
from tidings.store.schema import accounts, channels, messages, routes

_LIVE = channels.c.deleted_at.is_(None)
# Messages that have not left yet: they would be sent through the channel.
_NOT_LEFT = (MessageStatus.SCHEDULED, MessageStatus.QUEUED, MessageStatus.SENDING)


async def insert_channel(conn: AsyncConnection, row: dict[str, Any]) -> None:
    await conn.execute(insert(channels), row)


async def get_channel(conn: AsyncConnection, channel_id: str) -> dict[str, Any] | None:
    row = (await conn.execute(select(channels).where(channels.c.id == channel_id, _LIVE))).first()
    return dict(row._mapping) if row else None


async def channel_named(conn: AsyncConnection, account_id: str, name: str) -> dict[str, Any] | None:
    query = select(channels).where(channels.c.account_id == account_id, channels.c.name == name, _LIVE)
    row = (await conn.execute(query)).first()
    return dict(row._mapping) if row else None


async def channels_of(
    conn: AsyncConnection, account_ids: Collection[str], page: Paging[str] | None = None
) -> list[dict[str, Any]]:
    """Live channels of these accounts in id (creation) order: all of them, or one ``page``."""
    query = select(channels).where(channels.c.account_id.in_(account_ids), _LIVE)
    if page is None:
        query = query.order_by(channels.c.id)
    else:
        query = keyset(query, channels.c.id, page, newest_first=False)
    return [dict(r._mapping) for r in await conn.execute(query)]


async def find_usable_channel(
    conn: AsyncConnection, lineage: Sequence[str], id_or_name: str | None
) -> dict[str, Any] | None:
    """The channel a message from an account uses: its own, else its nearest ancestor's.

    ``lineage`` is the account followed by its ancestors, nearest first. Without a name, the
    nearest default channel is chosen.
    """
    query = select(channels).where(channels.c.account_id.in_(lineage), _LIVE)
    if id_or_name is None:
        query = query.where(channels.c.is_default.is_(True))
    else:
        query = query.where(or_(channels.c.id == id_or_name, channels.c.name == id_or_name))
    rows = [dict(r._mapping) for r in await conn.execute(query)]
    rank = {account_id: i for i, account_id in enumerate(lineage)}
    rows.sort(key=lambda row: (rank[row["account_id"]], row["id"]))
    return rows[0] if rows else None


async def lock_account_channels(conn: AsyncConnection, account_id: str) -> None:
    """Serialise channel changes of one account until the transaction ends, so the name check
    and the single default hold under concurrent requests. A row lock on PostgreSQL; SQLite's
    writer lock already serialises (SQLAlchemy leaves FOR UPDATE out there)."""
    await conn.execute(select(accounts.c.id).where(accounts.c.id == account_id).with_for_update())


async def update_channel(conn: AsyncConnection, channel_id: str, values: dict[str, Any]) -> None:
    await conn.execute(update(channels).where(channels.c.id == channel_id).values(**values))


async def clear_default(conn: AsyncConnection, account_id: str, *, at: int) -> None:
    """No channel of the account is its default any more (one is about to become it)."""
    await conn.execute(
        update(channels)
        .where(channels.c.account_id == account_id, channels.c.is_default.is_(True), _LIVE)
        .values(is_default=False, updated_at=at)
    )


async def routes_using(conn: AsyncConnection, channel_id: str) -> int:
    """Routes of any account that send on the channel or fall back to it."""
    query = select(func.count()).where(
        or_(routes.c.channel_id == channel_id, routes.c.fallback_channel_id == channel_id)
    )
    return int((await conn.execute(query)).scalar_one())


async def has_unfinished_messages(conn: AsyncConnection, channel_id: str, *, sent_since: int) -> bool:
    """Whether messages still need the channel: not yet left through it (or waiting to fall
    back to it), or sent through it after ``sent_since`` and still waiting for a receipt."""
    pending = or_(
        (messages.c.channel_id == channel_id) & messages.c.status.in_(_NOT_LEFT),
        (messages.c.fallback_channel_id == channel_id) & messages.c.status.in_(_NOT_LEFT),
        (messages.c.channel_id == channel_id)
        & (messages.c.status == MessageStatus.SENT)
        & (messages.c.updated_at > sent_since),
    )
    return bool((await conn.execute(select(exists().where(pending)))).scalar_one())


async def live_channel_ids(conn: AsyncConnection, types: Collection[str]) -> list[str]:
    """Ids of the live (not deleted) channels of these types."""
    if not types:
        return []
    query = select(channels.c.id).where(channels.c.type.in_(list(types)), _LIVE).order_by(channels.c.id)
    return [row[0] for row in await conn.execute(query)]


async def versions(conn: AsyncConnection, channel_ids: Collection[str]) -> dict[str, int]:
    """``updated_at`` of each live channel among these; deleted or unknown ones are absent."""
    query = select(channels.c.id, channels.c.updated_at).where(channels.c.id.in_(channel_ids), _LIVE)
    return {row[0]: row[1] for row in await conn.execute(query)}
