"""Delivery receipts against the message table: applied where the forward-only rule allows,
kept in ``pending_receipts`` while their message's provider id is not written yet, and applied
from there once it is (with the outcome, or by the dispatchers' sweep).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, select, update

from tidings.core.statuses import MessageStatus, predecessors
from tidings.store.message_events import insert_events
from tidings.store.picks import among
from tidings.store.schema import messages, pending_receipts


@dataclass(frozen=True, slots=True)
class ReceiptUpdate:
    channel_id: str
    provider_message_id: str
    status: MessageStatus
    code: str | None = None
    detail: str | None = None


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


def apply_kept_receipts(conn: Connection, sent: Mapping[tuple[str, str], str], now: int) -> None:
    """Receipts kept because they beat their send's outcome to the database, applied now that
    the outcomes are written: ``sent`` maps (channel id, provider message id) to message id.

    A provider that calls back at once (Twilio does within milliseconds) often gets its status
    callback in before the send's outcome is flushed; waiting for the once-a-second sweep held
    such messages in `sent` and capped the sweep at its batch size per second (measured: a
    Twilio channel at a fake fell to ~130 messages a second).
    """
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
