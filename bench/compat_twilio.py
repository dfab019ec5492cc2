"""The Twilio-compatible surface's cost beside the native API's, in one run on one gateway.

50 clients send one-recipient messages back to back, first through ``POST /v1/messages``
(JSON, Bearer key), then through ``POST /twilio/api/2010-04-01/Accounts/{AC}/Messages.json``
(form-encoded, Basic auth, as the official SDK sends it), each phase bounded in count and time.
A phase's cost is the server's CPU from its first request until every message it sent has left
the queue (sandbox channel, delivered), divided by the messages accepted: the compat path should
cost at most 1.3 times the native one (issue 16).
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import aiohttp

from bench.scenarios import HEADERS, LatencyResult, percentile
from bench.server import Server

TARGET_RATIO = 1.3
FORM = "application/x-www-form-urlencoded"
Post = Callable[[aiohttp.ClientSession, int], Awaitable[int]]
DRAIN_TIMEOUT_S = 120
SENDER = "+27820000001"  # both paths name their sender, as Twilio's clients always do


@dataclass
class PathResult:
    latency: LatencyResult
    cpu_s: float

    @property
    def accepted(self) -> int:
        return self.latency.requests - self.latency.errors

    @property
    def cpu_ms_per_message(self) -> float:
        return self.cpu_s * 1000 / max(1, self.accepted)


@dataclass
class CompatResult:
    native: PathResult
    compat: PathResult

    @property
    def ratio(self) -> float:
        return self.compat.cpu_ms_per_message / self.native.cpu_ms_per_message


async def run(server: Server, *, requests: int, max_s: float, clients: int = 50) -> CompatResult:
    async with (
        aiohttp.ClientSession(headers=HEADERS) as session,
        session.get(server.url + "/v1/accounts/me") as response,
    ):
        me = await response.json()
    account_sid, token = me["id"], me["auth_token"]
    basic = "Basic " + base64.b64encode(f"{account_sid}:{token}".encode()).decode()
    compat_url = f"{server.url}/twilio/api/2010-04-01/Accounts/{account_sid}/Messages.json"

    async def native(session: aiohttp.ClientSession, n: int) -> int:
        body = {"to": f"+2783{n:07d}", "from": SENDER, "body": "hi"}
        async with session.post(server.url + "/v1/messages", json=body, headers=HEADERS) as response:
            await response.read()
            return 202 - response.status

    async def compat(session: aiohttp.ClientSession, n: int) -> int:
        form = f"To=%2B2784{n:07d}&From=%2B{SENDER[1:]}&Body=hi"
        headers = {"Authorization": basic, "Content-Type": FORM}
        async with session.post(compat_url, data=form, headers=headers) as response:
            await response.read()
            return 201 - response.status

    native_result = await _phase(server, native, clients, requests, max_s)
    compat_result = await _phase(server, compat, clients, requests, max_s)
    return CompatResult(native_result, compat_result)


async def _phase(server: Server, post: Post, clients: int, requests: int, max_s: float) -> PathResult:
    """``clients`` concurrent clients posting back to back; then wait for the queue to drain."""
    latencies: list[float] = []
    errors = 0
    counter = iter(range(requests))
    cpu_before = server.cpu_seconds()
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector) as session:
        started = time.perf_counter()

        async def client() -> None:
            nonlocal errors
            for n in counter:
                if time.perf_counter() - started > max_s:
                    return
                sent = time.perf_counter()
                if await post(session, n) != 0:
                    errors += 1
                latencies.append(time.perf_counter() - sent)

        await asyncio.gather(*(client() for _ in range(clients)))
        elapsed = time.perf_counter() - started
        await _drained(server, session)
    latency = LatencyResult(
        len(latencies), errors, elapsed, percentile(latencies, 0.5), percentile(latencies, 0.99)
    )
    return PathResult(latency, server.cpu_seconds() - cpu_before)


async def _drained(server: Server, session: aiohttp.ClientSession) -> None:
    """Until no message waits to be sent (bounded)."""
    deadline = time.perf_counter() + DRAIN_TIMEOUT_S
    while time.perf_counter() < deadline:
        waiting = 0
        for status in ("queued", "sending"):
            url = f"{server.url}/v1/messages?status={status}&limit=1"
            async with session.get(url, headers=HEADERS) as response:
                waiting += len((await response.json())["data"])
        if not waiting:
            return
        await asyncio.sleep(0.2)
