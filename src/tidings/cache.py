"""A small time-bounded cache for per-request lookups that rarely change (accounts, channels).

Changes made in this process clear the affected entries at once; other processes (scaled mode)
see a change within ``ttl`` seconds plus one refresh. An expired entry is served once more while
a single background load refreshes it, and concurrent misses share one load: without both, every
request in flight reloaded the same row when an entry expired (a stall every ``ttl`` seconds,
measured as a cluster of ~400 ms responses under load). A load that fails drops the entry, so a
revoked credential stops working on the next request. Hand-written: a dict with an expiry and a
single-flight table is all the async call sites need.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, Generic, TypeVar

V = TypeVar("V")


class TTLCache(Generic[V]):
    def __init__(self, ttl: float, max_entries: int = 10_000) -> None:
        self._ttl = ttl
        self._max = max_entries
        self._entries: dict[Hashable, tuple[float, V]] = {}
        self._loading: dict[Hashable, asyncio.Future[V]] = {}

    async def get_or_load(self, key: Hashable, load: Callable[[], Awaitable[V]]) -> V:
        hit = self._entries.get(key)
        if hit is not None:
            if hit[0] <= time.monotonic() and key not in self._loading:
                refresh = self._start(key, load)
                refresh.add_done_callback(_quiet)  # a failed refresh only drops the entry
            return hit[1]
        pending = self._loading.get(key) or self._start(key, load)
        return await asyncio.shield(pending)

    def _start(self, key: Hashable, load: Callable[[], Awaitable[V]]) -> asyncio.Future[V]:
        async def run() -> V:
            try:
                value = await load()
            except BaseException:
                self._entries.pop(key, None)
                raise
            finally:
                self._loading.pop(key, None)
            self.put(key, value)
            return value

        future = asyncio.ensure_future(run())
        self._loading[key] = future
        return future

    def put(self, key: Hashable, value: V) -> None:
        if len(self._entries) >= self._max:
            self._entries.clear()
        self._entries[key] = (time.monotonic() + self._ttl, value)

    def discard(self, key: Hashable) -> None:
        self._entries.pop(key, None)

    def clear(self) -> None:
        self._entries.clear()


def _quiet(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()
