"""The live stream: announced events of the caller's account tree, tailed from message_events.

It reads the database, not the dispatcher's memory, so it works in any process (an API process
in scaled mode runs no dispatcher) and resumes from a ``Last-Event-ID`` after a reconnect.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from sse_starlette import ServerSentEvent

from tidings.config import EventStreamSettings
from tidings.core.clock import now_ms
from tidings.core.events import event_id
from tidings.core.presenters import encode, event_payload
from tidings.core.tailing import Horizon
from tidings.core.tenancy import Principal
from tidings.features.event_stream import repository as repo
from tidings.metrics import EVENT_STREAMS
from tidings.store.engine import Database
from tidings.web.services import ServiceKey

# Event ids examined per poll: bounds one poll's work however far behind a stream starts.
WINDOW = 5_000


class EventStream:
    def __init__(self, db: Database, settings: EventStreamSettings) -> None:
        self._db = db
        self.settings = settings

    async def start_position(self, last_event_id: int | None) -> int:
        """Where a stream starts: after the client's last event, else after the newest event."""
        if last_event_id is not None:
            return last_event_id
        async with self._db.read() as conn:
            return await repo.latest_event_id(conn)

    async def events(self, principal: Principal, after: int) -> AsyncIterator[ServerSentEvent]:
        """Announced events after ``after`` as they commit, for as long as the client listens."""
        settings = self.settings
        accounts = sorted(principal.account_ids)
        horizon = Horizon(after, int(settings.gap_timeout_seconds * 1000))
        EVENT_STREAMS.inc()
        try:
            while True:
                start = horizon.safe
                async with self._db.read() as conn:
                    seen = await repo.event_ids_after(conn, start, limit=WINDOW)
                    upto = horizon.advance(seen, now_ms())
                    rows = (
                        await repo.announced_events(conn, accounts, after=start, upto=upto)
                        if upto > start
                        else []
                    )
                for row in rows:
                    payload = event_payload(row)
                    yield ServerSentEvent(
                        data=encode(payload), id=event_id(row["event_id"]), event=payload["type"]
                    )
                if len(seen) < WINDOW or upto == start:
                    await asyncio.sleep(settings.poll_interval_seconds)
        finally:
            EVENT_STREAMS.dec()


# How routers reach this service (tidings.web.services).
EVENT_STREAM: ServiceKey[EventStream] = ServiceKey("event_stream")
