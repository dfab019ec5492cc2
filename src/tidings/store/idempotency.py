"""Idempotency-Key answers, kept 24 hours: one lookup and one rule for every POST.

The messages intake stores its answer in the same transaction as the batch; other POSTs store
theirs right after producing it. Both read it back through :func:`stored_answer`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, insert, select

from tidings.core.clock import now_ms
from tidings.errors import Unprocessable
from tidings.store.engine import Database
from tidings.store.schema import idempotency_keys

WINDOW_MS = 24 * 3600 * 1000


async def stored_answer(db: Database, account_id: str, key: str, request_hash: str) -> tuple[int, str] | None:
    """The (status, body) first given for this key within the window; a 422 if the key was used
    with another request; None when the key is new."""
    query = select(idempotency_keys).where(
        idempotency_keys.c.account_id == account_id,
        idempotency_keys.c.key == key,
        idempotency_keys.c.created_at >= now_ms() - WINDOW_MS,
    )
    async with db.read() as conn:
        row = (await conn.execute(query)).first()
    if row is None:
        return None
    if row.request_hash != request_hash:
        raise Unprocessable(
            "this Idempotency-Key was used with a different request", code="idempotency_key_reused"
        )
    return int(row.status_code), str(row.response_body)


def store_answers(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Insert answers, first dropping any expired row of the same key so the key can be reused."""
    if not rows:
        return
    horizon = now_ms() - WINDOW_MS
    for row in rows:
        conn.execute(
            delete(idempotency_keys).where(
                idempotency_keys.c.account_id == row["account_id"],
                idempotency_keys.c.key == row["key"],
                idempotency_keys.c.created_at < horizon,
            )
        )
    conn.execute(insert(idempotency_keys), rows)


def purge_expired(conn: Connection, *, now: int) -> int:
    """Delete answers past the window (the sweeper calls this); return how many."""
    result = conn.execute(delete(idempotency_keys).where(idempotency_keys.c.created_at < now - WINDOW_MS))
    return int(result.rowcount or 0)
