"""Delivery receipts as every fake sends them, HTTP and SMPP alike: in the background, so closing
a fake stops those still in flight, and, for messages no callback reports, by the time elapsed."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Coroutine
from typing import Any

# Without callbacks, the shortest time a message's status takes per step (polling fakes).
SETTLE_STEP = 0.1


class ReceiptTasks:
    """What a fake is still delivering in the background, one task each: receipts and callbacks,
    and the SMSC's answers it holds back."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, work: Coroutine[Any, Any, Any]) -> None:
        """Run ``work`` in the background until it ends or :meth:`cancel` stops it."""
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def cancel(self) -> None:
        """Stop every receipt still in flight and wait until each has stopped."""
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


def steps_due(created_at: float, callback_delay: float) -> int:
    """How many status steps a message taken at ``created_at`` has made by now when no callback
    reports it: one per ``callback_delay``, at least :data:`SETTLE_STEP` seconds each."""
    return int((time.time() - created_at) / max(callback_delay, SETTLE_STEP))
