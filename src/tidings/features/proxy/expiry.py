"""The expiry sweep: worker processes end proxy sessions whose time ran out, so their pool
numbers free up and ``proxy.session.ended`` goes out even when nobody writes again."""

from __future__ import annotations

from collections.abc import Callable

from tidings.core.clock import now_ms
from tidings.features.proxy.lifecycle import expire_due
from tidings.periodic import Periodic
from tidings.store.engine import Database

# A session is ended at most this late by the sweep (a message to it ends it at once); one
# indexed query per period when nothing is due.
SWEEP_SECONDS = 1.0


class ProxyExpiry:
    """Started next to the dispatcher (``tidings serve`` and ``tidings worker``); several
    workers share the sweep through row locks (``SKIP LOCKED`` on PostgreSQL)."""

    def __init__(
        self, db: Database, *, on_queued: Callable[[], None] | None = None, period: float = SWEEP_SECONDS
    ) -> None:
        self._db = db
        self._on_queued = on_queued
        self._periodic = Periodic("proxy session expiry sweep", period, self.sweep)

    def start(self) -> None:
        self._periodic.start()

    async def stop(self) -> None:
        await self._periodic.stop()

    async def sweep(self) -> int:
        """One pass; how many sessions were ended."""
        now = now_ms()
        skip_locked = not self._db.is_sqlite
        ended = await self._db.transact(lambda conn: expire_due(conn, now=now, skip_locked=skip_locked))
        if ended and self._on_queued is not None:
            self._on_queued()  # end messages were queued
        return ended
