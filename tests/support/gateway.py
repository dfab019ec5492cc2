"""The running-gateway harness: a real gateway per test on a migrated database (SQLite file or
PostgreSQL), uvicorn on a loopback port the kernel picks (port 0, so parallel workers never
collide), and an HTTP client holding the bootstrap admin key.

Registered as fixtures by the root conftest; tests import the types and constants from here."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import uvicorn

from tidings.app import create_app
from tidings.config import DispatchSettings, Settings, WebhookSettings
from tidings.runtime import Gateway
from tidings.store.migrate import upgrade

ADMIN_KEY = "tdk_test_admin_key_0123456789abcdefghijklmnopqrstuv"
UrlFactory = Callable[[], Awaitable[str]]

# Retries that finish within a test: 20-40 ms, 40-80 ms, ...; an open circuit probes after 0.2 s.
FAST_DISPATCH = DispatchSettings(
    retry_base_seconds=0.04,
    retry_max_seconds=0.2,
    poll_interval_seconds=0.05,
    lease_seconds=30,
    circuit_cooldown_seconds=0.2,
)

# Webhook retries within a test: 25-50 ms, 50-100 ms, ... capped at 200 ms.
FAST_WEBHOOKS = WebhookSettings(
    poll_interval_seconds=0.05, retry_base_seconds=0.05, retry_max_seconds=0.2, lease_seconds=30
)


@dataclass
class Response:
    status: int
    body: Any
    headers: dict[str, str]


@dataclass
class RunningGateway:
    url: str
    gateway: Gateway
    session: aiohttp.ClientSession
    key: str = ADMIN_KEY

    async def call(
        self,
        method: str,
        path: str,
        json: Any = None,
        *,
        key: str | None = None,
        headers: dict[str, str] | None = None,
        data: Any = None,
        auth: bool = True,
    ) -> Response:
        sent = dict(headers or {})
        if auth and "Authorization" not in sent:
            sent["Authorization"] = f"Bearer {key or self.key}"
        async with self.session.request(method, self.url + path, json=json, data=data, headers=sent) as resp:
            text = await resp.text()
            try:
                body: Any = await resp.json(content_type=None) if text else None
            except ValueError:
                body = text
            return Response(resp.status, body, dict(resp.headers))

    async def create_channel(self, **options: Any) -> dict[str, Any]:
        """A channel of the bootstrap admin's account, made through the service (not the API),
        so a test can give it settings the API would hide; the stored row."""
        admin = await self.gateway.accounts.authenticate_key(ADMIN_KEY)
        return await self.gateway.channels.create(admin, **options)

    def basic(self, account_id: str, token: str) -> dict[str, str]:
        encoded = base64.b64encode(f"{account_id}:{token}".encode()).decode()
        return {"Authorization": f"Basic {encoded}"}

    async def wait_for_status(
        self, message_id: str, statuses: set[str], *, timeout: float = 10.0, key: str | None = None
    ) -> dict[str, Any]:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            got = await self.call("GET", f"/v1/messages/{message_id}", key=key)
            if got.body.get("status") in statuses:
                return dict(got.body)
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"{message_id} stayed {got.body.get('status')}, wanted {statuses}")
            await asyncio.sleep(0.02)

    async def wait_for_batch(self, batch_id: str, *, timeout: float = 20.0) -> dict[str, Any]:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            got = await self.call("GET", f"/v1/batches/{batch_id}")
            if got.body["done"] >= got.body["accepted"]:
                return dict(got.body)
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"batch {batch_id} not done: {got.body}")
            await asyncio.sleep(0.05)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url_factory(request: pytest.FixtureRequest, tmp_path: Path) -> UrlFactory:
    """Fresh, empty databases of each backend (the suite runs on both)."""
    if request.param == "postgresql":
        factory: UrlFactory = request.getfixturevalue("make_postgres_url")
        return factory

    async def make_sqlite() -> str:
        return f"sqlite:///{tmp_path / 'tidings.db'}"

    return make_sqlite


@pytest.fixture
def sqlite_url_factory(tmp_path: Path) -> UrlFactory:
    """SQLite only: for API-edge tests whose behaviour does not depend on the backend."""

    async def make_sqlite() -> str:
        return f"sqlite:///{tmp_path / 'tidings.db'}"

    return make_sqlite


async def start_gateway(
    url: str, tmp_path: Path, **overrides: Any
) -> tuple[uvicorn.Server, asyncio.Task[None], RunningGateway]:
    options: dict[str, Any] = {
        "database_url": url,
        "bootstrap_key": ADMIN_KEY,
        "data_dir": tmp_path / "data",
        "number_workers": 0,
        "dispatch": FAST_DISPATCH,
        "log_format": "console",
    }
    options.update(overrides)
    settings = Settings(**options)
    await upgrade(url)
    gateway = Gateway(settings)
    app = create_app(settings, gateway=gateway)
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, access_log=False, lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    session = aiohttp.ClientSession()
    return server, task, RunningGateway(f"http://127.0.0.1:{port}", gateway, session)


GatewayFactory = Callable[..., Awaitable[RunningGateway]]


@pytest.fixture
async def gateway_factory(
    tmp_path: Path,
) -> AsyncIterator[Callable[..., Awaitable[RunningGateway]]]:
    """Start gateways with setting overrides; every one is stopped after the test."""
    running: list[tuple[uvicorn.Server, asyncio.Task[None], RunningGateway]] = []

    async def make(url_factory: UrlFactory, **overrides: Any) -> RunningGateway:
        url = await url_factory()
        started = await start_gateway(url, tmp_path / f"gw{len(running)}", **overrides)
        running.append(started)
        return started[2]

    yield make
    for server, task, client in running:
        await client.session.close()
        server.should_exit = True
        await asyncio.wait_for(task, 30)


@pytest.fixture
async def gw(
    gateway_factory: Callable[..., Awaitable[RunningGateway]], database_url_factory: UrlFactory
) -> RunningGateway:
    """A running gateway on each backend, with default settings."""
    return await gateway_factory(database_url_factory)


@pytest.fixture
async def gw_sqlite(
    gateway_factory: Callable[..., Awaitable[RunningGateway]], sqlite_url_factory: UrlFactory
) -> RunningGateway:
    return await gateway_factory(sqlite_url_factory)
