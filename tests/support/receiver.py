"""A webhook receiver for tests: a real aiohttp server on loopback that records every request.

It can refuse the first N requests (or all, until told otherwise) with a 500, so tests see the
gateway retry; and it reads server-sent event streams for the live-stream tests. The
``receiver`` fixture is registered by the root conftest.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from aiohttp import web


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    answered: int

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def event_id(self) -> str:
        return str(self.json["id"])


class Receiver:
    def __init__(self, *, fail_first: int = 0, fail_all: bool = False) -> None:
        self.fail_first = fail_first
        self.fail_all = fail_all
        self.requests: list[Received] = []
        self._runner: web.AppRunner | None = None
        self._changed = asyncio.Event()
        self.url = ""

    async def start(self, port: int = 0) -> str:
        app = web.Application()
        app.router.add_post("/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        await web.SockSite(self._runner, sock).start()
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        failing = self.fail_all or self.fail_first > 0
        if self.fail_first > 0:
            self.fail_first -= 1
        status = 500 if failing else 204
        self.requests.append(Received(request.path, dict(request.headers), body, status))
        self._changed.set()
        return web.Response(status=status, text="receiver says no" if failing else "")

    def delivered(self, path: str | None = None) -> list[Received]:
        """Requests answered 2xx, in arrival order (optionally only those to ``path``)."""
        return [r for r in self.requests if r.answered < 300 and (path is None or r.path == path)]

    async def wait_until(self, condition: Callable[[], bool], *, timeout: float = 15.0) -> None:
        """Wait (bounded) until ``condition()`` holds, re-checking after each request."""
        deadline = asyncio.get_running_loop().time() + timeout
        while not condition():
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise AssertionError(f"receiver condition not met; got {len(self.requests)} requests")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(remaining, 0.2))


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """A receiver on a kernel-chosen loopback port that answers every request 204."""
    server = Receiver()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@dataclass(frozen=True)
class StreamEvent:
    id: str | None
    event: str | None
    data: str

    @property
    def json(self) -> Any:
        return json.loads(self.data)


async def read_events(
    response: aiohttp.ClientResponse, count: int, *, timeout: float = 10.0, comments: list[str] | None = None
) -> list[StreamEvent]:
    """Read ``count`` events (and note comment lines) from an open SSE response, bounded in time."""
    events: list[StreamEvent] = []
    fields: dict[str, str] = {}

    async def read() -> None:
        while len(events) < count:
            raw = await response.content.readline()
            if not raw:
                raise AssertionError("the stream ended")
            line = raw.decode().rstrip("\r\n")
            if not line:
                if "data" in fields:
                    events.append(StreamEvent(fields.get("id"), fields.get("event"), fields["data"]))
                fields.clear()
            elif line.startswith(":"):
                if comments is not None:
                    comments.append(line)
            else:
                name, _, value = line.partition(":")
                fields[name] = value[1:] if value.startswith(" ") else value

    await asyncio.wait_for(read(), timeout)
    return events
