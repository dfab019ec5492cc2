"""The expiry sweep: worker processes end proxy sessions whose time ran out, so their pool
numbers free up and ``proxy.session.ended`` goes out even when nobody writes again."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from tidings.core.clock import now_ms
from tidings.features.proxy.lifecycle import expire_due
from tidings.store.engine import Database

log = logging.getLogger(__name__)

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
        self._period = period
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="proxy-expiry")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def sweep(self) -> int:
        """One pass; how many sessions were ended."""
        now = now_ms()
        skip_locked = not self._db.is_sqlite
        ended = await self._db.transact(lambda conn: expire_due(conn, now=now, skip_locked=skip_locked))
        if ended and self._on_queued is not None:
            self._on_queued()  # end messages were queued
        return ended

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self._period)
            try:
                await self.sweep()
            except Exception:
                log.exception("proxy session expiry sweep failed; will retry")
