"""The per-request lookup cache: one load for concurrent misses, stale served while refreshing."""

from __future__ import annotations

import asyncio

import pytest

from tidings.cache import TTLCache


async def test_concurrent_misses_share_one_load() -> None:
    cache: TTLCache[int] = TTLCache(ttl=60)
    loads = 0

    async def load() -> int:
        nonlocal loads
        loads += 1
        await asyncio.sleep(0.01)
        return 7

    assert await asyncio.gather(*(cache.get_or_load("k", load) for _ in range(50))) == [7] * 50
    assert loads == 1


async def test_expired_entry_is_served_while_one_refresh_runs() -> None:
    cache: TTLCache[int] = TTLCache(ttl=0)  # every entry is expired at once
    values = iter([1, 2, 3])
    loads = 0

    async def load() -> int:
        nonlocal loads
        loads += 1
        await asyncio.sleep(0.01)
        return next(values)

    assert await cache.get_or_load("k", load) == 1
    # Expired: the stale value answers, and only one refresh starts for all these callers.
    assert await asyncio.gather(*(cache.get_or_load("k", load) for _ in range(20))) == [1] * 20
    await asyncio.sleep(0.05)
    assert loads == 2
    assert await cache.get_or_load("k", load) == 2


async def test_a_failed_refresh_drops_the_entry() -> None:
    cache: TTLCache[int] = TTLCache(ttl=0)
    fail = False

    async def load() -> int:
        if fail:
            raise PermissionError("revoked")
        return 1

    assert await cache.get_or_load("k", load) == 1
    fail = True
    assert await cache.get_or_load("k", load) == 1  # stale answer; the refresh fails behind it
    await asyncio.sleep(0.01)
    with pytest.raises(PermissionError):
        await cache.get_or_load("k", load)
