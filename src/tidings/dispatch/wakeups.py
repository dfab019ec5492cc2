"""Cross-process wake-ups on PostgreSQL: ``LISTEN`` for the ``NOTIFY`` an intake commit sends.

In scaled mode the API process that accepted a message is not the worker that sends it. The
intake transaction issues ``NOTIFY`` (delivered by PostgreSQL only if it commits), and every
worker listening here claims at once instead of at its next poll. A lost connection only costs
latency: the dispatcher's poll still finds every due message, so the listener reconnects with
back-off and never blocks dispatch.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

import asyncpg
from sqlalchemy.engine import make_url

from tidings.store.queue import DUE_CHANNEL

log = logging.getLogger(__name__)


class DueListener:
    def __init__(self, database_url: str, on_due: Callable[[], None]) -> None:
        url = make_url(database_url).set(drivername="postgresql")
        self._dsn = url.render_as_string(hide_password=False)
        self._on_due = on_due
        self._task: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="due-listener")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def _notified(self, *_args: object) -> None:
        self._on_due()

    async def _run(self) -> None:
        delay = 0.5
        while True:
            try:
                await self._listen_until_lost()
                delay = 0.5
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the driver's text can carry the DSN: name the kind only
                log.warning("wake-up listener lost its connection (%s); retrying", type(exc).__name__)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)

    async def _listen_until_lost(self) -> None:
        connection = await asyncpg.connect(self._dsn, timeout=10)
        try:
            lost = asyncio.Event()
            connection.add_termination_listener(lambda _conn: lost.set())
            await connection.add_listener(DUE_CHANNEL, self._notified)
            self.connected.set()
            # Anything committed while nobody was listening is found by this claim.
            self._on_due()
            await lost.wait()
            log.warning("wake-up listener lost its connection; reconnecting")
        finally:
            self.connected.clear()
            if not connection.is_closed():
                with contextlib.suppress(Exception):
                    await asyncio.shield(connection.close(timeout=2))
