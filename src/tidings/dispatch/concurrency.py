"""How many provider calls one channel may have in flight: a limit that follows the calls'
latency, between a floor and the configured ceiling (the rule of TCP Vegas).

Why it adapts: a provider answering in 200 ms needs about 100 calls in flight to carry 500 msg/s,
one answering at once needs a few dozen. Hundreds of calls in flight against a fast provider buy
nothing (they only queue) and cost CPU: through the Twilio adapter to its fake at zero latency,
256 in flight took 0.35 ms of gateway CPU per message and 32 took 0.26 (2,760 against 3,800
msg/s, measured).

The rule, once a round (a limit's worth of finished calls): the round's fastest call against
the base, the fastest ever seen, taken as the latency without queueing. If calls take longer,
some were queued (at the provider or in our own event loop), about
``limit * (1 - base / latency)`` of them. Fewer than ``alpha`` queued while the limit was nearly
used: the limit grows (doubling until it first has to shrink, then by a tenth). More than
``beta``: it shrinks by a tenth. A round much faster than the base only replaces it. At the
floor the base is measured afresh every :data:`PROBE_SECONDS`: a provider that became slower
for good would otherwise read as congested forever, and measuring at the floor keeps our own
queueing out of the base.

Hand-written: the Python ports of Netflix's concurrency-limits on PyPI are early 0.x projects,
and the rule itself is a few lines.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Callable
from types import TracebackType

# A limit held down at the floor re-measures its base this often: the floor costs nothing to
# measure at, and a base from a faster past would otherwise keep the limit there for good.
PROBE_SECONDS = 5.0
# A round grows the limit only if its busiest moment used this share of it: a channel sending
# 20 at a time has no use for a limit of 200.
BUSY_SHARE = 0.8
# A round this much faster than the base replaces it without a decision; a little faster is
# the same latency seen again (a provider's answers vary by a few percent), and decides.
NEW_BASE_SHARE = 0.9
STEP_SHARE = 0.1


def alpha(limit: int) -> float:
    """Queued calls below which the limit may grow: Netflix's Vegas default (3 times log10),
    at most a quarter of the limit."""
    return min(3 * math.log10(max(limit, 10)), limit / 4)


def beta(limit: int) -> float:
    """Queued calls above which the limit shrinks: 6 times log10, at most half the limit (so a
    small limit with every call queued still shrinks to the floor, where its base is re-measured)."""
    return min(6 * math.log10(max(limit, 10)), limit / 2)


class AdaptiveLimit:
    """``async with limit.slot():`` around each provider call; waiters are served in order."""

    def __init__(
        self,
        *,
        floor: int,
        ceiling: int,
        clock: Callable[[], float] = time.monotonic,
        on_change: Callable[[int], None] = lambda limit: None,
    ) -> None:
        self.ceiling = max(1, ceiling)
        self.floor = max(1, min(floor, self.ceiling))
        self.limit = self.floor
        self.in_flight = 0
        self._clock = clock
        self._on_change = on_change
        on_change(self.limit)
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._base: float | None = None  # the fastest call seen: latency without queueing
        self._round_fastest = math.inf
        self._round_calls = 0
        self._round_peak = 0  # most calls in flight at once during the round
        self._base_at = 0.0  # when it was measured
        self._doubling = True

    def slot(self) -> _Slot:
        return _Slot(self)

    async def _acquire(self) -> None:
        if self.in_flight < self.limit and not self._waiters:
            self._take()
            return
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():  # granted as it was cancelled: pass it on
                self.in_flight -= 1
                self._admit()
            raise

    def _take(self) -> None:
        self.in_flight += 1
        self._round_peak = max(self._round_peak, self.in_flight)

    def _admit(self) -> None:
        """Hand free slots to waiters, in the order they came."""
        while self._waiters and self.in_flight < self.limit:
            waiter = self._waiters.popleft()
            if not waiter.done():  # a cancelled waiter stays queued until it is reached
                self._take()
                waiter.set_result(None)

    def _release(self, latency: float) -> None:
        self.in_flight -= 1
        self._observe(latency)
        self._admit()

    def _observe(self, latency: float) -> None:
        self._round_fastest = min(self._round_fastest, latency)
        self._round_calls += 1
        if self._round_calls < self.limit:
            return
        fastest, peak = self._round_fastest, self._round_peak
        self._round_fastest, self._round_calls, self._round_peak = math.inf, 0, self.in_flight
        if fastest <= 0:  # a clock too coarse to tell
            return
        now = self._clock()
        stale = self.limit == self.floor and now - self._base_at >= PROBE_SECONDS
        if self._base is None or fastest < NEW_BASE_SHARE * self._base or stale:
            if stale and self._base is not None and fastest > 2 * self._base:
                self._doubling = True  # the provider became slower: find its limit afresh
            # Calls much faster than any before (or the first ones) say that earlier rounds
            # were slowed by something else, warming up or queueing: the next round decides.
            self._base, self._base_at = fastest, now
            return
        if fastest < self._base:
            self._base, self._base_at = fastest, now
        queued = self.limit * (1 - self._base / fastest)
        step = max(1, round(self.limit * STEP_SHARE))
        limit = self.limit
        if queued > beta(limit):
            self._doubling = False
            limit = max(self.floor, limit - step)
        elif queued < alpha(limit) and peak >= limit * BUSY_SHARE:
            limit = min(self.ceiling, limit * 2 if self._doubling else limit + step)
        if limit != self.limit:
            self.limit = limit
            self._on_change(limit)


class _Slot:
    """One call's hold on the limit, timed from entry to exit. A class rather than an
    ``asynccontextmanager``: it is entered once per provider call, and the generator machinery
    showed in profiles of a busy channel."""

    __slots__ = ("_limit", "_started")

    def __init__(self, limit: AdaptiveLimit) -> None:
        self._limit = limit
        self._started = 0.0

    async def __aenter__(self) -> None:
        await self._limit._acquire()
        self._started = self._limit._clock()

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._limit._release(self._limit._clock() - self._started)
