"""Group commit for intake (DESIGN §2): concurrent requests share one transaction.

Each request hands its rows to one writer task and waits. Whatever has queued up while the
previous commit ran is written together, so under load one fsync serves many requests and at
rest a lone request is written at once (no timer adds latency). If a group fails, its units
are retried one by one so a single bad unit (an idempotency-key race) fails only its request.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.store.bulk import insert_rows
from tidings.store.engine import Database
from tidings.store.idempotency import store_answers
from tidings.store.message_events import EVENT_COLUMNS
from tidings.store.queue import notify_due
from tidings.store.schema import batches, message_events, messages, service_windows

# Intake rows are tuples in these column orders (cheaper than dicts at 100,000 rows). Free-form
# messages leave ``template`` out (NULL); rows of a template send append it. Likewise
# ``contact_id``: appended (after any template) only by sends with contact recipients, so rows of
# plain addresses carry nothing for it.
_OPTIONAL_COLUMNS = ("template", "contact_id")
MESSAGE_COLUMNS = tuple(column.name for column in messages.columns if column.name not in _OPTIONAL_COLUMNS)
TEMPLATE_MESSAGE_COLUMNS = (*MESSAGE_COLUMNS, "template")


def message_columns(*, templated: bool, with_contacts: bool) -> tuple[str, ...]:
    """The column order of intake rows with these optional values appended."""
    base = TEMPLATE_MESSAGE_COLUMNS if templated else MESSAGE_COLUMNS
    return (*base, "contact_id") if with_contacts else base


log = logging.getLogger(__name__)

# Units bigger than this are written in their own transaction rather than joining a group.
_GROUP_MESSAGE_LIMIT = 5_000
# After this many new rows PostgreSQL's planner statistics are refreshed at once: with stale
# ones it estimates a handful of due rows and sorts the whole backlog on every claim (83 ms per
# claim at 100,000 rows, measured) instead of walking the claim index.
_ANALYZE_AFTER_ROWS = 10_000


@dataclass
class IntakeUnit:
    """Everything one request writes: a batch, its messages and their first events."""

    batch: dict[str, Any]
    messages: list[tuple[Any, ...]]  # MESSAGE_COLUMNS order
    events: list[tuple[Any, ...]]  # EVENT_COLUMNS order
    idempotency: dict[str, Any] | None = None
    templated: bool = False  # rows in TEMPLATE_MESSAGE_COLUMNS order
    with_contacts: bool = False  # rows end with contact_id (see message_columns)
    done: asyncio.Future[None] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class IntakeWriter:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._queue: asyncio.Queue[IntakeUnit] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="intake-writer")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        # Anything still queued is written before the process goes.
        while not self._queue.empty():
            await self._commit_settling([self._queue.get_nowait()])
        if self._background:
            await asyncio.wait(self._background, timeout=30)

    async def write(self, unit: IntakeUnit) -> None:
        """Persist one unit; returns when it is committed, raises if it could not be."""
        if self._task is None or len(unit.messages) > _GROUP_MESSAGE_LIMIT:
            await self._commit([unit])
            return
        await self._queue.put(unit)
        await unit.done

    async def _run(self) -> None:
        while True:
            group = [await self._queue.get()]
            size = len(group[0].messages)
            while not self._queue.empty() and size < _GROUP_MESSAGE_LIMIT:
                unit = self._queue.get_nowait()
                group.append(unit)
                size += len(unit.messages)
            if len(group) == 1:
                await self._commit_settling(group)
                continue
            try:
                await self._commit(group)
            except Exception:
                for unit in group:
                    await self._commit_settling([unit])
                continue
            for unit in group:
                if not unit.done.done():
                    unit.done.set_result(None)

    async def _commit(self, units: list[IntakeUnit]) -> None:
        await self._db.transact(lambda conn: _insert_units(conn, units))
        if not self._db.is_sqlite and sum(len(u.messages) for u in units) >= _ANALYZE_AFTER_ROWS:
            # In the background: the rows are committed, so the answer must not wait for (or
            # fail with) the statistics refresh.
            task = asyncio.create_task(self._refresh_statistics())
            self._background.add(task)
            task.add_done_callback(self._background.discard)

    async def _refresh_statistics(self) -> None:
        try:
            await self._db.transact(lambda conn: conn.execute(text("ANALYZE messages")))
        except Exception as exc:
            log.warning("ANALYZE messages failed: %s", type(exc).__name__)

    async def _commit_settling(self, units: list[IntakeUnit]) -> None:
        """Commit and hand the outcome, success or error, to the units' waiters."""
        try:
            await self._commit(units)
        except Exception as exc:
            for unit in units:
                if not unit.done.done():
                    unit.done.set_exception(exc)
            return
        for unit in units:
            if not unit.done.done():
                unit.done.set_result(None)


def _insert_units(conn: Connection, units: list[IntakeUnit]) -> None:
    # First, so a duplicate key fails before any bulk work is done.
    store_answers(conn, [u.idempotency for u in units if u.idempotency is not None])
    conn.execute(insert(batches), [u.batch for u in units])
    layouts: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
    for u in units:
        columns = message_columns(templated=u.templated, with_contacts=u.with_contacts)
        layouts.setdefault(columns, []).extend(u.messages)
    event_rows = [row for u in units for row in u.events]
    for columns, rows in layouts.items():
        insert_rows(conn, messages, columns, rows)
    insert_rows(conn, message_events, EVENT_COLUMNS, event_rows)
    notify_due(conn)


_OPEN_WINDOWS = select(service_windows.c.channel_id, service_windows.c.address).where(
    service_windows.c.address.in_(bindparam("addresses", expanding=True)),
    service_windows.c.channel_id.in_(bindparam("channels", expanding=True)),
    service_windows.c.last_inbound_at >= bindparam("since"),
)


async def read_open_windows(
    conn: AsyncConnection, pairs: set[tuple[str, str]], *, since: int
) -> set[tuple[str, str]]:
    """Which ``(channel_id, address)`` pairs had an inbound message at or after ``since``.

    One query per 1,000 addresses (bound-parameter limits), on the ``(channel_id, address)`` key.
    """
    channels = sorted({channel_id for channel_id, _ in pairs})
    addresses = sorted({address for _, address in pairs})
    found: set[tuple[str, str]] = set()
    for start in range(0, len(addresses), 1000):
        chunk = addresses[start : start + 1000]
        rows = await conn.execute(_OPEN_WINDOWS, {"addresses": chunk, "channels": channels, "since": since})
        found.update((channel_id, address) for channel_id, address in rows)
    return found & pairs
