"""What intake writes (a batch, its messages, their first events, the idempotency answer) and the
writer: the group commit of store/group_commit.py, so concurrent sends share one transaction and
a failed group is retried unit by unit (a lost idempotency-key race fails only its request)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, insert, text

from tidings.store.bulk import insert_rows
from tidings.store.engine import Database
from tidings.store.group_commit import GroupCommit
from tidings.store.idempotency import store_answers
from tidings.store.message_events import EVENT_COLUMNS
from tidings.store.queue import notify_due
from tidings.store.schema import batches, message_events, messages

# Intake rows are tuples in these column orders (cheaper than dicts at 100,000 rows). Free-form
# messages leave ``template`` out (NULL); rows of a template send append it. Likewise
# ``contact_id``: appended (after any template) only by sends with contact recipients, so rows of
# plain addresses carry nothing for it. And ``callback_format``, last, only by sends that ask for
# a non-native status callback format (the Twilio surface's), so native rows pay nothing for it.
_OPTIONAL_COLUMNS = ("template", "contact_id", "callback_format")
MESSAGE_COLUMNS = tuple(column.name for column in messages.columns if column.name not in _OPTIONAL_COLUMNS)
TEMPLATE_MESSAGE_COLUMNS = (*MESSAGE_COLUMNS, "template")


def message_columns(
    *, templated: bool, with_contacts: bool, with_callback_format: bool = False
) -> tuple[str, ...]:
    """The column order of intake rows with these optional values appended."""
    base = TEMPLATE_MESSAGE_COLUMNS if templated else MESSAGE_COLUMNS
    if with_contacts:
        base = (*base, "contact_id")
    return (*base, "callback_format") if with_callback_format else base


log = logging.getLogger(__name__)

# Units of this many messages or more are written in their own transaction rather than joining a group.
_GROUP_MESSAGE_LIMIT = 5_000
# After this many new rows PostgreSQL's planner statistics are refreshed at once: with stale
# ones it estimates a handful of due rows and sorts the whole backlog on every claim (83 ms per
# claim at 100,000 rows, measured) instead of walking the claim index.
_ANALYZE_AFTER_ROWS = 10_000


@dataclass(slots=True)
class IntakeUnit:
    """Everything one request writes: a batch, its messages and their first events."""

    batch: dict[str, Any]
    messages: list[tuple[Any, ...]]  # MESSAGE_COLUMNS order
    events: list[tuple[Any, ...]]  # EVENT_COLUMNS order
    idempotency: dict[str, Any] | None = None
    templated: bool = False  # rows in TEMPLATE_MESSAGE_COLUMNS order
    with_contacts: bool = False  # rows end with contact_id (see message_columns)
    with_callback_format: bool = False  # then with callback_format


class IntakeWriter:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._commits = GroupCommit(
            db,
            _insert_units,
            name="intake-writer",
            max_items=_GROUP_MESSAGE_LIMIT,
            weigh=_message_count,
            committed=self._committed,
        )
        self._background: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        self._commits.start()

    async def stop(self) -> None:
        await self._commits.stop()  # anything still queued is written before the process goes
        if self._background:
            await asyncio.wait(self._background, timeout=30)

    async def write(self, unit: IntakeUnit) -> None:
        """Persist one unit; returns when it is committed, raises if it could not be."""
        await self._commits.submit([unit])

    def _committed(self, units: list[IntakeUnit]) -> None:
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


def _message_count(unit: IntakeUnit) -> int:
    return len(unit.messages)


def _insert_units(conn: Connection, units: list[IntakeUnit]) -> None:
    # First, so a duplicate key fails before any bulk work is done.
    store_answers(conn, [u.idempotency for u in units if u.idempotency is not None])
    conn.execute(insert(batches), [u.batch for u in units])
    layouts: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
    for u in units:
        columns = message_columns(
            templated=u.templated, with_contacts=u.with_contacts, with_callback_format=u.with_callback_format
        )
        layouts.setdefault(columns, []).extend(u.messages)
    event_rows = [row for u in units for row in u.events]
    for columns, rows in layouts.items():
        insert_rows(conn, messages, columns, rows)
    insert_rows(conn, message_events, EVENT_COLUMNS, event_rows)
    notify_due(conn)
