"""Queries behind the messages and batches API; every one is scoped to the caller's accounts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.core.cursors import Paging
from tidings.core.statuses import CANCELABLE_STATUSES, MessageStatus
from tidings.store.message_events import insert_events
from tidings.store.pages import keyset
from tidings.store.schema import batches, contacts, message_events, messages

_CANCELABLE = sorted(s.value for s in CANCELABLE_STATUSES)


@dataclass(frozen=True, slots=True)
class MessageFilter:
    status: str | None = None
    to: str | None = None
    sender: str | None = None  # the from address (the Twilio surface's From filter)
    batch_id: str | None = None
    direction: str | None = None
    since: int | None = None
    until: int | None = None
    contact: str | None = None  # a contact's id or external id


async def list_messages(
    conn: AsyncConnection,
    account_ids: Sequence[str],
    where: MessageFilter,
    page: Paging[str],
) -> list[dict[str, Any]]:
    """Newest first."""
    query = select(messages).where(messages.c.account_id.in_(account_ids))
    if where.status is not None:
        query = query.where(messages.c.status == where.status)
    if where.to is not None:
        query = query.where(messages.c.recipient == where.to)
    if where.sender is not None:
        query = query.where(messages.c.sender == where.sender)
    if where.batch_id is not None:
        query = query.where(messages.c.batch_id == where.batch_id)
    if where.direction is not None:
        query = query.where(messages.c.direction == where.direction)
    if where.since is not None:
        query = query.where(messages.c.created_at >= where.since)
    if where.until is not None:
        query = query.where(messages.c.created_at < where.until)
    if where.contact is not None:
        # Contacts of the caller's accounts with that id or external id (a parent's and a
        # subaccount's contact may share an external id; the parent sees both).
        named = select(contacts.c.id).where(
            contacts.c.account_id.in_(account_ids),
            or_(contacts.c.id == where.contact, contacts.c.external_id == where.contact),
        )
        query = query.where(messages.c.contact_id.in_(named))
    rows = await conn.execute(keyset(query, messages.c.id, page, newest_first=True))
    return [dict(r._mapping) for r in rows]


async def get_message(
    conn: AsyncConnection, account_ids: Sequence[str], message_id: str
) -> dict[str, Any] | None:
    row = (
        await conn.execute(
            select(messages).where(messages.c.id == message_id, messages.c.account_id.in_(account_ids))
        )
    ).first()
    return dict(row._mapping) if row else None


async def list_events(conn: AsyncConnection, message_id: str, page: Paging[int]) -> list[dict[str, Any]]:
    """Oldest first: the order a message's statuses happened in."""
    query = select(message_events).where(message_events.c.message_id == message_id)
    rows = await conn.execute(keyset(query, message_events.c.id, page, newest_first=False))
    return [dict(r._mapping) for r in rows]


def cancel_messages(
    conn: Connection,
    account_ids: Sequence[str],
    *,
    message_id: str | None = None,
    batch_id: str | None = None,
    now: int,
) -> list[str]:
    """Cancel what has not left yet; return the ids canceled. The status test is atomic with
    the claim query's, so a message is either claimed or canceled, never both."""
    query = update(messages).where(messages.c.account_id.in_(account_ids), messages.c.status.in_(_CANCELABLE))
    if message_id is not None:
        query = query.where(messages.c.id == message_id)
    if batch_id is not None:
        query = query.where(messages.c.batch_id == batch_id)
    query = query.values(status=MessageStatus.CANCELED.value, updated_at=now, due_at=None)
    ids = [r[0] for r in conn.execute(query.returning(messages.c.id))]
    insert_events(conn, [(i, MessageStatus.CANCELED.value, now, None, None) for i in ids])
    return ids


async def get_batch(
    conn: AsyncConnection, account_ids: Sequence[str], batch_id: str
) -> dict[str, Any] | None:
    row = (
        await conn.execute(
            select(batches).where(batches.c.id == batch_id, batches.c.account_id.in_(account_ids))
        )
    ).first()
    return dict(row._mapping) if row else None


async def batch_status_counts(conn: AsyncConnection, batch_id: str) -> dict[str, int]:
    rows = await conn.execute(
        select(messages.c.status, func.count())
        .where(messages.c.batch_id == batch_id)
        .group_by(messages.c.status)
    )
    return {status: int(count) for status, count in rows}


async def batch_message_ids(conn: AsyncConnection, batch_id: str, limit: int) -> list[str]:
    rows = await conn.execute(
        select(messages.c.id).where(messages.c.batch_id == batch_id).order_by(messages.c.id).limit(limit)
    )
    return [r[0] for r in rows]


async def latest_outbound_to(
    conn: AsyncConnection, account_ids: Sequence[str], recipient: str
) -> dict[str, Any] | None:
    row = (
        await conn.execute(
            select(messages)
            .where(
                messages.c.account_id.in_(account_ids),
                messages.c.recipient == recipient,
                messages.c.direction == "outbound",
            )
            .order_by(messages.c.id.desc())
            .limit(1)
        )
    ).first()
    return dict(row._mapping) if row else None
