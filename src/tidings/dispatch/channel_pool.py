"""Live channel adapters for the dispatcher: built from their rows, each with its bounded sends,
rate limit and circuit breaker.

A channel changed through the API (mps, batch size, settings, credentials) or deleted is noticed
by a periodic check of the open channels' ``updated_at`` (one small query every few seconds):
the stale adapter is retired and the next send opens the channel afresh from its row. A retired
adapter closes once no send uses it and a grace period has passed, so receipts it still owes
(the sandbox's delayed ones, a provider connection's late reports) can arrive. The circuit
breaker and the rate limiter are keyed by channel id, so their state carries over.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from tidings.channels.base import Channel, ChannelReports
from tidings.channels.registry import listening_type_names
from tidings.channels.stored import build_channel
from tidings.crypto import SecretBox
from tidings.dispatch.circuits import CircuitBreaker, Circuits
from tidings.dispatch.concurrency import AdaptiveLimit
from tidings.dispatch.rate_limits import RateLimiter
from tidings.metrics import CHANNEL_CONCURRENCY, CHANNEL_REOPENS
from tidings.store.channels import get_channel, live_channel_ids, versions
from tidings.store.engine import Database

log = logging.getLogger(__name__)


@dataclass(eq=False)  # compared and hashed by identity: the pool keeps retired ones in a set
class LiveChannel:
    adapter: Channel
    calls: AdaptiveLimit  # bounds concurrent provider calls so one slow provider can't hog
    breaker: CircuitBreaker
    limiter: RateLimiter
    mps: int | None  # sends per second across all workers; None: unlimited
    max_batch_size: int  # messages per provider call (send_many) when > 1
    version: int = 0  # the row's updated_at when it was opened
    users: int = 0  # sends holding it (acquire … release)
    retired: bool = False

    @property
    def group_size(self) -> int:
        """Messages per provider call: a group takes its permits at once, so never above mps."""
        size = self.max_batch_size if self.mps is None else min(self.max_batch_size, self.mps)
        return max(1, size)

    async def acquire(self, permits: int, *, max_wait: float) -> None:
        """Wait for this many send slots (raises ``RateLimited`` past ``max_wait``)."""
        await self.limiter.acquire(self.adapter.channel_id, self.mps, permits, max_wait=max_wait)


class ChannelPool:
    def __init__(
        self,
        db: Database,
        reports: ChannelReports,
        *,
        concurrency: int,
        min_concurrency: int,
        limiter: RateLimiter,
        circuits: Circuits,
        box: SecretBox | None = None,
        refresh_seconds: float = 2.0,
        retire_grace_seconds: float = 10.0,
    ) -> None:
        self._db = db
        self._box = box  # opens channels' credentials; None only where no channel has any
        self._reports = reports
        self._concurrency = concurrency
        self._min_concurrency = min_concurrency
        self._limiter = limiter
        self._circuits = circuits
        self._live: dict[str, LiveChannel] = {}
        self._lock = asyncio.Lock()
        self._refresh_seconds = refresh_seconds
        self._grace = retire_grace_seconds
        self._retired: set[LiveChannel] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._refresher: asyncio.Task[None] | None = None

    @property
    def retired_count(self) -> int:
        """Retired adapters not closed yet: a send still holds them, or their grace period runs."""
        return len(self._retired)

    def start(self) -> None:
        """Begin the periodic check for changed channels (its first round opens the listening
        ones, see :meth:`open_listening`)."""
        if self._refresher is None:
            self._refresher = asyncio.create_task(self._refresh_loop(), name="channel-refresh")

    async def acquire(self, channel_id: str) -> LiveChannel:
        """The live channel, held until :meth:`release` so a refresh does not close it under a send."""
        live = await self.get(channel_id)
        live.users += 1
        return live

    def release(self, live: LiveChannel) -> None:
        live.users -= 1
        if live.retired and live.users == 0:
            self._close_later(live)

    async def get(self, channel_id: str) -> LiveChannel:
        live = self._live.get(channel_id)
        if live is not None:
            return live
        async with self._lock:
            live = self._live.get(channel_id)
            if live is None:
                live = await self._open(channel_id)
                self._live[channel_id] = live
        return live

    async def _open(self, channel_id: str) -> LiveChannel:
        async with self._db.read() as conn:
            row = await get_channel(conn, channel_id)
        if row is None:
            raise LookupError(f"channel {channel_id} does not exist")
        adapter = build_channel(row, self._box, self._reports)
        await adapter.start()
        log.info("channel opened", extra={"channel_id": channel_id, "channel_type": row["type"]})
        return LiveChannel(
            adapter,
            AdaptiveLimit(
                floor=self._min_concurrency,
                ceiling=self._concurrency,
                on_change=CHANNEL_CONCURRENCY.labels(channel_id).set,
            ),
            breaker=self._circuits.breaker(channel_id),
            limiter=self._limiter,
            mps=row["mps"],
            max_batch_size=max(row["max_batch_size"], adapter.pipeline_group),
            version=row["updated_at"],
        )

    async def open_listening(self) -> list[str]:
        """Open every live channel of a type that hears from its provider over the adapter's own
        connection (:attr:`Channel.listens`, SMPP), so receipts and inbound messages flow before
        its first send. Returns the ids opened now; one that will not open is logged and tried
        again at the next refresh."""
        types = listening_type_names()
        if not types:
            return []
        async with self._db.read() as conn:
            wanted = await live_channel_ids(conn, types)
        opened = []
        for channel_id in wanted:
            if channel_id in self._live:
                continue
            try:
                await self.get(channel_id)
            except Exception as exc:  # a bad row or an unreachable provider must not stop the rest
                log.warning(
                    "could not open listening channel (%s)",
                    type(exc).__name__,
                    extra={"channel_id": channel_id},
                )
                continue
            opened.append(channel_id)
        return opened

    async def refresh(self) -> list[str]:
        """Retire open channels whose row changed or was deleted since they were opened (the next
        send reopens them), then open listening channels that are not open. Returns the ids
        retired."""
        retired = await self._retire_changed()
        await self.open_listening()
        return retired

    async def _retire_changed(self) -> list[str]:
        if not self._live:
            return []
        async with self._db.read() as conn:
            current = await versions(conn, list(self._live))
        retired = []
        async with self._lock:
            for channel_id, live in list(self._live.items()):
                if current.get(channel_id) != live.version:
                    del self._live[channel_id]
                    self._retire(live)
                    retired.append(channel_id)
        for channel_id in retired:
            CHANNEL_REOPENS.inc()
            log.info("channel changed; reopening it", extra={"channel_id": channel_id})
        return retired

    async def _refresh_loop(self) -> None:
        while True:
            try:
                await self.refresh()
            except Exception as exc:  # the database is away: keep the open channels, try again
                log.warning("channel refresh failed (%s)", type(exc).__name__)
            await asyncio.sleep(self._refresh_seconds)

    def _retire(self, live: LiveChannel) -> None:
        live.retired = True
        self._retired.add(live)
        if live.users == 0:
            self._close_later(live)

    def _close_later(self, live: LiveChannel) -> None:
        async def close() -> None:
            await asyncio.sleep(self._grace)
            if live.users == 0 and live in self._retired:
                self._retired.discard(live)
                await _close_quietly(live)

        task = asyncio.create_task(close())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        if self._refresher is not None:
            self._refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._refresher
            self._refresher = None
        for task in list(self._tasks):
            task.cancel()
        for live in [*self._live.values(), *self._retired]:
            await _close_quietly(live)
        self._live.clear()
        self._retired.clear()


async def _close_quietly(live: LiveChannel) -> None:
    try:
        await live.adapter.close()
    except Exception as exc:  # one adapter failing to close must not keep the others open
        log.warning(
            "closing channel failed (%s)", type(exc).__name__, extra={"channel_id": live.adapter.channel_id}
        )
