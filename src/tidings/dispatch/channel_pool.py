"""Live channel adapters for the dispatcher: built from their rows once, each with its bounded
sends, rate limit and circuit breaker."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from tidings.channels.base import Channel, ChannelEvents
from tidings.channels.stored import build_channel
from tidings.crypto import SecretBox
from tidings.dispatch.circuits import CircuitBreaker, Circuits
from tidings.dispatch.rate_limits import RateLimiter
from tidings.features.channels.repository import get_channel
from tidings.store.engine import Database

log = logging.getLogger(__name__)


@dataclass
class LiveChannel:
    adapter: Channel
    slots: asyncio.Semaphore  # bounds concurrent provider calls so one slow provider can't hog
    breaker: CircuitBreaker
    limiter: RateLimiter
    mps: int | None  # sends per second across all workers; None: unlimited
    max_batch_size: int  # messages per provider call (send_many) when > 1

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
        events: ChannelEvents,
        *,
        concurrency: int,
        limiter: RateLimiter,
        circuits: Circuits,
        box: SecretBox | None = None,
    ) -> None:
        self._db = db
        self._box = box  # opens channels' credentials; None only where no channel has any
        self._events = events
        self._concurrency = concurrency
        self._limiter = limiter
        self._circuits = circuits
        self._live: dict[str, LiveChannel] = {}
        self._lock = asyncio.Lock()

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
        adapter = build_channel(row, self._box, self._events)
        await adapter.start()
        log.info("channel opened", extra={"channel_id": channel_id, "channel_type": row["type"]})
        return LiveChannel(
            adapter,
            asyncio.Semaphore(self._concurrency),
            breaker=self._circuits.breaker(channel_id),
            limiter=self._limiter,
            mps=row["mps"],
            max_batch_size=row["max_batch_size"],
        )

    async def close(self) -> None:
        for live in self._live.values():
            await live.adapter.close()
        self._live.clear()
