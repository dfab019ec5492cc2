"""The idle timers of conversations: a sweep in every worker process moves conversations whose
timers fired from active to inactive, and to closed (sending the close message first)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import Connection

from tidings.core.clock import now_ms
from tidings.features.conversations import repository as repo
from tidings.features.conversations.posting import close
from tidings.periodic import Periodic
from tidings.store.engine import Database

log = logging.getLogger(__name__)

# A timer fires at most this late; one indexed query per period when nothing is due.
SWEEP_SECONDS = 1.0
# Conversations handled per transaction; a backlog is worked through period after period.
SWEEP_BATCH = 200


class ConversationTimers:
    """Started next to the dispatcher (``tidings serve`` and ``tidings worker``); several
    workers share the sweep through row locks (``SKIP LOCKED`` on PostgreSQL)."""

    def __init__(
        self, db: Database, *, on_queued: Callable[[], None] | None = None, period: float = SWEEP_SECONDS
    ) -> None:
        self._db = db
        self._on_queued = on_queued
        self._periodic = Periodic("conversation timer sweep", period, self.sweep)

    def start(self) -> None:
        self._periodic.start()

    async def stop(self) -> None:
        await self._periodic.stop()

    async def sweep(self) -> tuple[int, int]:
        """One pass: ``(made inactive, closed)``."""
        now = now_ms()
        skip_locked = not self._db.is_sqlite
        moved = await self._db.transact(lambda conn: sweep_due(conn, now=now, skip_locked=skip_locked))
        if moved[1] and self._on_queued is not None:
            self._on_queued()  # close messages were queued
        return moved


def sweep_due(conn: Connection, *, now: int, skip_locked: bool) -> tuple[int, int]:
    """Apply the timers that fired by ``now``; closing wins when both are due."""
    inactive = closed = 0
    for conversation in repo.due_conversations(conn, now=now, limit=SWEEP_BATCH, skip_locked=skip_locked):
        closes_at = conversation["closes_at"]
        if closes_at is not None and closes_at <= now and conversation["state"] != repo.CLOSED:
            close(conn, conversation, now=now)
            closed += 1
        elif conversation["state"] == repo.ACTIVE:
            repo.update_conversation(
                conn,
                conversation["id"],
                {
                    "state": repo.INACTIVE,
                    "inactive_at": None,
                    "updated_at": max(now, conversation["updated_at"]),
                },
            )
            inactive += 1
        else:  # a deadline that no longer applies: cleared, so the row leaves the index
            stale = {"inactive_at": None}
            if conversation["state"] == repo.CLOSED:
                stale["closes_at"] = None
            repo.update_conversation(conn, conversation["id"], stale)
    if inactive or closed:
        log.info("conversation timers fired", extra={"inactive": inactive, "closed": closed})
    return inactive, closed
