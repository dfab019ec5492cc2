"""A due-time sweep: every period, one transaction applies what fell due by now (conversation
timers, proxy session expiry), in every worker process."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from sqlalchemy import Connection

from tidings.core.clock import now_ms
from tidings.periodic import Periodic
from tidings.store.engine import Database


class DueWork(Protocol):
    def __call__(self, conn: Connection, *, now: int, skip_locked: bool) -> int:
        """Handle what is due by ``now`` (a bounded batch: a backlog is worked through period
        after period); how many messages it queued."""
        ...


class DueSweep:
    """Started next to the dispatcher (``tidings serve`` and ``tidings worker``); several workers
    share the sweep through row locks (``SKIP LOCKED`` on PostgreSQL; SQLite has one writer)."""

    def __init__(
        self,
        name: str,
        db: Database,
        apply: DueWork,
        *,
        period: float,
        on_queued: Callable[[], None] | None = None,
    ) -> None:
        self._db = db
        self._apply = apply
        self._on_queued = on_queued
        self._periodic = Periodic(name, period, self.sweep)

    def start(self) -> None:
        self._periodic.start()

    async def stop(self) -> None:
        await self._periodic.stop()

    async def sweep(self) -> int:
        """One pass; how many messages it queued (the dispatcher is woken for them)."""
        now = now_ms()
        skip_locked = not self._db.is_sqlite
        queued = await self._db.transact(lambda conn: self._apply(conn, now=now, skip_locked=skip_locked))
        if queued and self._on_queued is not None:
            self._on_queued()
        return queued
