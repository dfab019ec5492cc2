"""A lean HTTP/1.1 client for a channel's send path: keep-alive connections to one origin, one
request at a time on each, answers parsed by httptools (llhttp, the parser uvicorn serves with).

Why not aiohttp, which the gateway keeps for outbound event webhooks: a channel like Twilio
makes one small form POST per message to one origin, and aiohttp's general machinery (request
and response objects, payload registry, stream readers, per-request timers and connector
bookkeeping) costs more than the rest of the gateway's work for that message. Measured side by
side (``uv run python -m bench http-clients``): a tuned aiohttp takes 2-2.6 times this client's
CPU a send and httpx 33-45 times; docs/decisions/0003-provider-http-client.md has the figures and
what would reopen the choice. So the connection handling is written here (about a hundred
lines) and the part that is easy to get wrong, parsing answers, is llhttp's.

Left out on purpose, since a provider's API needs none of it: redirects, cookies, proxies,
compression, streamed bodies, HTTP/2. An answer must carry Content-Length or be chunked.
"""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any, cast
from urllib.parse import urlsplit

import httptools

# Idle connections older than this are closed rather than reused: servers drop idle keep-alive
# connections after a while, and a request written into one they are closing fails. aiohttp's
# default is the same.
IDLE_SECONDS = 15.0
# Provider answers are small JSON documents; a larger one is refused rather than buffered.
MAX_ANSWER_BYTES = 1 << 20
_LINE_BREAKS = frozenset("\r\n")
_UNSAFE_IN_PATH = _LINE_BREAKS | {" "}
_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    headers: Mapping[str, str]  # names lower-cased; a repeated header keeps its last value
    body: bytes

    def json(self) -> Any:
        """The body read as JSON, or None when it is empty or not JSON (an error page, say).
        The standard library's reader: it keeps any integer exact (Viber's tokens are 64-bit)."""
        try:
            return json.loads(self.body) if self.body else None
        except ValueError:  # UnicodeDecodeError included
            return None


class HttpFailure(Exception):
    """The exchange broke: no connection, the connection closed early, or a malformed or
    oversized answer. Whether the provider acted on the request is unknown."""


class _Connection(asyncio.Protocol):
    """One TCP (or TLS) connection; at most one request outstanding."""

    def __init__(self, max_answer_bytes: int) -> None:
        self.transport: asyncio.Transport | None = None
        self.usable = True
        self.idle_since = 0.0
        self.reused = False  # taken from the idle pool for the current request
        self.heard_back = False  # any byte of the current request's answer arrived
        self._parser = httptools.HttpResponseParser(self)
        self._answer: asyncio.Future[Answer] | None = None
        self._headers: dict[str, str] = {}
        self._body: list[bytes] = []
        self._size = 0
        self._max_answer_bytes = max_answer_bytes

    def exchange(self, request: bytes) -> asyncio.Future[Answer]:
        assert self.transport is not None and self._answer is None
        self._answer = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        return self._answer

    def close(self) -> None:
        self.usable = False
        if self.transport is not None:
            self.transport.close()

    # -- asyncio.Protocol -------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.heard_back = True
        if self._answer is None:  # bytes nobody asked for (a 408 before closing, say)
            self.close()
            return
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(HttpFailure(f"malformed answer: {exc}"))
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.usable = False
        reason = f": {exc}" if exc else ""
        self._fail(HttpFailure(f"the connection closed before the answer was complete{reason}"))

    # -- httptools callbacks ----------------------------------------------------------------------

    def on_message_begin(self) -> None:
        if self._answer is None:  # a second answer behind the one asked for, in the same bytes
            self.close()

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_body(self, body: bytes) -> None:
        self._size += len(body)
        if self._size > self._max_answer_bytes:
            self._fail(HttpFailure(f"the answer is larger than {self._max_answer_bytes} bytes"))
            self.close()
        else:
            self._body.append(body)

    def on_message_complete(self) -> None:
        answer = Answer(self._parser.get_status_code(), self._headers, b"".join(self._body))
        if not self._parser.should_keep_alive():
            self.close()
        self._headers, self._body, self._size = {}, [], 0
        waiter, self._answer = self._answer, None
        if waiter is not None and not waiter.done():
            waiter.set_result(answer)

    def _fail(self, error: HttpFailure) -> None:
        waiter, self._answer = self._answer, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(error)


def _header_lines(headers: Mapping[str, str]) -> bytes:
    if any(_LINE_BREAKS.intersection(f"{name}{value}") for name, value in headers.items()):
        raise ValueError("header names and values must not contain line breaks")
    return "".join(f"{name}: {value}\r\n" for name, value in headers.items()).encode("latin-1")


class KeepAliveClient:
    """Requests to one origin (``https://api.twilio.com``) over at most ``max_connections``
    keep-alive connections, each limited to ``timeout_seconds`` from connect to the last byte.

    Raises :class:`HttpFailure` when the exchange broke and :class:`TimeoutError` when it took too
    long; any answer, whatever its status, is returned for the caller to judge.
    """

    def __init__(
        self,
        origin: str,
        *,
        headers: Mapping[str, str],
        max_connections: int,
        timeout_seconds: float,
        ssl_context: ssl.SSLContext | None = None,
        max_answer_bytes: int = MAX_ANSWER_BYTES,
    ) -> None:
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("the origin must be an http:// or https:// URL with a host")
        self._host = parts.hostname
        tls = parts.scheme == "https"
        self._port = parts.port or (443 if tls else 80)
        self._ssl = (ssl_context or ssl.create_default_context()) if tls else None
        self._head = _header_lines({"Host": parts.netloc.rpartition("@")[2], **headers})
        self._timeout = timeout_seconds
        self._slots = asyncio.Semaphore(max_connections)
        self._new_connection = partial(_Connection, max_answer_bytes)
        self._idle: list[_Connection] = []
        self._closed = False

    async def request(
        self,
        method: str,
        path: str,
        body: bytes = b"",
        content_type: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Answer:
        """``path`` is the origin's absolute path, already percent-encoded (``/2010-04-01/…``);
        ``headers`` are sent on this request only, after the client's own."""
        if not path.startswith("/") or _UNSAFE_IN_PATH.intersection(path):
            raise ValueError("the path must be absolute and percent-encoded")
        head = f"{method} {path} HTTP/1.1\r\n".encode("latin-1") + self._head
        if headers:
            head += _header_lines(headers)
        if content_type is not None:
            head += f"Content-Type: {content_type}\r\n".encode("latin-1")
        if body or method in ("POST", "PUT", "PATCH"):
            head += b"Content-Length: %d\r\n" % len(body)
        request = head + b"\r\n" + body
        async with self._slots:
            if self._closed:
                raise HttpFailure("the client is closed")
            async with asyncio.timeout(self._timeout):
                connection = self._reusable() or await self._connect()
                try:
                    answer = await connection.exchange(request)
                except HttpFailure:
                    connection.close()
                    if not (connection.reused and not connection.heard_back and method in _IDEMPOTENT):
                        raise
                    # A kept-alive connection the server closed as the request went out, with not
                    # a byte back: a request that changes nothing is asked again, once, on a new
                    # connection (as aiohttp and browsers do). A POST is never repeated here.
                    connection = await self._connect()
                    try:
                        answer = await connection.exchange(request)
                    except BaseException:
                        connection.close()
                        raise
                except BaseException:
                    connection.close()  # mid-exchange: what the server will send next is unknown
                    raise
            if connection.usable and not self._closed:
                connection.idle_since = asyncio.get_running_loop().time()
                self._idle.append(connection)
            else:
                connection.close()
        return answer

    async def close(self) -> None:
        """Close idle connections now and busy ones as their exchange ends."""
        self._closed = True
        idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()

    def _reusable(self) -> _Connection | None:
        now = asyncio.get_running_loop().time()
        while self._idle:
            connection = self._idle.pop()  # the most recently used: the least likely to be stale
            if connection.usable and now - connection.idle_since < IDLE_SECONDS:
                connection.reused, connection.heard_back = True, False
                return connection
            connection.close()
        return None

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        try:
            _, connection = await loop.create_connection(
                self._new_connection,
                self._host,
                self._port,
                ssl=self._ssl,
                server_hostname=self._host if self._ssl else None,
            )
        except OSError as exc:  # refused, unreachable, DNS, TLS handshake
            raise HttpFailure(f"cannot connect to {self._host}:{self._port}: {exc}") from None
        return connection
