"""Group commit: what concurrent callers hand in while a transaction runs is written by the next
one, together (docs/decisions/0001-database-as-queue-and-one-writer.md).

Under load one commit (one fsync on SQLite, one WAL flush on PostgreSQL) serves many callers;
at rest a lone caller is written at once, with no timer adding latency. Every caller returns
only once its items are committed. When a group fails, its callers are retried one by one, so a
single bad item fails only the caller that brought it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from sqlalchemy import Connection

from tidings.store.engine import Database

T = TypeVar("T")

Write = Callable[[Connection, list[T]], None]


@dataclass(slots=True)
class _Submission(Generic[T]):
    items: Sequence[T]
    weight: int
    done: asyncio.Future[None] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class GroupCommit(Generic[T]):
    """Writes items with ``write(connection, items)`` in shared transactions that gather
    callers until they weigh ``max_items`` (one caller's items are never split).

    An item weighs 1 unless ``weigh`` says otherwise (an intake unit weighs its messages). A
    caller whose items weigh ``max_items`` or more is written alone, at once. ``committed``
    hears of every transaction that committed, with its items; it must not raise (the items
    are in).
    """

    def __init__(
        self,
        db: Database,
        write: Write[T],
        *,
        name: str,
        max_items: int = 5_000,
        weigh: Callable[[T], int] | None = None,
        committed: Callable[[list[T]], None] | None = None,
    ) -> None:
        self._db = db
        self._write = write
        self._name = name
        self._max_items = max_items
        self._weigh = weigh
        self._committed = committed
        self._queue: asyncio.Queue[_Submission[T]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=self._name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        while not self._queue.empty():  # what is still queued is written before the process goes
            await self._commit_settling([self._queue.get_nowait()])

    async def submit(self, items: Sequence[T]) -> None:
        """Returns once ``items`` are committed; raises if they could not be."""
        if not items:
            return
        weight = len(items) if self._weigh is None else sum(map(self._weigh, items))
        if self._task is None or weight >= self._max_items:
            await self._commit(list(items))
            return
        submission = _Submission(items, weight)
        await self._queue.put(submission)
        await submission.done

    async def _run(self) -> None:
        while True:
            group = [await self._queue.get()]
            size = group[0].weight
            while not self._queue.empty() and size < self._max_items:
                submission = self._queue.get_nowait()
                group.append(submission)
                size += submission.weight
            if len(group) == 1:
                await self._commit_settling(group)
                continue
            try:
                await self._commit([item for submission in group for item in submission.items])
            except Exception:
                for submission in group:
                    await self._commit_settling([submission])
                continue
            for submission in group:
                if not submission.done.done():
                    submission.done.set_result(None)

    async def _commit(self, items: list[T]) -> None:
        await self._db.transact(lambda conn: self._write(conn, items))
        if self._committed is not None:
            self._committed(items)

    async def _commit_settling(self, group: list[_Submission[T]]) -> None:
        """Commit and hand the outcome, success or error, to the callers waiting."""
        try:
            await self._commit([item for submission in group for item in submission.items])
        except Exception as exc:
            for submission in group:
                if not submission.done.done():
                    submission.done.set_exception(exc)
            return
        for submission in group:
            if not submission.done.done():
                submission.done.set_result(None)
