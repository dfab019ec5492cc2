"""What every HTTP provider channel shares: validated base URLs, the Retry-After header, and its
keep-alive client."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable, Mapping
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field

from tidings import __version__
from tidings.channels.base import Channel, SendError
from tidings.channels.keepalive import Answer, HttpFailure, KeepAliveClient


def _base_url(value: str) -> str:
    """Refused here rather than at the first call: a URL no client can use fails every send."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http:// or https:// URL with a host")
    try:
        parts.port  # noqa: B018 - raises for a port out of range
    except ValueError:
        raise ValueError("has a port out of range") from None
    if parts.username is not None or parts.password is not None:
        raise ValueError("must not carry credentials: set them as the channel's credentials")
    if parts.query or parts.fragment or any(c.isspace() for c in value):
        raise ValueError("must not have a query, a fragment or whitespace")
    return value.rstrip("/")


# A provider's API root or the gateway's public address, kept without a trailing slash so
# paths can be appended as they are documented.
BaseUrl = Annotated[str, Field(min_length=8, max_length=512), AfterValidator(_base_url)]

JSON = "application/json"

# A provider asking for a longer pause than this is waited for this long: flood waits of hours
# have been seen, and a message held that long is better retried and re-decided.
MAX_RETRY_AFTER_SECONDS = 3600.0


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date (RFC 9110)."""
    if not value:
        return None
    value = value.strip()
    seconds: float
    if value.isdigit():
        seconds = float(value)
    else:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_SECONDS)


def open_client(
    base_url: str, *, timeout_seconds: float, max_connections: int, headers: Mapping[str, str] | None = None
) -> KeepAliveClient:
    """A channel's one client for its provider's origin: at most ``max_connections`` kept-alive
    connections, a time limit per call, JSON accepted, our User-Agent, plus the provider's auth
    ``headers``. Answers come back whatever their status: each adapter maps errors itself."""
    fixed = {"Accept": JSON, "User-Agent": f"tidings/{__version__}", **(headers or {})}
    return KeepAliveClient(
        base_url, headers=fixed, max_connections=max_connections, timeout_seconds=timeout_seconds
    )


def api_path(base_url: str, path: str) -> str:
    """``path`` under the base URL's own path (a base URL may carry a prefix, as a proxy's does)."""
    return urlsplit(base_url).path.rstrip("/") + path


async def exchange(
    client: KeepAliveClient,
    method: str,
    path: str,
    *,
    body: bytes = b"",
    content_type: str | None = None,
    network_error: Callable[[Exception], SendError],
) -> Answer:
    """One call; a connection that broke or a call that ran out of time is the provider's
    ``network_error`` (retryable: the request may not have arrived)."""
    try:
        return await client.request(method, path, body, content_type)
    except (HttpFailure, TimeoutError) as exc:
        raise network_error(exc) from None


class HttpChannel(Channel):
    """A channel that speaks HTTP to its provider over one keep-alive client, opened by
    :meth:`start` (from :meth:`open_client`) and closed by :meth:`close`."""

    _client: KeepAliveClient | None = None

    def open_client(self) -> KeepAliveClient:
        raise NotImplementedError

    async def start(self) -> None:
        self._client = self.open_client()

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None

    def client(self) -> KeepAliveClient:
        """The open client; a call before :meth:`start` (or after :meth:`close`) is refused as
        retryable, so the message waits for a started adapter."""
        if self._client is None:
            raise SendError(f"{self.type}_not_started", "the channel is not started", retryable=True)
        return self._client
