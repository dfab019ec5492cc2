"""What every fake provider shares: an aiohttp server on a loopback port, keep-alive clients for
the callbacks it posts, and the background tasks that post them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self
from urllib.parse import urlsplit

import orjson
from aiohttp import web

from tidings.channels.keepalive import Answer, HttpFailure, KeepAliveClient
from tidings.simulators.receipts import ReceiptTasks

# Connections the fake opens to post callbacks, as a provider's callback fleet would.
CALLBACK_CONNECTIONS = 64
# A callback that has its connection gets this long to be answered. The wait for a connection is
# not counted: under a burst thousands of callbacks queue for one, and a limit that counted the
# wait dropped them in the fake itself (measured: 2,000 of 10,000 lost at full speed). A gateway
# that hangs costs a callback, not the fake.
CALLBACK_TIMEOUT_SECONDS = 10.0


class FakeServer:
    """Subclasses list their routes (:meth:`routes`); ``await start()`` and use :attr:`url` as
    the channel's API base URL, or ``async with`` the fake."""

    def __init__(self, *, host: str, port: int) -> None:
        self.host = host
        self.port = port  # 0: any free port, read back once started
        self._runner: web.AppRunner | None = None
        self._origins: dict[str, KeepAliveClient] = {}
        self._receipt_tasks = ReceiptTasks()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def routes(self) -> list[web.RouteDef]:
        raise NotImplementedError

    async def start(self) -> str:
        app = web.Application()
        app.add_routes(self.routes())
        # access_log=None: thousands of requests a second would otherwise go to the log, and
        # some providers put secrets in the path (Telegram's bot token).
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, backlog=1024)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self.url

    async def close(self) -> None:
        await self._receipt_tasks.cancel()
        for client in self._origins.values():
            await client.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    async def post_callback(
        self, url: str, body: bytes, content_type: str, headers: Mapping[str, str] | None = None
    ) -> tuple[int, str]:
        """POST a callback to ``url`` as the provider would; ``(status, answer text)``, or
        ``(0, what went wrong)`` when the gateway could not be reached or did not answer."""
        try:
            answer = await self.request("POST", url, body, content_type, headers)
        except (HttpFailure, TimeoutError) as exc:
            return 0, type(exc).__name__
        return answer.status, answer.body.decode(errors="replace")

    async def request(
        self,
        method: str,
        url: str,
        body: bytes = b"",
        content_type: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Answer:
        """One request to ``url`` over the keep-alive client for its origin (one per origin,
        made on first use)."""
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        client = self._origins.get(origin)
        if client is None:
            client = self._origins[origin] = KeepAliveClient(
                origin,
                headers={},
                max_connections=CALLBACK_CONNECTIONS,
                timeout_seconds=CALLBACK_TIMEOUT_SECONDS,
            )
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        return await client.request(method, path, body, content_type, headers)


def json_response(
    payload: Any,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
    content_type: str = "application/json",
) -> web.Response:
    """A JSON answer, as every fake's API and steering endpoints send them."""
    return web.Response(body=orjson.dumps(payload), status=status, content_type=content_type, headers=headers)
