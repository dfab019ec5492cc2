"""The keep-alive client against raw loopback servers that write the exact bytes under test."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from support.ports import closed_port
from tidings.channels.keepalive import Answer, HttpFailure, KeepAliveClient


@dataclass
class Request:
    head: bytes
    body: bytes

    @property
    def line(self) -> bytes:
        return self.head.split(b"\r\n", 1)[0]

    def header(self, name: str) -> str | None:
        for line in self.head.split(b"\r\n")[1:]:
            key, _, value = line.decode("latin-1").partition(":")
            if key.lower() == name.lower():
                return value.strip()
        return None


# Writes the answer to one request; returns False to stop serving that connection.
FORM = "application/x-www-form-urlencoded"
Script = Callable[[Request, asyncio.StreamWriter, int], Awaitable[bool]]


def answer(status: int = 200, body: bytes = b"{}", extra: str = "") -> bytes:
    return (
        f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n{extra}\r\n"
    ).encode() + body


@dataclass
class RawServer:
    """Counts connections and requests; each request is answered by ``script``."""

    script: Script
    tls: ssl.SSLContext | None = None
    connections: int = 0
    open_now: int = 0
    most_open: int = 0
    requests: list[Request] = field(default_factory=list)
    writers: list[asyncio.StreamWriter] = field(default_factory=list)
    handlers: set[asyncio.Task[None]] = field(default_factory=set)
    port: int = 0
    _server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self.tls)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in self.writers:
            writer.close()
        if self.handlers:  # each ends on its closed connection
            await asyncio.wait(self.handlers, timeout=5)
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.handlers.add(task)
        self.connections += 1
        number = self.connections
        self.open_now += 1
        self.most_open = max(self.most_open, self.open_now)
        self.writers.append(writer)
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                request = Request(head, b"")
                request.body = await reader.readexactly(int(request.header("Content-Length") or 0))
                self.requests.append(request)
                if not await self.script(request, writer, number):
                    return
                await writer.drain()
        finally:
            self.open_now -= 1
            writer.close()
            self.handlers.discard(task)


Serve = Callable[..., Awaitable[RawServer]]


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    servers: list[RawServer] = []

    async def start(script: Script, tls: ssl.SSLContext | None = None) -> RawServer:
        server = RawServer(script, tls)
        await server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        await server.close()


def client_for(server: RawServer, **options: object) -> KeepAliveClient:
    settings: dict[str, object] = {"headers": {"Authorization": "Basic abc"}, "max_connections": 8}
    settings |= {"timeout_seconds": 5.0, **options}
    return KeepAliveClient(f"http://127.0.0.1:{server.port}", **settings)  # type: ignore[arg-type]


async def echo(request: Request, writer: asyncio.StreamWriter, connection: int) -> bool:
    writer.write(answer(201, b'{"sid":"SM1"}' + request.body, "Retry-After: 3\r\n"))
    return True


async def test_requests_share_one_connection_and_carry_the_fixed_headers(serve: Serve) -> None:
    server = await serve(echo)
    client = client_for(server)
    try:
        first = await client.request(
            "POST", "/2010-04-01/Messages.json", b"To=%2B1", "application/x-www-form-urlencoded"
        )
        second = await client.request("GET", "/2010-04-01/Messages/SM1.json", headers={"X-Once": "1"})
    finally:
        await client.close()
    assert (first.status, first.body, first.headers["retry-after"]) == (201, b'{"sid":"SM1"}To=%2B1', "3")
    assert second.body == b'{"sid":"SM1"}'
    assert server.connections == 1
    posted, fetched = server.requests
    assert posted.line == b"POST /2010-04-01/Messages.json HTTP/1.1"
    assert (posted.header("Host"), posted.header("Authorization")) == (
        f"127.0.0.1:{server.port}",
        "Basic abc",
    )
    assert (posted.header("Content-Type"), posted.header("Content-Length")) == (FORM, "7")
    assert fetched.line == b"GET /2010-04-01/Messages/SM1.json HTTP/1.1"
    assert fetched.header("Content-Length") is None
    assert (posted.header("X-Once"), fetched.header("X-Once")) == (None, "1")


async def test_a_chunked_answer_is_reassembled(serve: Serve) -> None:
    async def chunked(request: Request, writer: asyncio.StreamWriter, connection: int) -> bool:
        writer.write(
            b'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{"a"\r\n3\r\n:1}\r\n0\r\n\r\n'
        )
        return True

    client = client_for(await serve(chunked))
    try:
        got = await client.request("GET", "/x")
    finally:
        await client.close()
    assert got.body == b'{"a":1}'


async def test_connection_close_in_the_answer_opens_a_new_connection_next_time(serve: Serve) -> None:
    async def closing(request: Request, writer: asyncio.StreamWriter, connection: int) -> bool:
        writer.write(answer(body=str(connection).encode(), extra="Connection: close\r\n"))
        return False

    server = await serve(closing)
    client = client_for(server)
    try:
        bodies = [(await client.request("GET", "/x")).body for _ in range(3)]
    finally:
        await client.close()
    assert bodies == [b"1", b"2", b"3"]


async def test_an_idle_connection_the_server_dropped_is_not_reused(serve: Serve) -> None:
    async def once(request: Request, writer: asyncio.StreamWriter, connection: int) -> bool:
        writer.write(answer(body=str(connection).encode()))
        return False  # the server closes after answering, without saying so

    server = await serve(once)
    client = client_for(server)
    try:
        first = await client.request("GET", "/x")
        await asyncio.sleep(0.05)  # the close reaches the client while the connection is idle
        second = await client.request("GET", "/x")
    finally:
        await client.close()
    assert (first.body, second.body) == (b"1", b"2")


@pytest.mark.parametrize(
    ("written", "reason"),
    [
        (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{}", "closed before the answer was complete"),
        (b"SMTP ready\r\n\r\n", "malformed answer"),
        (answer(body=b"x" * 2000), "larger than 1000 bytes"),
    ],
)
async def test_a_broken_answer_fails_and_the_next_request_gets_a_fresh_connection(
    serve: Serve,
    written: bytes,
    reason: str,
) -> None:
    async def broken_first(request: Request, writer: asyncio.StreamWriter, connection: int) -> bool:
        if connection == 1:
            writer.write(written)
            return False
        writer.write(answer(body=b"fine"))
        return True

    server = await serve(broken_first)
    client = client_for(server, max_answer_bytes=1000)
    try:
        with pytest.raises(HttpFailure, match=reason):
            await client.request("GET", "/x")
        after = await client.request("GET", "/x")
    finally:
        await client.close()
    assert after.body == b"fine"
    assert server.connections == 2


@pytest.mark.parametrize(("method", "repeated"), [("GET", True), ("POST", False)])
async def test_a_reused_connection_closed_under_a_request_repeats_only_requests_that_change_nothing(
    serve: Serve, method: str, repeated: bool
) -> None:
    answered: dict[int, int] = {}

    async def drops_the_second(request: Request, writer: asyncio.StreamWriter, connection: int) -> bool:
        answered[connection] = answered.get(connection, 0) + 1
        if answered[connection] == 2:
            return False  # closed as a server timing out an idle connection would, no answer
        writer.write(answer(body=str(connection).encode()))
        return True

    server = await serve(drops_the_second)
    client = client_for(server)
    body = b"x" if method == "POST" else b""
    try:
        first = await client.request(method, "/x", body)
        if repeated:
            second = await client.request(method, "/x", body)
            assert (first.body, second.body) == (b"1", b"2")
        else:
            with pytest.raises(HttpFailure, match="closed before the answer"):
                await client.request(method, "/x", body)
    finally:
        await client.close()
    assert len(server.requests) == (3 if repeated else 2)  # a POST reached the server once only


async def test_a_late_answer_never_reaches_the_next_request(serve: Serve) -> None:
    async def slow_first(request: Request, writer: asyncio.StreamWriter, connection: int) -> bool:
        if connection == 1:
            await asyncio.sleep(0.3)
            writer.write(answer(body=b"late"))
            return True
        writer.write(answer(body=b"on time"))
        return True

    server = await serve(slow_first)
    client = client_for(server, timeout_seconds=0.1)
    try:
        with pytest.raises(TimeoutError):
            await client.request("GET", "/x")
        await asyncio.sleep(0.3)
        after = await client.request("GET", "/x")
        open_after = server.open_now
    finally:
        await client.close()
    assert after.body == b"on time"
    assert (server.connections, open_after) == (2, 1)  # the timed-out one was closed, not leaked


async def test_nothing_listening_is_a_failure_naming_the_address() -> None:
    with closed_port() as port:  # refused: bound, nothing listening
        client = KeepAliveClient(f"http://127.0.0.1:{port}", headers={}, max_connections=1, timeout_seconds=5)
        with pytest.raises(HttpFailure, match=f"cannot connect to 127.0.0.1:{port}"):
            await client.request("GET", "/x")


async def test_concurrent_requests_never_open_more_than_max_connections(serve: Serve) -> None:
    async def slow(request: Request, writer: asyncio.StreamWriter, connection: int) -> bool:
        await asyncio.sleep(0.02)
        writer.write(answer(body=request.line.split()[1]))
        return True

    server = await serve(slow)
    client = client_for(server, max_connections=3)
    try:
        got = await asyncio.gather(*(client.request("GET", f"/{n}") for n in range(12)))
    finally:
        await client.close()
    assert sorted(a.body for a in got) == sorted(f"/{n}".encode() for n in range(12))
    assert server.most_open == 3
    assert server.connections == 3


@pytest.mark.parametrize("together", [False, True], ids=["later", "in the same write"])
async def test_unasked_answers_retire_the_connection(serve: Serve, together: bool) -> None:
    async def chatty(request: Request, writer: asyncio.StreamWriter, connection: int) -> bool:
        asked = answer(body=str(connection).encode())
        unasked = answer(408, b"timeout")  # as servers do before dropping an idle client
        if connection > 1:
            writer.write(asked)
        elif together:
            writer.write(asked + unasked)
        else:
            writer.write(asked)
            await writer.drain()
            await asyncio.sleep(0.02)
            writer.write(unasked)
        return True

    server = await serve(chatty)
    client = client_for(server)
    try:
        first = await client.request("GET", "/x")
        await asyncio.sleep(0.1)
        second = await client.request("GET", "/x")
    finally:
        await client.close()
    assert (first.body, second.body) == (b"1", b"2")


async def test_close_closes_idle_connections_and_refuses_requests(serve: Serve) -> None:
    server = await serve(echo)
    client = client_for(server)
    await client.request("GET", "/x")
    assert server.open_now == 1
    await client.close()
    for _ in range(100):
        if server.open_now == 0:
            break
        await asyncio.sleep(0.01)
    assert server.open_now == 0
    with pytest.raises(HttpFailure, match="closed"):
        await client.request("GET", "/x")


@pytest.mark.parametrize("path", ["x", "/a b", "/a\r\nInjected: 1"])
async def test_a_path_that_would_break_the_request_line_is_refused(serve: Serve, path: str) -> None:
    server = await serve(echo)
    client = client_for(server)
    with pytest.raises(ValueError, match="path"):
        await client.request("GET", path)
    assert server.connections == 0


async def test_a_header_with_line_breaks_is_refused(serve: Serve) -> None:
    server = await serve(echo)
    client = client_for(server)
    with pytest.raises(ValueError, match="line breaks"):
        await client.request("GET", "/x", headers={"X-Signature": "a\r\nInjected: 1"})
    assert server.connections == 0
    with pytest.raises(ValueError, match="line breaks"):
        KeepAliveClient(
            "http://127.0.0.1:9", headers={"X": "a\r\nB: c"}, max_connections=1, timeout_seconds=1
        )


def _self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


async def test_https_verifies_the_server_certificate(serve: Serve, tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    server = await serve(echo, tls=server_tls)
    trusting = ssl.create_default_context(cafile=str(cert))
    client = KeepAliveClient(
        f"https://127.0.0.1:{server.port}",
        headers={},
        max_connections=2,
        timeout_seconds=5,
        ssl_context=trusting,
    )
    untrusting = KeepAliveClient(
        f"https://127.0.0.1:{server.port}", headers={}, max_connections=2, timeout_seconds=5
    )
    try:
        got = await client.request("POST", "/x", b"body", "text/plain")
        with pytest.raises(HttpFailure, match="certificate verify failed"):
            await untrusting.request("GET", "/x")
    finally:
        await client.close()
        await untrusting.close()
    assert got.body == b'{"sid":"SM1"}body'


@pytest.mark.parametrize(
    ("body", "read"),
    [
        (b'{"message_token": 5491238847392837123}', {"message_token": 5491238847392837123}),
        (b"", None),
        (b"<html>502 Bad Gateway</html>", None),
        (b"\xff\xfe not UTF-8", None),
    ],
)
def test_an_answer_reads_as_json_or_none(body: bytes, read: object) -> None:
    assert Answer(200, {}, body).json() == read
