"""Per-channel send permits, shared by every worker: at most ``mps`` sends in any one-second window.

Permits are paced, one every ``1/mps`` seconds, by GCRA (the generic cell rate algorithm) with
no burst allowance, in reservation form: one call reserves the next slots for several waiting
sends at once and says how long until each slot; the sends then wait exactly that long. The
state is one number per channel (the "theoretical arrival time" of the next free slot): in
memory in embedded mode, in Redis in scaled mode, where a Lua script reads and advances it
atomically on the Redis clock, so workers on any host share the limit whatever their clocks say.
If Redis goes away, each worker carries on alone at its share of the limit (1/N, N being the
number of workers last seen announcing themselves in Redis) and says so in the log.
See docs/limits.md for why this and not an off-the-shelf limiter.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Protocol

import redis.asyncio
import redis.exceptions
from sqlalchemy.engine import make_url

from tidings.config import Settings

log = logging.getLogger(__name__)

# Reserve at most this far ahead of now (plus one call's worth of slots): a worker never holds
# slots that others could use while its sends wait, nor slots its sends would give up on.
HORIZON_SECONDS = 1.0
# While the store does not answer, ask it again this often (sends go on under the local limit).
STORE_RETRY_SECONDS = 0.5
RESERVE_LEAD_SECONDS = 0.05
GATHER_SECONDS = 0.005  # at most one store call per 5 ms per channel and process
MIN_SLEEP_SECONDS = 0.001  # a computed wait of a few microseconds must not spin
REDIS_TIMEOUT_SECONDS = 2.0
# Workers announce themselves in Redis this often and count as live for three announcements:
# the last count seen is each worker's share of a limit while Redis is away.
HEARTBEAT_SECONDS = 5.0


class _StoreAway(Exception):
    """The shared store failed moments ago: pace locally until it is worth asking again."""


class RateLimited(Exception):
    """No permit within the bounded wait, or the limiter is closing; try again after ``retry_after``."""

    def __init__(self, retry_after: float, reason: str) -> None:
        super().__init__(reason)
        self.retry_after = retry_after
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Reservation:
    granted: bool
    wait: float  # seconds from now until the first reserved slot (or, refused, the next free one)


class PermitStore(Protocol):
    """Where the next free slot of each channel is kept."""

    async def reserve(self, key: str, interval: float, permits: int, horizon: float) -> Reservation:
        """Reserve ``permits`` consecutive slots unless the first is more than ``horizon`` away."""
        ...

    async def close(self) -> None: ...


def gcra_reserve(
    tat: float, now: float, interval: float, permits: int, horizon: float
) -> tuple[Reservation, float]:
    """GCRA with no burst, reservation form: the reservation and the new arrival time.

    The Redis script below is this function in Lua; keep them in step.
    """
    start = max(tat, now)
    wait = start - now
    if wait > horizon:
        return Reservation(False, wait), tat
    return Reservation(True, wait), start + permits * interval


class MemoryPermitStore:
    """Embedded mode: one process sends, so its memory is the whole truth."""

    def __init__(self) -> None:
        self._tat: dict[str, float] = {}

    async def reserve(self, key: str, interval: float, permits: int, horizon: float) -> Reservation:
        reservation, self._tat[key] = gcra_reserve(
            self._tat.get(key, 0.0), time.monotonic(), interval, permits, horizon
        )
        return reservation

    async def close(self) -> None:
        self._tat.clear()


# Times in microseconds on the Redis server's clock (exact in a Lua double until year 2255).
_RESERVE_LUA = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local interval = tonumber(ARGV[1])
local permits = tonumber(ARGV[2])
local horizon = tonumber(ARGV[3])
local start = math.max(tonumber(redis.call('GET', KEYS[1]) or 0), now)
local wait = start - now
if wait > horizon then
  return {0, tostring(wait)}
end
local tat = start + permits * interval
redis.call('SET', KEYS[1], string.format('%.0f', tat), 'PX', math.ceil((tat - now) / 1000) + 1000)
return {1, tostring(wait)}
"""


class RedisPermitStore:
    """Scaled mode: every worker pointing at this Redis shares each channel's slots."""

    def __init__(self, url: str) -> None:
        self._client = redis.asyncio.Redis.from_url(
            url, socket_timeout=REDIS_TIMEOUT_SECONDS, socket_connect_timeout=REDIS_TIMEOUT_SECONDS
        )
        self._script = self._client.register_script(_RESERVE_LUA)

    async def reserve(self, key: str, interval: float, permits: int, horizon: float) -> Reservation:
        granted, wait = await self._script(keys=[key], args=[interval * 1e6, permits, horizon * 1e6])
        return Reservation(bool(granted), float(wait) / 1e6)

    async def heartbeat(self, key: str, member: str, every: float) -> int:
        """Announce ``member`` as live and count those announced in the last three periods."""
        (seconds, micros) = await self._client.time()
        now = seconds + micros / 1e6
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.zadd(key, {member: now})
            pipe.zremrangebyscore(key, "-inf", now - 3 * every)
            pipe.zcard(key)
            pipe.expire(key, max(1, int(10 * every)))
            *_, live, _ = await pipe.execute()
        return max(1, int(live))

    async def close(self) -> None:
        await self._client.aclose()


@dataclass(slots=True)
class _Waiter:
    permits: int
    deadline: float  # loop time after which this send would rather be requeued
    granted: asyncio.Future[None]


@dataclass(slots=True)
class _Gate:
    """The sends of one channel waiting in this process, and the task reserving slots for them."""

    key: str
    interval: float
    mps: int
    waiters: deque[_Waiter] = field(default_factory=deque)
    pump: asyncio.Task[None] | None = None


class RateLimiter:
    """Hands out send permits per channel; one instance per worker process."""

    def __init__(
        self,
        store: PermitStore,
        *,
        store_name: str,
        key_prefix: str = "tidings",
        heartbeat_seconds: float = HEARTBEAT_SECONDS,
    ) -> None:
        self._store = store
        self._store_name = store_name  # for logs; never holds a password
        self._key_prefix = key_prefix
        self._gates: dict[tuple[str, int], _Gate] = {}
        self._reserved: set[asyncio.Future[None]] = set()  # slots reserved, not yet come
        self._store_down = False
        self._closed = False
        # While a shared store is away, each channel is paced here at 1/peers of its limit,
        # peers being the number of workers last seen sharing the store: conservative, never
        # above the limit however many of them carry on.
        self._fallback = MemoryPermitStore()
        self._peers = 1
        self._member = f"{os.getpid()}:{uuid.uuid4().hex[:12]}"
        self._heartbeat: asyncio.Task[None] | None = None
        self._heartbeat_seconds = heartbeat_seconds
        self._retry_store_at = 0.0

    @classmethod
    def in_memory(cls) -> RateLimiter:
        return cls(MemoryPermitStore(), store_name="memory")

    @classmethod
    def redis(
        cls, url: str, *, key_prefix: str = "tidings", heartbeat_seconds: float = HEARTBEAT_SECONDS
    ) -> RateLimiter:
        shown = make_url(url).render_as_string(hide_password=True)
        return cls(
            RedisPermitStore(url),
            store_name=f"redis {shown}",
            key_prefix=key_prefix,
            heartbeat_seconds=heartbeat_seconds,
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> RateLimiter:
        if settings.redis_url:
            return cls.redis(settings.redis_url, key_prefix=settings.redis_key_prefix)
        return cls.in_memory()

    async def start(self) -> None:
        """Begin announcing this worker to the other users of a shared store."""
        if isinstance(self._store, RedisPermitStore) and self._heartbeat is None:
            self._heartbeat = asyncio.create_task(self._announce(self._store), name="rate-limit-heartbeat")

    async def _announce(self, store: RedisPermitStore) -> None:
        key = f"{self._key_prefix}:workers"
        while True:
            with contextlib.suppress(redis.exceptions.RedisError, OSError):
                self._peers = await store.heartbeat(key, self._member, self._heartbeat_seconds)
            await asyncio.sleep(self._heartbeat_seconds)

    async def acquire(self, channel_id: str, mps: int | None, permits: int = 1, *, max_wait: float) -> None:
        """Wait until ``permits`` sends on the channel may leave together; None ``mps`` is unlimited.

        Raises :class:`RateLimited` when the permits are not due within ``max_wait`` seconds or
        the limiter closes meanwhile.
        """
        if mps is None:
            return
        if mps < 1 or not 1 <= permits <= mps:
            raise ValueError(f"cannot take {permits} permits at once from a limit of {mps} per second")
        if self._closed:
            raise RateLimited(0.0, "the rate limiter is closed")
        loop = asyncio.get_running_loop()
        gate = self._gates.get((channel_id, mps))
        if gate is None:
            key = f"{self._key_prefix}:rate:{channel_id}"
            gate = self._gates[(channel_id, mps)] = _Gate(key, 1.0 / mps, mps)
        waiter = _Waiter(permits, loop.time() + max_wait, loop.create_future())
        gate.waiters.append(waiter)
        if gate.pump is None or gate.pump.done():
            gate.pump = asyncio.create_task(self._pump(gate), name=f"rate-limit-{channel_id}")
        try:
            await asyncio.wait_for(waiter.granted, max_wait)
        except TimeoutError:
            # Requeue behind the permits already waiting here, so the retries spread out.
            ahead = sum(w.permits for w in gate.waiters if not w.granted.done())
            raise RateLimited(max(1.0, ahead / mps), "no permit within the wait bound") from None

    async def _pump(self, gate: _Gate) -> None:
        """Reserve slots for the waiters in order, one second's worth per store call at most."""
        loop = asyncio.get_running_loop()
        while not self._closed:
            batch: list[_Waiter] = []
            wanted = 0
            while gate.waiters:
                head = gate.waiters[0]
                if head.granted.done():
                    gate.waiters.popleft()  # timed out or cancelled while queued
                    continue
                if batch and wanted + head.permits > gate.mps:
                    break
                batch.append(gate.waiters.popleft())
                wanted += head.permits
            if not batch:
                return
            interval = gate.interval
            try:
                if self._store_down and loop.time() < self._retry_store_at:
                    raise _StoreAway
                reservation = await self._store.reserve(gate.key, interval, wanted, HORIZON_SECONDS)
                self._store_answered()
            except (_StoreAway, redis.exceptions.RedisError, OSError) as exc:
                if not isinstance(exc, _StoreAway):
                    self._store_failed(exc, gate.mps)
                    self._retry_store_at = loop.time() + STORE_RETRY_SECONDS
                interval = gate.interval * self._peers
                reservation = await self._fallback.reserve(gate.key, interval, wanted, HORIZON_SECONDS)
            if not reservation.granted:
                gate.waiters.extendleft(reversed(batch))
                # Computed, not guessed: other workers hold the slots until this moment.
                await asyncio.sleep(max(reservation.wait - HORIZON_SECONDS, MIN_SLEEP_SECONDS))
                continue
            now = loop.time()
            offset = reservation.wait
            for waiter in batch:
                # A group leaves at its last slot, so every slot it uses has come.
                due = offset + (waiter.permits - 1) * interval
                offset += waiter.permits * interval
                if waiter.granted.done():
                    continue  # gave up during the store call; its slots go unused, never reused
                if now + due > waiter.deadline:
                    waiter.granted.set_exception(RateLimited(due, "no permit within the wait bound"))
                    continue
                self._reserved.add(waiter.granted)
                loop.call_later(due, self._release, waiter.granted)
            # Reserve again shortly before these slots run out: sends arriving meanwhile then
            # share one store call, and the channel's slots stay back to back.
            await asyncio.sleep(max(offset - RESERVE_LEAD_SECONDS, GATHER_SECONDS))

    def _release(self, granted: asyncio.Future[None]) -> None:
        self._reserved.discard(granted)
        if not granted.done():  # else it timed out: its slot passes unused
            granted.set_result(None)

    def _store_failed(self, exc: BaseException, mps: int) -> None:
        if not self._store_down:
            self._store_down = True
            log.warning(
                "rate limit store %s unreachable (%s); sending under a local limit of 1/%d of each "
                "channel's mps (e.g. %.1f/s for %d mps) until it answers",
                self._store_name,
                type(exc).__name__,
                self._peers,
                mps / self._peers,
                mps,
            )

    def _store_answered(self) -> None:
        if self._store_down:
            self._store_down = False
            log.warning("rate limit store %s answers again", self._store_name)

    async def close(self) -> None:
        """Stop granting: every waiting send is told to requeue now; release the store."""
        self._closed = True
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._heartbeat
            self._heartbeat = None
        pumps = [gate.pump for gate in self._gates.values() if gate.pump is not None]
        for pump in pumps:
            pump.cancel()
        for pump in pumps:
            with contextlib.suppress(asyncio.CancelledError):
                await pump
        waiting = [w.granted for gate in self._gates.values() for w in gate.waiters]
        for granted in [*waiting, *self._reserved]:
            if not granted.done():
                granted.set_exception(RateLimited(0.0, "the dispatcher is stopping"))
        self._reserved.clear()
        self._gates.clear()
        await self._store.close()
