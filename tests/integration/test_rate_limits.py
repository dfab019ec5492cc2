"""The per-channel rate limiter, in memory and shared through the real Redis by several workers.

Each Redis worker is its own limiter with its own connection, as separate processes would be.
Grant times are recorded as the sends would see them and checked with a sliding one-second window.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator

import pytest

from support.ports import closed_port, free_port
from tidings.dispatch.rate_limits import RateLimited, RateLimiter

REDIS_URL = "redis://127.0.0.1:6379/0"
Workers = Callable[[int], list[RateLimiter]]


@pytest.fixture(params=["memory", "redis"])
async def workers(request: pytest.FixtureRequest) -> AsyncIterator[Workers]:
    """``make(n)``: n limiters sharing one limit (Redis: n connections; memory: one process)."""
    made: list[RateLimiter] = []
    prefix = f"test-{uuid.uuid4().hex}"

    def make(count: int) -> list[RateLimiter]:
        if request.param == "memory":
            made.append(RateLimiter.in_memory())
            return made[-1:]
        limiters = [RateLimiter.redis(REDIS_URL, key_prefix=prefix) for _ in range(count)]
        made.extend(limiters)
        return limiters

    yield make
    for limiter in made:
        await limiter.close()


async def _run(
    limiters: list[RateLimiter], mps: int, total: int, sizes: tuple[int, ...] = (1,)
) -> list[tuple[float, int]]:
    """Senders on every limiter take permits until ``total`` are granted; (time, permits) each."""
    grants: list[tuple[float, int]] = []
    granted = 0

    async def sender(limiter: RateLimiter, size: int) -> None:
        nonlocal granted
        while granted < total:
            try:
                await limiter.acquire("chn_test", mps, size, max_wait=5)
            except RateLimited:
                continue
            grants.append((time.monotonic(), size))
            granted += size

    senders = [sender(lim, sizes[i % len(sizes)]) for lim in limiters for i in range(20)]
    await asyncio.wait_for(asyncio.gather(*senders), timeout=30)
    return sorted(grants)


def _busiest_second(grants: list[tuple[float, int]]) -> int:
    """The most permits granted within any one-second window (sliding over the grant times)."""
    busiest = in_window = start = 0
    for at, permits in grants:
        in_window += permits
        while grants[start][0] <= at - 1.0:
            in_window -= grants[start][1]
            start += 1
        busiest = max(busiest, in_window)
    return busiest


def _rate(grants: list[tuple[float, int]]) -> float:
    """Permits per second after the first grant (which an idle channel gives at once)."""
    after_first = sum(permits for _, permits in grants[1:])
    return after_first / (grants[-1][0] - grants[0][0])


@pytest.mark.alone  # a lower bound on the rate achieved
async def test_three_workers_at_50_mps_stay_within_the_limit(workers: Workers) -> None:
    grants = await _run(workers(3), mps=50, total=150)
    assert _busiest_second(grants) <= 55
    assert 42 <= _rate(grants) <= 55


async def test_groups_of_permits_count_against_the_limit(workers: Workers) -> None:
    grants = await _run(workers(3), mps=50, total=150, sizes=(1, 5))
    assert {permits for _, permits in grants} == {1, 5}
    assert _busiest_second(grants) <= 55


@pytest.mark.parametrize("mps", [100, 1000])
@pytest.mark.alone  # a lower bound on the rate achieved
async def test_achieved_rate_is_close_to_the_limit(workers: Workers, mps: int) -> None:
    grants = await _run(workers(3), mps=mps, total=3 * mps)
    assert _busiest_second(grants) <= mps * 1.1
    assert 0.9 * mps <= _rate(grants) <= 1.05 * mps


async def test_unlimited_channels_and_impossible_requests() -> None:
    limiter = RateLimiter.in_memory()
    try:
        for _ in range(1000):
            await limiter.acquire("chn_free", None, 1, max_wait=0.01)
        with pytest.raises(ValueError):
            await limiter.acquire("chn_x", 5, 6, max_wait=1)
        with pytest.raises(ValueError):
            await limiter.acquire("chn_x", 0, 1, max_wait=1)
    finally:
        await limiter.close()


async def test_the_wait_is_bounded_and_says_when_to_retry(workers: Workers) -> None:
    [limiter, *_] = workers(1)
    await limiter.acquire("chn_slow", 1, max_wait=1)  # an idle channel's first slot is now
    with pytest.raises(RateLimited) as refused:
        await limiter.acquire("chn_slow", 1, max_wait=0.2)
    assert refused.value.retry_after >= 0.2


async def test_closing_requeues_waiting_sends_and_a_cancelled_wait_frees_nothing(workers: Workers) -> None:
    [limiter, *_] = workers(1)
    await limiter.acquire("chn_slow", 1, max_wait=1)
    cancelled = asyncio.create_task(limiter.acquire("chn_slow", 1, max_wait=30))
    waiting = asyncio.create_task(limiter.acquire("chn_slow", 1, max_wait=30))
    await asyncio.sleep(0.05)
    cancelled.cancel()
    await limiter.close()
    with pytest.raises(RateLimited) as stopped:
        await waiting
    assert stopped.value.retry_after == 0
    assert cancelled.cancelled()
    with pytest.raises(RateLimited):
        await limiter.acquire("chn_slow", 1, max_wait=1)


async def test_unreachable_redis_at_first_paces_locally_and_is_logged_once_without_the_password(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="tidings.dispatch.rate_limits")
    with closed_port() as port:  # refused: bound, nothing listening
        limiter = RateLimiter.redis(f"redis://:hunter2-secret@127.0.0.1:{port}/0", key_prefix="x")
        try:
            grants = await _run([limiter], 20, 30)
        finally:
            await limiter.close()
    assert _busiest_second(grants) <= 21  # alone, its share is the whole limit
    warnings = [r for r in caplog.records if "unreachable" in r.getMessage()]
    assert len(warnings) == 1
    assert "127.0.0.1" in warnings[0].getMessage() and "local limit" in warnings[0].getMessage()
    assert "hunter2-secret" not in caplog.text


@pytest.fixture
def private_redis() -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A Redis server of this test's own, so the test can take it away. Its port is one no other
    worker's server can be given, before or after it is taken away (see ``support.ports``)."""
    port = free_port()
    server = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--requirepass",
            "hunter2-secret",
        ],
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while True:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                break
        assert time.monotonic() < deadline and server.poll() is None, "redis-server did not start"
        time.sleep(0.05)
    try:
        yield f"redis://:hunter2-secret@127.0.0.1:{port}/0", server
    finally:
        server.kill()
        server.wait()


@pytest.mark.alone  # a lower bound on the rate achieved
async def test_redis_lost_while_running_leaves_each_worker_its_share(
    private_redis: tuple[str, subprocess.Popen[bytes]], caplog: pytest.LogCaptureFixture
) -> None:
    url, server = private_redis
    caplog.set_level(logging.INFO, logger="tidings.dispatch.rate_limits")
    workers = [RateLimiter.redis(url, key_prefix="lost", heartbeat_seconds=0.2) for _ in range(2)]
    try:
        for limiter in workers:
            await limiter.start()
        await asyncio.sleep(0.5)  # both have announced themselves and counted each other
        await _run(workers, 20, 10)  # shared through Redis
        server.kill()
        server.wait()

        grants = await _run(workers, 20, 60)  # Redis gone: each alone at 10/s
    finally:
        for limiter in workers:
            await limiter.close()

    assert len(grants) >= 60  # sending went on
    assert _busiest_second(grants) <= 22  # both together still within the limit
    assert 14 <= _rate(grants) <= 21
    warnings = [r.getMessage() for r in caplog.records if "unreachable" in r.getMessage()]
    assert len(warnings) == 2 and all("1/2" in w for w in warnings)
    assert "hunter2-secret" not in caplog.text
