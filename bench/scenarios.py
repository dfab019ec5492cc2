"""The measured scenarios. Every loop is bounded in count and in time."""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiohttp

from bench.provider import FakeTwilioProcess
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


# Statuses of messages the provider has not taken yet.
NOT_YET_SENT = ("scheduled", "queued", "sending")


async def bulk(
    server: Server,
    recipients: int = 100_000,
    deadline_s: float = 180,
    channel: str | None = None,
    *,
    until_sent: bool = False,
) -> BulkResult:
    """One POST with ``recipients`` distinct numbers (on ``channel``, else the default one); time
    to 202 and until all are delivered (``until_sent``: until the provider took all of them)."""
    numbers = [f"+2783{n:07d}" for n in random.sample(range(10_000_000), recipients)]
    timeout = aiohttp.ClientTimeout(total=deadline_s)
    cpu_before = server.cpu_seconds()
    async with aiohttp.ClientSession(headers=HEADERS, timeout=timeout) as session:
        started = time.perf_counter()
        request: dict[str, Any] = {"to": numbers, "body": "benchmark"}
        if channel:
            request["channel"] = channel
        async with session.post(server.url + "/v1/messages", json=request) as response:
            batch = await response.json()
            if response.status != 202:
                raise RuntimeError(f"bulk send refused: {response.status} {batch}")
        accepted = time.perf_counter() - started
        done = 0
        while time.perf_counter() - started < deadline_s:
            async with session.get(f"{server.url}/v1/batches/{batch['id']}") as response:
                status = await response.json()
            counts = status["status_counts"]
            if until_sent:
                done = status["accepted"] - sum(counts.get(name, 0) for name in NOT_YET_SENT)
                if done >= status["accepted"]:
                    break
            else:
                done = counts.get("delivered", 0)
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


def percentile(samples: list[float], share: float) -> float:
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
        len(latencies), errors, elapsed, percentile(latencies, 0.5), percentile(latencies, 0.99)
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
        len(latencies), errors, elapsed, percentile(latencies, 0.5), percentile(latencies, 0.99)
    )


@dataclass
class CappedResult:
    mps: int
    messages: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.messages / self.seconds if self.seconds else 0.0

    @property
    def deviation(self) -> float:
        """Achieved rate against the cap, as a signed fraction (-0.03: 3 % below)."""
        return self.rate / self.mps - 1


async def capped(server: Server, mps: int, seconds: float = 10, deadline_s: float = 120) -> CappedResult:
    """A sandbox channel capped at ``mps`` gets ``mps * seconds`` messages in one request; the
    rate is the messages over the time from the first to the last send (the channel's own pace,
    without intake and claim latency)."""
    total = int(mps * seconds)
    async with aiohttp.ClientSession(headers=HEADERS) as session:
        name = f"capped-{mps}-{random.randrange(10**9)}"
        async with session.post(
            server.url + "/v1/channels", json={"type": "sandbox", "name": name, "mps": mps}
        ) as response:
            if response.status != 201:
                raise RuntimeError(f"channel refused: {response.status} {await response.text()}")
        numbers = [f"+2782{n:07d}" for n in random.sample(range(10_000_000), total)]
        async with session.post(
            server.url + "/v1/messages", json={"to": numbers, "body": "capped", "channel": name}
        ) as response:
            batch = await response.json()
            if response.status != 202:
                raise RuntimeError(f"send refused: {response.status} {batch}")
        started = time.perf_counter()
        while time.perf_counter() - started < deadline_s:
            async with session.get(f"{server.url}/v1/batches/{batch['id']}") as response:
                status = await response.json()
            if status["done"] >= status["accepted"]:
                break
            await asyncio.sleep(0.25)
        sent_times = await _sent_times(session, server, batch["id"])
    if len(sent_times) < 2:
        raise RuntimeError("no messages were sent")
    # n sends at the cap span n - 1 intervals.
    span = (max(sent_times) - min(sent_times)) / 1000 * len(sent_times) / (len(sent_times) - 1)
    return CappedResult(mps, len(sent_times), span)


async def _sent_times(session: aiohttp.ClientSession, server: Server, batch_id: str) -> list[int]:
    """When each message of the batch reached its final status (epoch ms): with the sandbox's
    immediate receipts that is its send, written within one result flush (20 ms)."""
    times: list[int] = []
    cursor: str | None = None
    for _ in range(1_000):  # pages of the batch's messages
        query = f"/v1/messages?batch_id={batch_id}&limit=1000" + (f"&cursor={cursor}" if cursor else "")
        async with session.get(server.url + query) as response:
            page = await response.json()
        times += [
            int(datetime.fromisoformat(m["updated_at"].replace("Z", "+00:00")).timestamp() * 1000)
            for m in page["data"]
            if m["status"] == "delivered"
        ]
        cursor = page.get("next_cursor")
        if not cursor:
            break
    return times


async def twilio_channel(server: Server, fake: FakeTwilioProcess, mps: int | None = None) -> str:
    """A twilio channel at the fake, asking for status callbacks (so messages end `delivered`)."""
    name = f"twilio-{mps or 'open'}-{random.randrange(10**9)}"
    channel = {
        "type": "twilio",
        "name": name,
        "settings": {"api_base_url": fake.url, "public_base_url": server.url, "timeout_seconds": 30},
        "credentials": {"account_sid": fake.account_sid, "auth_token": fake.auth_token},
        "senders": ["+15005550006"],
        "mps": mps,
    }
    async with (
        aiohttp.ClientSession(headers=HEADERS) as session,
        session.post(server.url + "/v1/channels", json=channel) as response,
    ):
        if response.status != 201:
            raise RuntimeError(f"channel refused: {response.status} {await response.text()}")
    return name


async def provider_capped(
    server: Server, fake: FakeTwilioProcess, mps: int, seconds: float = 10, deadline_s: float = 120
) -> CappedResult:
    """A twilio channel capped at ``mps`` against a fake that answers each create after its
    configured latency; the rate is what the fake received, first to last arrival."""
    await fake.reset()
    name = await twilio_channel(server, fake, mps)
    total = int(mps * seconds)
    numbers = [f"+2781{n:07d}" for n in random.sample(range(10_000_000), total)]
    async with aiohttp.ClientSession(headers=HEADERS) as session:
        async with session.post(
            server.url + "/v1/messages", json={"to": numbers, "body": "capped", "channel": name}
        ) as response:
            batch = await response.json()
            if response.status != 202:
                raise RuntimeError(f"send refused: {response.status} {batch}")
        started = time.perf_counter()
        while time.perf_counter() - started < deadline_s:
            async with session.get(f"{server.url}/v1/batches/{batch['id']}") as response:
                status = await response.json()
            if status["done"] >= status["accepted"]:
                break
            await asyncio.sleep(0.25)
    arrivals = await fake.received_at()
    if len(arrivals) < 2:
        raise RuntimeError("the fake received no messages")
    span = (max(arrivals) - min(arrivals)) * len(arrivals) / (len(arrivals) - 1)
    return CappedResult(mps, len(arrivals), span)


async def smpp_channel(server: Server, port: int, sessions: int, window: int = 10) -> str:
    """An smpp channel at the fake SMSC with ``sessions`` binds of window ``window``."""
    name = f"smpp-{sessions}-{random.randrange(10**9)}"
    channel = {
        "type": "smpp",
        "name": name,
        "settings": {
            "host": "127.0.0.1",
            "port": port,
            "system_id": "bench",
            "sessions": sessions,
            "window": window,
        },
        "credentials": {"password": "bench"},
        "senders": ["+15550001"],
    }
    async with (
        aiohttp.ClientSession(headers=HEADERS) as session,
        session.post(server.url + "/v1/channels", json=channel) as response,
    ):
        if response.status != 201:
            raise RuntimeError(f"channel refused: {response.status} {await response.text()}")
    return name
