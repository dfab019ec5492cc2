"""The measured scenarios. Every loop is bounded in count and in time."""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass

import aiohttp

from bench.server import BENCH_KEY, Server

HEADERS = {"Authorization": f"Bearer {BENCH_KEY}"}


@dataclass
class BulkResult:
    recipients: int
    accept_s: float
    delivered_s: float
    delivered: int
    cpu_s: float

    @property
    def rate(self) -> float:
        return self.delivered / self.delivered_s if self.delivered_s else 0.0


async def bulk(server: Server, recipients: int = 100_000, deadline_s: float = 180) -> BulkResult:
    """One POST with ``recipients`` distinct numbers; time to 202 and until all are delivered."""
    numbers = [f"+2783{n:07d}" for n in random.sample(range(10_000_000), recipients)]
    timeout = aiohttp.ClientTimeout(total=deadline_s)
    cpu_before = server.cpu_seconds()
    async with aiohttp.ClientSession(headers=HEADERS, timeout=timeout) as session:
        started = time.perf_counter()
        async with session.post(
            server.url + "/v1/messages", json={"to": numbers, "body": "benchmark"}
        ) as response:
            batch = await response.json()
            if response.status != 202:
                raise RuntimeError(f"bulk send refused: {response.status} {batch}")
        accepted = time.perf_counter() - started
        done = 0
        while time.perf_counter() - started < deadline_s:
            async with session.get(f"{server.url}/v1/batches/{batch['id']}") as response:
                status = await response.json()
            done = status["status_counts"].get("delivered", 0)
            if status["done"] >= status["accepted"]:
                break
            await asyncio.sleep(0.25)
        finished = time.perf_counter() - started
    return BulkResult(recipients, accepted, finished, done, server.cpu_seconds() - cpu_before)


@dataclass
class LatencyResult:
    requests: int
    errors: int
    seconds: float
    p50_ms: float
    p99_ms: float

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def _percentile(samples: list[float], share: float) -> float:
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000


async def singles_closed(
    server: Server, clients: int = 50, requests: int = 10_000, max_s: float = 30
) -> LatencyResult:
    """``clients`` concurrent clients, each sending one-recipient messages back to back."""
    latencies: list[float] = []
    errors = 0
    counter = iter(range(requests))
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(headers=HEADERS, connector=connector) as session:
        started = time.perf_counter()

        async def client() -> None:
            nonlocal errors
            for n in counter:
                if time.perf_counter() - started > max_s:
                    return
                sent = time.perf_counter()
                async with session.post(
                    server.url + "/v1/messages", json={"to": f"+2783{n:07d}", "body": "hi"}
                ) as response:
                    await response.read()
                    if response.status != 202:
                        errors += 1
                latencies.append(time.perf_counter() - sent)

        await asyncio.gather(*(client() for _ in range(clients)))
        elapsed = time.perf_counter() - started
    return LatencyResult(
        len(latencies), errors, elapsed, _percentile(latencies, 0.5), _percentile(latencies, 0.99)
    )


async def singles_paced(
    server: Server, rate: int = 500, seconds: float = 10, clients: int = 50
) -> LatencyResult:
    """Open loop: requests start on a fixed schedule of ``rate``/s, at most ``clients`` at once.

    Latency counts from the scheduled start, so a server that falls behind is charged for the
    queueing it causes (no coordinated omission).
    """
    latencies: list[float] = []
    errors = 0
    total = int(rate * seconds)
    slots = asyncio.Semaphore(clients)
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(headers=HEADERS, connector=connector) as session:
        started = time.perf_counter()

        async def one(n: int, due: float) -> None:
            nonlocal errors
            async with slots:
                async with session.post(
                    server.url + "/v1/messages", json={"to": f"+2784{n:07d}", "body": "hi"}
                ) as response:
                    await response.read()
                    if response.status != 202:
                        errors += 1
                latencies.append(time.perf_counter() - due)

        tasks = []
        for n in range(total):
            due = started + n / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(n, due)))
        await asyncio.wait_for(asyncio.gather(*tasks), seconds + 60)
        elapsed = time.perf_counter() - started
    return LatencyResult(
        len(latencies), errors, elapsed, _percentile(latencies, 0.5), _percentile(latencies, 0.99)
    )
