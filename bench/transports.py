"""The provider channels' HTTP client interface over aiohttp and over httpx, for the bench only.

An adapter reaches its client through ``tidings.channels.http``: ``exchange`` calls
``client.request(method, path, body, content_type)`` and turns ``HttpFailure`` and
``TimeoutError`` into the provider's network error, reads the ``Answer`` (status, headers read
case-insensitively by lower-case name, body), and ``HttpChannel.close`` awaits
``client.close()``. Each class here keeps that contract, so the Twilio adapter runs unchanged
on top of it: a channel subclass overrides only ``open_client``, the factory hook every
``HttpChannel`` has.

Each library is set up as it would be to replace the keep-alive client (why each setting, in
the comments): one pooled client per channel for the lifetime of the channel, connections
limited to the channel's ``max_connections`` and kept alive as long (15 s idle), no cookies,
redirects or compression, the same fixed headers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Protocol
from urllib.parse import urlsplit

import aiohttp
import httpx
import yarl

from tidings import __version__
from tidings.channels.http import JSON
from tidings.channels.keepalive import IDLE_SECONDS, Answer, HttpFailure, KeepAliveClient
from tidings.channels.twilio.channel import TwilioChannel


class Client(Protocol):
    """What ``tidings.channels.http.exchange`` and ``HttpChannel`` use of a client."""

    async def request(
        self, method: str, path: str, body: bytes = b"", content_type: str | None = None
    ) -> Answer: ...

    async def close(self) -> None: ...


class AiohttpClient:
    """One ``aiohttp.ClientSession`` to the provider's origin."""

    def __init__(
        self, origin: str, *, headers: Mapping[str, str], max_connections: int, timeout_seconds: float
    ) -> None:
        connector = aiohttp.TCPConnector(
            # One origin: the whole limit is for it (aiohttp's default, 100, and no per-host cap).
            limit=max_connections,
            limit_per_host=0,
            # Idle connections reused as long as the keep-alive client keeps them.
            keepalive_timeout=IDLE_SECONDS,
            # The default; a loopback IP literal is never resolved, and a provider's name once
            # every 10 s at most.
            use_dns_cache=True,
        )
        self._origin = _origin(origin)
        self._session = aiohttp.ClientSession(
            connector=connector,
            headers=dict(headers),
            # A provider answers small JSON; asking for gzip would only cost both sides.
            skip_auto_headers=("Accept-Encoding",),
            auto_decompress=False,
            # Providers set no cookies the adapters need; the default jar is work per answer.
            cookie_jar=aiohttp.DummyCookieJar(),
            # Connect to last byte, as the keep-alive client counts it.
            timeout=aiohttp.ClientTimeout(total=timeout_seconds),
        )
        # Paths are few (one create path per channel): parse each URL once, already encoded.
        self._urls: dict[str, yarl.URL] = {}

    async def request(
        self, method: str, path: str, body: bytes = b"", content_type: str | None = None
    ) -> Answer:
        url = self._urls.get(path)
        if url is None:
            url = self._urls[path] = yarl.URL(self._origin + path, encoded=True)
        headers = {"Content-Type": content_type} if content_type is not None else None
        try:
            async with self._session.request(
                method, url, data=body or None, headers=headers, allow_redirects=False
            ) as response:
                return Answer(response.status, response.headers, await response.read())
        except TimeoutError:  # aiohttp's timeouts are TimeoutError too: checked first
            raise
        except aiohttp.ClientError as exc:
            raise HttpFailure(f"{type(exc).__name__}: {exc}") from None

    async def close(self) -> None:
        await self._session.close()


class HttpxClient:
    """One ``httpx.AsyncClient`` (HTTP/1.1, httpcore's pool) to the provider's origin."""

    def __init__(
        self, origin: str, *, headers: Mapping[str, str], max_connections: int, timeout_seconds: float
    ) -> None:
        self._client = httpx.AsyncClient(
            base_url=_origin(origin),
            headers={**headers, "Accept-Encoding": "identity"},
            http1=True,
            http2=False,
            limits=httpx.Limits(
                max_connections=max_connections,
                max_keepalive_connections=max_connections,
                keepalive_expiry=IDLE_SECONDS,
            ),
            # httpx limits each phase (connect, write, each read, pool wait), not the whole call.
            timeout=httpx.Timeout(timeout_seconds),
            follow_redirects=False,
            # No proxy or .netrc from the environment: the channel talks to its origin only.
            trust_env=False,
        )

    async def request(
        self, method: str, path: str, body: bytes = b"", content_type: str | None = None
    ) -> Answer:
        headers = {"Content-Type": content_type} if content_type is not None else None
        try:
            response = await self._client.request(method, path, content=body or None, headers=headers)
        except httpx.TimeoutException as exc:
            raise TimeoutError(str(exc)) from None
        except httpx.TransportError as exc:
            raise HttpFailure(f"{type(exc).__name__}: {exc}") from None
        return Answer(response.status_code, response.headers, response.content)

    async def close(self) -> None:
        await self._client.aclose()


def _origin(base_url: str) -> str:
    """Scheme, host and port only: the adapters' paths already carry any prefix of the base URL
    (``http.api_path``), as the keep-alive client expects."""
    parts = urlsplit(base_url)
    return f"{parts.scheme}://{parts.netloc}"


Opener = Callable[..., Client]

# What each configuration of the bench builds; "keep-alive" is the shipped client, as the
# shipped adapter opens it.
TRANSPORTS: dict[str, Opener] = {
    "keep-alive": KeepAliveClient,
    "aiohttp": AiohttpClient,
    "httpx": HttpxClient,
}


def twilio_channel_class(transport: str) -> type[TwilioChannel]:
    """The Twilio adapter as shipped, or with its client opened over ``transport`` instead."""
    if transport == "keep-alive":
        return TwilioChannel
    opener = TRANSPORTS[transport]

    class SwappedTwilioChannel(TwilioChannel):
        opens: ClassVar[Opener] = opener

        # Any: HttpChannel's hook is typed as the keep-alive client; these keep its interface.
        def open_client(self) -> Any:
            # The arguments and fixed headers ``twilio.api.open_client`` gives the keep-alive
            # client, through ``http.open_client``.
            user, password = self.secrets.basic_auth()
            return self.opens(
                self.config.api_base_url,
                headers={
                    "Accept": JSON,
                    "User-Agent": f"tidings/{__version__}",
                    "Authorization": aiohttp.encode_basic_auth(user, password),
                },
                max_connections=self.config.max_connections,
                timeout_seconds=self.config.timeout_seconds,
            )

    return SwappedTwilioChannel
