"""The surface's bookkeeping (``messagesender_records``, store/schema.py): one row per recipient
line, read with the status of its native message. Every query names the account."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.core.statuses import MessageStatus
from tidings.store.schema import messages, messagesender_records

MAIN, SCHEDULED = "main", "scheduled"  # the seed's two queues

# How a native status sorts into the seed's lists. "Finished" is the seed's job that ran: the
# message left for its messenger (sent) or reached it (delivered). Queued and sending messages
# are running jobs, in none of its lists.
FINISHED = frozenset({MessageStatus.SENT, MessageStatus.DELIVERED})
FAILED = frozenset(
    {MessageStatus.FAILED, MessageStatus.UNDELIVERED, MessageStatus.CANCELED, MessageStatus.EXPIRED}
)


@dataclass(frozen=True, slots=True)
class Record:
    queue: str
    uuid: str
    service: str
    body: str
    queued_at: int
    status: str | None  # the native message's; None when the intake refused the recipient


async def sent_to(conn: AsyncConnection, account_id: str, batch_id: str) -> dict[str, str]:
    """The batch's message id for each recipient address."""
    query = select(messages.c.recipient, messages.c.id).where(
        messages.c.account_id == account_id, messages.c.batch_id == batch_id
    )
    return {row.recipient: row.id for row in await conn.execute(query)}


async def add(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    await conn.execute(insert(messagesender_records), list(rows))


async def of_account(conn: AsyncConnection, account_id: str) -> list[Record]:
    """The account's records, oldest first, each with its message's status."""
    query = (
        select(messagesender_records, messages.c.status)
        .select_from(
            messagesender_records.outerjoin(messages, messages.c.id == messagesender_records.c.message_id)
        )
        .where(messagesender_records.c.account_id == account_id)
        .order_by(messagesender_records.c.id)
    )
    return [
        Record(row.queue, row.uuid, row.service, row.body, row.queued_at, row.status)
        for row in await conn.execute(query)
    ]


async def delete_done(conn: AsyncConnection, account_id: str) -> None:
    """Delete the account's records whose message finished or failed (or was never sent);
    records of messages still to be sent stay."""
    # Probed by the messages' primary key, through the account's own records.
    mine = select(messagesender_records.c.message_id).where(messagesender_records.c.account_id == account_id)
    done = select(messages.c.id).where(
        messages.c.id.in_(mine), messages.c.status.in_(sorted(FINISHED | FAILED))
    )
    await conn.execute(
        delete(messagesender_records).where(
            messagesender_records.c.account_id == account_id,
            or_(messagesender_records.c.message_id.is_(None), messagesender_records.c.message_id.in_(done)),
        )
    )
