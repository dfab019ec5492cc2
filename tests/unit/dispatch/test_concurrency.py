"""The adaptive in-flight limit: rounds of calls at latencies the test chooses, on a clock it
moves, and its waiting line."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Callable

from hypothesis import given
from hypothesis import strategies as st

from tidings.dispatch.concurrency import AdaptiveLimit


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def _round(limit: AdaptiveLimit, clock: Clock, calls: int, latency: float) -> None:
    """``calls`` calls at once (at most the limit), each taking ``latency`` seconds."""
    async with contextlib.AsyncExitStack() as stack:
        for _ in range(min(calls, limit.limit)):
            await stack.enter_async_context(limit.slot())
        clock.now += latency


async def _rounds(
    limit: AdaptiveLimit, clock: Clock, count: int, latency: Callable[[int], float], demand: int = 10**6
) -> list[int]:
    seen = []
    for _ in range(count):
        calls = min(demand, limit.limit)
        await _round(limit, clock, calls, latency(calls))
        seen.append(limit.limit)
    return seen


async def test_a_slow_provider_that_does_not_queue_gets_the_ceiling_within_a_few_rounds() -> None:
    clock = Clock()
    limit = AdaptiveLimit(floor=8, ceiling=100, clock=clock)
    seen = await _rounds(limit, clock, 6, lambda calls: 0.2)
    assert seen == [8, 16, 32, 64, 100, 100]  # the first round only measures


async def test_a_slightly_faster_round_is_the_same_latency_and_still_grows_the_limit() -> None:
    clock = Clock()
    limit = AdaptiveLimit(floor=8, ceiling=100, clock=clock)
    jitter = iter(0.2 * 0.98**n for n in range(100))  # each round a new, slightly lower minimum
    seen = await _rounds(limit, clock, 6, lambda calls: next(jitter))
    assert seen == [8, 16, 32, 64, 100, 100]


async def test_a_much_faster_round_only_resets_the_base() -> None:
    clock = Clock()
    limit = AdaptiveLimit(floor=8, ceiling=100, clock=clock)
    warming = iter([0.05, 0.02, 0.008, 0.003, 0.001, 0.001])  # connections being set up
    seen = await _rounds(limit, clock, 6, lambda calls: next(warming))
    assert seen == [8, 8, 8, 8, 8, 16]


async def test_latency_that_grows_with_the_calls_in_flight_brings_the_limit_down() -> None:
    clock = Clock()
    limit = AdaptiveLimit(floor=8, ceiling=64, clock=clock)
    await _rounds(limit, clock, 5, lambda calls: 0.01)
    assert limit.limit == 64
    # Now only 8 calls run at once at the provider; the rest queue, and latency grows with them.
    seen = await _rounds(limit, clock, 40, lambda calls: 0.01 * max(1.0, calls / 8))
    assert seen[0] < 64 and all(b <= a for a, b in itertools.pairwise(seen))
    assert 8 <= limit.limit <= 20


async def test_the_limit_does_not_grow_past_what_is_used() -> None:
    clock = Clock()
    limit = AdaptiveLimit(floor=8, ceiling=256, clock=clock)
    await _rounds(limit, clock, 20, lambda calls: 0.2, demand=5)
    assert limit.limit == 8


async def test_a_provider_that_became_slower_for_good_is_not_read_as_congested_forever() -> None:
    clock = Clock()
    limit = AdaptiveLimit(floor=4, ceiling=64, clock=clock)
    await _rounds(limit, clock, 10, lambda calls: 0.01)
    seen = await _rounds(limit, clock, 60, lambda calls: 0.5)  # fifty times slower, not queueing
    assert min(seen) == 4  # read as queueing at first
    assert seen[-1] == 64  # until the base was measured afresh at the floor


@given(
    floor=st.integers(1, 50),
    extra=st.integers(0, 200),
    latencies=st.lists(st.floats(1e-4, 5.0), min_size=1, max_size=40),
)
async def test_the_limit_stays_between_floor_and_ceiling(
    floor: int, extra: int, latencies: list[float]
) -> None:
    clock = Clock()
    changed: list[int] = []
    limit = AdaptiveLimit(floor=floor, ceiling=floor + extra, clock=clock, on_change=changed.append)
    for latency in latencies:
        await _round(limit, clock, limit.limit, latency)
        assert floor <= limit.limit <= floor + extra
        assert limit.in_flight == 0
    assert changed[0] == floor and changed[-1] == limit.limit


async def test_waiters_get_slots_in_the_order_they_came() -> None:
    limit = AdaptiveLimit(floor=1, ceiling=1)
    order: list[str] = []
    release = asyncio.Event()

    async def call(name: str) -> None:
        async with limit.slot():
            order.append(name)
            await release.wait()

    tasks = [asyncio.create_task(call(name)) for name in "abc"]
    await asyncio.sleep(0)
    assert order == ["a"] and limit.in_flight == 1
    release.set()
    await asyncio.gather(*tasks)
    assert order == ["a", "b", "c"] and limit.in_flight == 0


async def test_a_cancelled_waiter_leaks_no_slot() -> None:
    limit = AdaptiveLimit(floor=1, ceiling=1)
    held = limit.slot()
    await held.__aenter__()
    waiting = asyncio.create_task(_enter_and_leave(limit))
    await asyncio.sleep(0)
    waiting.cancel()
    await asyncio.gather(waiting, return_exceptions=True)
    await held.__aexit__(None, None, None)
    assert limit.in_flight == 0
    await asyncio.wait_for(_enter_and_leave(limit), 1)  # the slot is free


async def test_a_waiter_cancelled_just_after_its_slot_came_passes_it_on() -> None:
    limit = AdaptiveLimit(floor=1, ceiling=1)
    held = limit.slot()
    await held.__aenter__()
    first = asyncio.create_task(_enter_and_leave(limit))
    second = asyncio.create_task(_enter_and_leave(limit))
    await asyncio.sleep(0)
    await held.__aexit__(None, None, None)  # the slot goes to `first`, which has not run yet
    first.cancel()
    await asyncio.wait_for(second, 1)
    assert first.cancelled() and limit.in_flight == 0


async def _enter_and_leave(limit: AdaptiveLimit) -> None:
    async with limit.slot():
        await asyncio.sleep(0)
