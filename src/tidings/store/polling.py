"""The queries of delivery-status polling (docs/providers.md): claiming due `sent` messages for
one worker, applying what the provider said, purging finished polls. Sync functions over a
Connection for ``Database.transact``; the same SQL on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from sqlalchemy import BigInteger, Connection, case, delete, literal, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from tidings.store.receipts import ReceiptUpdate, apply_receipts
from tidings.store.schema import channels, messages, status_polls

# Literal, not bound, so both backends see that the partial index ix_messages_sent applies.
_SENT = text("messages.status = 'sent'")


@dataclass(frozen=True, slots=True)
class DuePoll:
    message_id: str
    provider_message_id: str


def polling_channels(conn: Connection, types: Collection[str]) -> list[tuple[str, str]]:
    """``(id, type)`` of the live channels of these types."""
    if not types:
        return []
    query = (
        select(channels.c.id, channels.c.type)
        .where(channels.c.deleted_at.is_(None), channels.c.type.in_(sorted(types)))
        .order_by(channels.c.id)
    )
    return [(row[0], row[1]) for row in conn.execute(query)]


def claim_due_polls(
    conn: Connection,
    *,
    channel_id: str,
    now: int,
    sent_before: int,
    sent_after: int,
    first_gap_ms: int,
    max_gap_ms: int,
    limit: int,
    skip_locked: bool,
) -> list[DuePoll]:
    """Claim up to ``limit`` of the channel's messages to poll now; return them.

    Due: `sent` between ``sent_after`` (the receipt window's start) and ``sent_before`` (now
    minus the channel's poll delay), and never polled or due again. Claiming pushes each one's
    next poll back by its gap (``first_gap_ms`` after the first poll, then doubling up to
    ``max_gap_ms``) in this same transaction: that is both "ask again later" for an answer that
    is not final and the retry time if this worker dies mid-poll, so a poll costs one write.

    The writes are conditional (``ON CONFLICT DO NOTHING`` for a first poll, ``next_poll_at <=
    now`` for a later one), so of two workers that picked the same row only one claims it; on
    PostgreSQL ``FOR UPDATE SKIP LOCKED`` makes them pick different rows in the first place.
    """
    due = (
        select(messages.c.id, messages.c.provider_message_id, status_polls.c.message_id)
        .select_from(messages.outerjoin(status_polls, status_polls.c.message_id == messages.c.id))
        .where(
            _SENT,
            messages.c.channel_id == channel_id,
            messages.c.updated_at <= sent_before,
            messages.c.updated_at > sent_after,
            messages.c.provider_message_id.is_not(None),
            or_(status_polls.c.next_poll_at.is_(None), status_polls.c.next_poll_at <= now),
        )
        .order_by(messages.c.updated_at)
        .limit(limit)
    )
    if skip_locked:
        due = due.with_for_update(skip_locked=True, of=messages)
    rows = conn.execute(due).all()
    if not rows:
        return []
    provider_ids = {row[0]: row[1] for row in rows}
    first = [row[0] for row in rows if row[2] is None]
    again = [row[0] for row in rows if row[2] is not None]
    claimed: list[str] = []
    if first:
        insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
        first_polls = (
            insert(status_polls)
            .values(
                [
                    {"message_id": i, "next_poll_at": now + first_gap_ms, "gap_ms": first_gap_ms, "polls": 1}
                    for i in sorted(first)
                ]
            )
            .on_conflict_do_nothing(index_elements=[status_polls.c.message_id])
            .returning(status_polls.c.message_id)
        )
        claimed.extend(row[0] for row in conn.execute(first_polls))
    if again:
        # Typed binds: a plain int here would go to asyncpg as int32, too small for epoch ms.
        cap = literal(max_gap_ms, BigInteger)
        gap = case((status_polls.c.gap_ms * 2 > cap, cap), else_=status_polls.c.gap_ms * 2)
        later_polls = (
            update(status_polls)
            .where(status_polls.c.message_id.in_(sorted(again)), status_polls.c.next_poll_at <= now)
            .values(next_poll_at=gap + literal(now, BigInteger), gap_ms=gap, polls=status_polls.c.polls + 1)
            .returning(status_polls.c.message_id)
        )
        claimed.extend(row[0] for row in conn.execute(later_polls))
    return [DuePoll(message_id, provider_ids[message_id]) for message_id in sorted(claimed)]


def apply_polled_receipts(
    conn: Connection, receipts: Sequence[ReceiptUpdate], message_ids: Sequence[str], *, now: int
) -> int:
    """Apply final answers through the receipts path (forward-only statuses, events, webhooks)
    and drop those messages' polls; how many messages moved."""
    applied, _ = apply_receipts(conn, receipts, now=now)
    if message_ids:
        conn.execute(delete(status_polls).where(status_polls.c.message_id.in_(list(message_ids))))
    return applied


def purge_finished_polls(conn: Connection, *, sent_after: int, limit: int = 1000) -> int:
    """Drop polls whose message has left `sent` (a callback answered after a first poll) or
    the receipt window; how many."""
    finished = (
        select(status_polls.c.message_id)
        .select_from(status_polls.outerjoin(messages, messages.c.id == status_polls.c.message_id))
        .where(
            or_(
                messages.c.id.is_(None),
                messages.c.status != "sent",
                messages.c.updated_at <= sent_after,
            )
        )
        .limit(limit)
    )
    purged = conn.execute(
        delete(status_polls).where(status_polls.c.message_id.in_(finished.scalar_subquery()))
    )
    return int(purged.rowcount or 0)
