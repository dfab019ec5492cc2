"""The message table as a queue (DESIGN §1): claims, leases, outcomes and receipts, all in SQL.

Plain sync functions over a Connection, run as whole transactions by ``Database.transact``.

Every status change made here goes through :func:`tidings.core.statuses.predecessors`, so the
forward-only rule holds whichever path the news arrives by, and is recorded by
:func:`insert_events`, which also queues its webhook deliveries in the same transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, bindparam, delete, insert, select, text, update

from tidings.core.events import ANNOUNCED_VALUES
from tidings.core.statuses import MessageStatus, predecessors
from tidings.store.bulk import insert_rows
from tidings.store.outbox import enqueue_message_events
from tidings.store.schema import message_events, messages, pending_receipts

EVENT_COLUMNS = ("message_id", "status", "at", "code", "detail")

# Literal, not bound: SQLite and PostgreSQL only use a partial index when the query's predicate
# visibly matches the index's, and a bound parameter hides it.
_CLAIMABLE = text("messages.status IN ('scheduled', 'queued')")
_LEASED = text("messages.status = 'sending'")


@dataclass(frozen=True, slots=True)
class ClaimedMessage:
    id: str
    account_id: str
    channel_id: str
    sender: str | None
    recipient: str
    body: str
    encoding: str
    segments: int
    attempts: int
    expires_at: int | None


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened to one claimed message; written back in batches."""

    message_id: str
    status: MessageStatus  # sent | queued (retry) | failed | expired
    provider_message_id: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    due_at: int | None = None  # next attempt, for a retry


@dataclass(frozen=True, slots=True)
class ReceiptUpdate:
    channel_id: str
    provider_message_id: str
    status: MessageStatus
    code: str | None = None
    detail: str | None = None


def claim_due(
    conn: Connection,
    *,
    worker: str,
    now: int,
    lease_until: int,
    limit: int,
    skip_locked: bool,
) -> list[ClaimedMessage]:
    """Move up to ``limit`` due messages to ``sending`` under this worker's lease; return them.

    High priority first, then oldest due. On PostgreSQL ``FOR UPDATE SKIP LOCKED`` lets many
    workers claim at once without ever taking the same row.
    """
    due = (
        select(messages.c.id)
        .where(_CLAIMABLE, messages.c.due_at <= now)
        .order_by(messages.c.priority, messages.c.due_at)
        .limit(limit)
    )
    if skip_locked:
        due = due.with_for_update(skip_locked=True)
    claim = (
        update(messages)
        .where(messages.c.id.in_(due.scalar_subquery()))
        .values(
            status=MessageStatus.SENDING.value,
            lease_owner=worker,
            lease_until=lease_until,
            attempts=messages.c.attempts + 1,
            updated_at=now,
        )
        .returning(
            messages.c.id,
            messages.c.account_id,
            messages.c.channel_id,
            messages.c.sender,
            messages.c.recipient,
            messages.c.body,
            messages.c.encoding,
            messages.c.segments,
            messages.c.attempts,
            messages.c.expires_at,
        )
    )
    claimed = [ClaimedMessage(*row) for row in conn.execute(claim)]
    if claimed:
        insert_events(conn, [(m.id, MessageStatus.SENDING.value, now, None, None) for m in claimed])
    return claimed


def reclaim_expired_leases(conn: Connection, *, now: int, limit: int = 1000) -> list[str]:
    """Put messages whose worker stopped renewing its lease back in the queue.

    The provider may already have taken them: each reclaimed message is a possible duplicate,
    which the caller counts.
    """
    stale = select(messages.c.id).where(_LEASED, messages.c.lease_until < now).limit(limit)
    reclaim = (
        update(messages)
        .where(messages.c.id.in_(stale.scalar_subquery()), _LEASED)
        .values(
            status=MessageStatus.QUEUED.value,
            due_at=now,
            lease_owner=None,
            lease_until=None,
            updated_at=now,
        )
        .returning(messages.c.id)
    )
    ids = [row[0] for row in conn.execute(reclaim)]
    if ids:
        insert_events(conn, [(i, MessageStatus.QUEUED.value, now, "lease_expired", None) for i in ids])
    return ids


def record_outcomes(conn: Connection, *, worker: str, outcomes: Sequence[Outcome], now: int) -> list[Outcome]:
    """Write send outcomes for messages this worker still holds; return those written.

    An outcome for a message whose lease was lost (reclaimed after expiry) is not written: the
    message is someone else's now.
    """
    if not outcomes:
        return []
    ids = [o.message_id for o in outcomes]
    held_query = (
        select(messages.c.id)
        .where(messages.c.id.in_(bindparam("ids", expanding=True)), _LEASED)
        .where(messages.c.lease_owner == worker)
        .with_for_update()
    )
    held: set[str] = set()
    for start in range(0, len(ids), 1000):
        chunk = ids[start : start + 1000]
        held.update(row[0] for row in conn.execute(held_query, {"ids": chunk}))
    written = [o for o in outcomes if o.message_id in held]
    if not written:
        return []
    conn.execute(
        update(messages)
        .where(messages.c.id == bindparam("b_id"))
        .values(
            status=bindparam("b_status"),
            provider_message_id=bindparam("b_provider_id"),
            error_code=bindparam("b_code"),
            error_message=bindparam("b_error"),
            due_at=bindparam("b_due"),
            lease_owner=None,
            lease_until=None,
            updated_at=now,
        ),
        [
            {
                "b_id": o.message_id,
                "b_status": o.status.value,
                "b_provider_id": o.provider_message_id,
                "b_code": o.error_code,
                "b_error": o.error_message,
                "b_due": o.due_at,
            }
            for o in written
        ],
    )
    insert_events(conn, [(o.message_id, o.status.value, now, o.error_code, o.error_message) for o in written])
    return written


def apply_receipts(conn: Connection, receipts: Sequence[ReceiptUpdate], *, now: int) -> tuple[int, int]:
    """Apply delivery receipts; keep those whose message id is not known yet. (applied, kept)."""
    if not receipts:
        return 0, 0
    by_channel: dict[str, list[ReceiptUpdate]] = {}
    for receipt in receipts:
        by_channel.setdefault(receipt.channel_id, []).append(receipt)
    applied = 0
    unmatched: list[ReceiptUpdate] = []
    lookup = select(messages.c.id, messages.c.status, messages.c.provider_message_id).where(
        messages.c.channel_id == bindparam("channel"),
        messages.c.provider_message_id.in_(bindparam("pids", expanding=True)),
    )
    for channel_id, group in by_channel.items():
        found: dict[str, tuple[str, str]] = {}
        for start in range(0, len(group), 1000):
            pids = [r.provider_message_id for r in group[start : start + 1000]]
            for message_id, status, pid in conn.execute(lookup, {"channel": channel_id, "pids": pids}):
                found[pid] = (message_id, status)
        matched = []
        for receipt in group:
            hit = found.get(receipt.provider_message_id)
            if hit is None:
                unmatched.append(receipt)
            else:
                matched.append((hit[0], receipt))
        applied += _advance(conn, matched, now)
    if unmatched:
        conn.execute(
            insert(pending_receipts),
            [
                {
                    "channel_id": r.channel_id,
                    "provider_message_id": r.provider_message_id,
                    "status": r.status.value,
                    "code": r.code,
                    "detail": r.detail,
                    "received_at": now,
                }
                for r in unmatched
            ],
        )
    return applied, len(unmatched)


def reconcile_pending_receipts(conn: Connection, *, now: int, limit: int = 1000) -> int:
    """Apply kept receipts whose message has since recorded its provider id; return how many."""
    joined = (
        select(pending_receipts, messages.c.id.label("message_id"))
        .join(
            messages,
            (messages.c.channel_id == pending_receipts.c.channel_id)
            & (messages.c.provider_message_id == pending_receipts.c.provider_message_id),
        )
        .order_by(pending_receipts.c.id)
        .limit(limit)
    )
    rows = [dict(r._mapping) for r in conn.execute(joined)]
    if not rows:
        return 0
    matched = [
        (
            row["message_id"],
            ReceiptUpdate(
                row["channel_id"],
                row["provider_message_id"],
                MessageStatus(row["status"]),
                row["code"],
                row["detail"],
            ),
        )
        for row in rows
    ]
    _advance(conn, matched, now)
    conn.execute(delete(pending_receipts).where(pending_receipts.c.id.in_([row["id"] for row in rows])))
    return len(rows)


def _advance(conn: Connection, matched: Sequence[tuple[str, ReceiptUpdate]], now: int) -> int:
    """Move messages to their receipt's status where the forward-only rule allows it."""
    applied = 0
    by_status: dict[MessageStatus, list[tuple[str, ReceiptUpdate]]] = {}
    for message_id, receipt in matched:
        by_status.setdefault(receipt.status, []).append((message_id, receipt))
    for status, group in by_status.items():
        allowed = sorted(s.value for s in predecessors(status))
        ids = [message_id for message_id, _ in group]
        moved = {
            row[0]
            for row in conn.execute(
                update(messages)
                .where(messages.c.id.in_(ids), messages.c.status.in_(allowed))
                .values(status=status.value, updated_at=now, lease_owner=None, lease_until=None)
                .returning(messages.c.id)
            )
        }
        if not moved:
            continue
        codes = {message_id: receipt for message_id, receipt in group}
        if status is not MessageStatus.DELIVERED:
            conn.execute(
                update(messages)
                .where(messages.c.id == bindparam("b_id"))
                .values(error_code=bindparam("b_code"), error_message=bindparam("b_detail")),
                [{"b_id": i, "b_code": codes[i].code, "b_detail": codes[i].detail} for i in moved],
            )
        insert_events(conn, [(i, status.value, now, codes[i].code, codes[i].detail) for i in moved])
        applied += len(moved)
    return applied


def insert_events(conn: Connection, rows: Sequence[tuple[str, str, int, str | None, str | None]]) -> None:
    """Append status events: (message id, status, at, code, detail); all rows of one call share
    their time. Announced ones (core.events) are queued for webhook delivery in this transaction,
    which is what makes the outbox transactional: every path that changes a status comes here.
    """
    insert_rows(conn, message_events, EVENT_COLUMNS, rows)
    announced = [row[0] for row in rows if row[1] in ANNOUNCED_VALUES]
    if announced:
        enqueue_message_events(conn, announced, now=rows[0][2])
