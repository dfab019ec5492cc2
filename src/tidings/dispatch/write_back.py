"""What the dispatcher writes in one transaction: a flush of send outcomes and receipts, and
a sweep of expired leases, early receipts and idempotency keys."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from sqlalchemy import Connection

from tidings.core.statuses import MessageStatus
from tidings.store import queue
from tidings.store.idempotency import purge_expired
from tidings.store.queue import Outcome
from tidings.store.receipts import ReceiptUpdate, apply_receipts, reconcile_pending_receipts


def write_back(
    conn: Connection,
    worker: str,
    outcomes: Sequence[Outcome],
    receipts: Sequence[ReceiptUpdate],
    now: int,
) -> tuple[int, int]:
    """Outcomes first, then receipts, so a receipt finds the provider id its send just wrote."""
    paired, unpaired = pair_receipts(outcomes, receipts)
    applied = kept = 0
    receipts = list(unpaired)
    for start in range(0, len(paired), 1000):
        chunk = paired[start : start + 1000]
        written = {o.message_id for o in queue.record_outcomes(conn, worker=worker, outcomes=chunk, now=now)}
        for outcome in chunk:
            if outcome.receipt is None:
                continue
            if outcome.message_id in written:
                applied += 1
            else:  # the lease was lost: the receipt is matched (or kept) on its own, never dropped
                receipts.append(outcome.receipt)
    for start in range(0, len(receipts), 1000):
        done, held = apply_receipts(conn, receipts[start : start + 1000], now=now)
        applied += done
        kept += held
    return applied, kept


def pair_receipts(
    outcomes: Sequence[Outcome], receipts: Sequence[ReceiptUpdate]
) -> tuple[list[Outcome], list[ReceiptUpdate]]:
    """Attach each receipt to the `sent` outcome it reports on when both are in this flush
    (providers that confirm at once, SMPP receipts racing their submit_sm_resp)."""
    if not receipts:
        return list(outcomes), []
    by_provider_id = {
        (o.channel_id, o.provider_message_id): i
        for i, o in enumerate(outcomes)
        if o.status is MessageStatus.SENT and o.provider_message_id is not None and o.channel_id
    }
    paired = list(outcomes)
    rest: list[ReceiptUpdate] = []
    for receipt in receipts:
        i = by_provider_id.pop((receipt.channel_id, receipt.provider_message_id), None)
        if i is None:
            rest.append(receipt)
        else:
            paired[i] = dataclasses.replace(paired[i], receipt=receipt)
    return paired, rest


def sweep(conn: Connection, *, now: int) -> tuple[list[str], int]:
    purge_expired(conn, now=now)
    return queue.reclaim_expired_leases(conn, now=now), reconcile_pending_receipts(conn, now=now)
