"""The message table as a queue (DESIGN §1): claims, leases, outcomes and receipts, all in SQL.

Plain sync functions over a Connection, run as whole transactions by ``Database.transact``.

Every status change made here goes through :func:`tidings.core.statuses.predecessors`, so the
forward-only rule holds whichever path the news arrives by, and is recorded by
:func:`insert_events`, which also queues its webhook deliveries in the same transaction.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import (
    Connection,
    bindparam,
    delete,
    insert,
    null,
    select,
    text,
    update,
)
from sqlalchemy.engine import Dialect

from tidings.core.events import ANNOUNCED_VALUES
from tidings.core.statuses import MessageStatus, predecessors
from tidings.store.bulk import insert_rows
from tidings.store.outbox import enqueue_message_events
from tidings.store.picks import among, picked
from tidings.store.schema import message_events, messages, pending_receipts

EVENT_COLUMNS = ("message_id", "status", "at", "code", "detail")

# Literal, not bound: SQLite and PostgreSQL only use a partial index when the query's predicate
# visibly matches the index's, and a bound parameter hides it.
_CLAIMABLE = text("messages.status IN ('scheduled', 'queued')")
_LEASED = text("messages.status = 'sending'")

# PostgreSQL NOTIFY channel that wakes the workers of every host when messages become due.
DUE_CHANNEL = "tidings_due"


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
    fallback_channel_id: str | None = None
    via_fallback: bool = False
    template: str | None = None  # the WhatsApp template as JSON text, sent instead of the body


@dataclass(frozen=True, slots=True)
class ReceiptUpdate:
    channel_id: str
    provider_message_id: str
    status: MessageStatus
    code: str | None = None
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened to one claimed message; written back in batches."""

    message_id: str
    status: MessageStatus  # sent | queued (retry) | failed | expired
    provider_message_id: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    due_at: int | None = None  # next attempt, for a retry
    to_fallback: bool = False  # requeue on the message's fallback channel, with fresh attempts
    channel_id: str | None = None  # the channel that sent it (matches receipts to a `sent`)
    # A delivery receipt that arrived before this `sent` outcome was written: both are written
    # as one row update (and two events), saving the receipt its own lookup and update.
    receipt: ReceiptUpdate | None = None

    def final(self) -> tuple[str, str | None, str | None]:
        """The status, error code and error text the row ends with."""
        if self.receipt is None:
            return self.status.value, self.error_code, self.error_message
        if self.receipt.status is MessageStatus.DELIVERED:
            return self.receipt.status.value, None, None
        return self.receipt.status.value, self.receipt.code, self.receipt.detail

    def events(self, now: int) -> list[tuple[str, str, int, str | None, str | None]]:
        sent = (self.message_id, self.status.value, self.at or now, self.error_code, self.error_message)
        if self.receipt is None:
            return [sent]
        r = self.receipt
        return [sent, (self.message_id, r.status.value, now, r.code, r.detail)]

    at: int | None = None  # when it happened (the provider's answer); default: when written
    # False when the provider was never called (circuit open, no rate-limit slot, shutdown):
    # the claim's attempt is given back so waiting never uses up a message's attempts.
    counts_attempt: bool = True


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
        .where(picked(conn, messages.c.id, due))
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
            messages.c.fallback_channel_id,
            messages.c.via_fallback,
            messages.c.template,
        )
    )
    claimed = [ClaimedMessage(*row) for row in conn.execute(claim)]
    if claimed:
        insert_events(conn, [(m.id, MessageStatus.SENDING.value, now, None, None) for m in claimed])
    return claimed


def notify_due(conn: Connection) -> None:
    """Wake listening workers when this transaction commits (PostgreSQL; a no-op on SQLite,
    where the one dispatcher lives in the writing process and is woken in memory)."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"NOTIFY {DUE_CHANNEL}")


def renew_leases(conn: Connection, *, worker: str, lease_until: int) -> int:
    """Extend every lease this worker holds: a live worker's messages are never reclaimed, however
    long they wait for a rate-limit slot or a slow provider. Returns how many were renewed."""
    renewed = conn.execute(
        update(messages).where(_LEASED, messages.c.lease_owner == worker).values(lease_until=lease_until)
    )
    return int(renewed.rowcount or 0)


def reclaim_expired_leases(conn: Connection, *, now: int, limit: int = 1000) -> list[str]:
    """Put messages whose worker stopped renewing its lease back in the queue.

    The provider may already have taken them: each reclaimed message is a possible duplicate,
    which the caller counts.
    """
    stale = select(messages.c.id).where(_LEASED, messages.c.lease_until < now).limit(limit)
    reclaim = (
        update(messages)
        .where(picked(conn, messages.c.id, stale), _LEASED)
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
    if conn.dialect.name == "postgresql":
        held = _update_held_postgresql(conn, worker, outcomes, now)
        written = [o for o in outcomes if o.message_id in held]
    else:
        written = _update_held_sqlite(conn, worker, outcomes, now)
    if not written:
        return []
    moved = [o.message_id for o in written if o.to_fallback]
    if moved:
        conn.execute(
            update(messages)
            .where(messages.c.id.in_(bindparam("ids", expanding=True)))
            .where(messages.c.fallback_channel_id.is_not(None))
            .values(channel_id=messages.c.fallback_channel_id, via_fallback=True, attempts=0),
            {"ids": moved},
        )
    # In two steps so each message's `sent` is the newest event when its webhook is queued,
    # then the receipt's status (the outbox announces a message's newest event).
    insert_events(conn, [o.events(now)[0] for o in written])
    with_receipts = [o.events(now)[1] for o in written if o.receipt is not None]
    if with_receipts:
        insert_events(conn, with_receipts)
    _apply_early_receipts(conn, written, now)
    return written


def _apply_early_receipts(conn: Connection, written: Sequence[Outcome], now: int) -> None:
    """Receipts kept because they beat these outcomes to the database, applied now.

    A provider that calls back at once (Twilio does within milliseconds) often gets its status
    callback in before the send's outcome is flushed; waiting for the once-a-second sweep held
    such messages in `sent` and capped the sweep at its batch size per second (measured: a
    Twilio channel at a fake fell to ~130 messages a second).
    """
    sent = {
        (o.channel_id, o.provider_message_id): o.message_id
        for o in written
        if o.provider_message_id and o.channel_id and o.receipt is None
    }
    if not sent:
        return
    pids = sorted({pid for _, pid in sent})
    kept = conn.execute(
        select(pending_receipts).where(among(conn, pending_receipts.c.provider_message_id, pids))
    ).all()
    matched = [
        (sent[(row.channel_id, row.provider_message_id)], _kept_receipt(row._mapping))
        for row in kept
        if (row.channel_id, row.provider_message_id) in sent
    ]
    if matched:
        _advance(conn, matched, now)
        done = [row.id for row in kept if (row.channel_id, row.provider_message_id) in sent]
        conn.execute(delete(pending_receipts).where(pending_receipts.c.id.in_(done)))


def _kept_receipt(row: Mapping[Any, Any]) -> ReceiptUpdate:
    return ReceiptUpdate(
        row["channel_id"],
        row["provider_message_id"],
        MessageStatus(row["status"]),
        row["code"],
        row["detail"],
    )


# One statement for a whole batch: row-at-a-time UPDATEs cost PostgreSQL a statement execution
# each (record_outcomes was 40 % of the queue's database time at 500 rows per flush, measured).
# The lease check is in the same statement, so no separate SELECT … FOR UPDATE pass is needed.
_RECORD_POSTGRESQL = text(
    """
    UPDATE messages AS m SET
        status = v.status,
        provider_message_id = v.provider_id,
        error_code = v.code,
        error_message = v.error,
        due_at = v.due,
        attempts = m.attempts - v.refund,
        lease_owner = NULL,
        lease_until = NULL,
        updated_at = :now
    FROM unnest(
        CAST(:ids AS text[]), CAST(:statuses AS text[]), CAST(:provider_ids AS text[]),
        CAST(:codes AS text[]), CAST(:errors AS text[]), CAST(:dues AS bigint[]),
        CAST(:refunds AS integer[])
    ) AS v(id, status, provider_id, code, error, due, refund)
    WHERE m.id = v.id AND m.status = 'sending' AND m.lease_owner = :worker
    RETURNING m.id
    """
)


def _update_held_postgresql(conn: Connection, worker: str, outcomes: Sequence[Outcome], now: int) -> set[str]:
    """Write the outcomes of messages this worker still holds; the ids written."""
    held: set[str] = set()
    for start in range(0, len(outcomes), 1000):
        chunk = sorted(outcomes[start : start + 1000], key=lambda o: o.message_id)
        rows = conn.execute(
            _RECORD_POSTGRESQL,
            {
                "now": now,
                "worker": worker,
                "ids": [o.message_id for o in chunk],
                "statuses": [o.final()[0] for o in chunk],
                "provider_ids": [o.provider_message_id for o in chunk],
                "codes": [o.final()[1] for o in chunk],
                "errors": [o.final()[2] for o in chunk],
                "dues": [o.due_at for o in chunk],
                "refunds": [0 if o.counts_attempt else 1 for o in chunk],
            },
        )
        held.update(row[0] for row in rows)
    return held


@cache
def _record_sqlite(dialect: Dialect) -> tuple[str, tuple[str, ...]]:
    """The outcome UPDATE, compiled once, and its parameters' order: executed on the driver
    directly, since SQLAlchemy's per-row parameter handling cost more than SQLite's update
    (a fifth of the gateway's CPU under a stream of Twilio sends, measured)."""
    compiled = (
        update(messages)
        .where(messages.c.id == bindparam("b_id"))
        .values(
            status=bindparam("b_status"),
            provider_message_id=bindparam("b_provider_id"),
            error_code=bindparam("b_code"),
            error_message=bindparam("b_error"),
            due_at=bindparam("b_due"),
            attempts=messages.c.attempts - bindparam("b_refund"),
            lease_owner=null(),
            lease_until=null(),
            updated_at=bindparam("b_now"),
        )
        .compile(dialect=dialect)
    )
    return str(compiled), tuple(compiled.positiontup or ())


def _update_held_sqlite(
    conn: Connection, worker: str, outcomes: Sequence[Outcome], now: int
) -> list[Outcome]:
    """SQLite runs executemany in C against one prepared statement: row-at-a-time is cheap there,
    and the writer lock makes the held-check and the update atomic."""
    ids = [o.message_id for o in outcomes]
    held_query = (
        select(messages.c.id)
        .where(messages.c.id.in_(bindparam("ids", expanding=True)), _LEASED)
        .where(messages.c.lease_owner == worker)
    )
    held: set[str] = set()
    for start in range(0, len(ids), 1000):
        chunk = ids[start : start + 1000]
        held.update(row[0] for row in conn.execute(held_query, {"ids": chunk}))
    written = [o for o in outcomes if o.message_id in held]
    if not written:
        return []
    statement, order = _record_sqlite(conn.dialect)
    rows = []
    for o in written:
        status, code, error = o.final()
        values = {
            "b_id": o.message_id,
            "b_status": status,
            "b_provider_id": o.provider_message_id,
            "b_code": code,
            "b_error": error,
            "b_due": o.due_at,
            "b_refund": 0 if o.counts_attempt else 1,
            "b_now": now,
        }
        rows.append(tuple(values[name] for name in order))
    conn.exec_driver_sql(statement, rows)
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
    matched = [(row["message_id"], _kept_receipt(row)) for row in rows]
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


def insert_events(
    conn: Connection,
    rows: Sequence[tuple[str, str, int, str | None, str | None]],
    *,
    quiet: Collection[str] = (),
) -> None:
    """Append status events: (message id, status, at, code, detail); all rows of one call share
    their time. Announced ones (core.events) are queued for webhook delivery in this transaction,
    which is what makes the outbox transactional: every path that changes a status comes here.
    Messages in ``quiet`` are recorded but not announced (inbound routed to a conversation or a
    proxy session, which announce it their own way).
    """
    insert_rows(conn, message_events, EVENT_COLUMNS, rows)
    announced = [row[0] for row in rows if row[1] in ANNOUNCED_VALUES and row[0] not in quiet]
    if announced:
        enqueue_message_events(conn, announced, now=rows[0][2])
