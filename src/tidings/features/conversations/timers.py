"""The idle timers of conversations: a sweep in every worker process moves conversations whose
timers fired from active to inactive, and to closed (sending the close message first)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import Connection

from tidings.features.conversations import repository as repo
from tidings.features.conversations.posting import close
from tidings.store.due_sweep import DueSweep
from tidings.store.engine import Database

log = logging.getLogger(__name__)

# A timer fires at most this late; one indexed query per period when nothing is due.
SWEEP_SECONDS = 1.0
# Conversations handled per transaction; a backlog is worked through period after period.
SWEEP_BATCH = 200


def conversation_timers(db: Database, *, on_queued: Callable[[], None] | None = None) -> DueSweep:
    """The sweep of idle timers, run wherever messages are dispatched."""
    return DueSweep("conversation timer sweep", db, sweep_due, period=SWEEP_SECONDS, on_queued=on_queued)


def sweep_due(conn: Connection, *, now: int, skip_locked: bool) -> int:
    """Apply the timers that fired by ``now``, closing wins when both are due; how many
    conversations were closed (each may queue its close message)."""
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
    return closed
