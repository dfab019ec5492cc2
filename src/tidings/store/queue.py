"""The message table as a queue: claims, leases and outcomes, all in SQL
(docs/decisions/0001-database-as-queue-and-one-writer.md).

Plain sync functions over a Connection, run as whole transactions by ``Database.transact``.
Receipts are :mod:`tidings.store.receipts`. Every status change made here is recorded by
:func:`tidings.store.message_events.insert_events`, which also queues its webhook deliveries in the same
transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from sqlalchemy import (
    Connection,
    bindparam,
    null,
    select,
    text,
    update,
)
from sqlalchemy.engine import Dialect

from tidings.core.statuses import MessageStatus
from tidings.store.message_events import insert_events
from tidings.store.outbox import SENDING_TARGETS, enqueue_message_events
from tidings.store.picks import picked
from tidings.store.receipts import ReceiptUpdate, apply_kept_receipts
from tidings.store.schema import messages

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
    callback_format: str | None = None  # its status_callback's format (core.events); None: native


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
            messages.c.callback_format,
        )
    )
    claimed = [ClaimedMessage(*row) for row in conn.execute(claim)]
    if claimed:
        insert_events(conn, [(m.id, MessageStatus.SENDING.value, now, None, None) for m in claimed])
        # `sending` is not announced natively; a callback in Twilio's format hears it (once per
        # claim: a message given back and claimed again says it again).
        formatted = [m.id for m in claimed if m.callback_format is not None]
        if formatted:
            enqueue_message_events(conn, formatted, now=now, targets=SENDING_TARGETS)
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
    # Receipts kept because they beat these outcomes to the database, applied now.
    apply_kept_receipts(
        conn,
        {
            (o.channel_id, o.provider_message_id): o.message_id
            for o in written
            if o.provider_message_id and o.channel_id and o.receipt is None
        },
        now,
    )
    return written


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
