"""A coroutine run every few seconds in the background until stopped (the workers' sweeps)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


class Periodic:
    """Runs ``work`` every ``period`` seconds from :meth:`start` to :meth:`stop`; a failed round
    is logged (without its arguments) and the next one runs as planned."""

    def __init__(self, name: str, period: float, work: Callable[[], Awaitable[object]]) -> None:
        self.name = name
        self.period = period
        self._work = work
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name=self.name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.period)
            try:
                await self._work()
            except Exception:
                log.exception("%s failed; will retry", self.name)
