"""What every HTTP provider channel shares: validated base URLs, the Retry-After header, and its
pooled client session."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Mapping
from typing import Annotated

import aiohttp
from pydantic import AfterValidator, Field

from tidings import __version__
from tidings.channels.base import Channel, SendError


def _base_url(value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise ValueError("must be an http:// or https:// URL")
    return value.rstrip("/")


# A provider's API root or the gateway's public address, kept without a trailing slash so
# paths can be appended as they are documented.
BaseUrl = Annotated[str, Field(min_length=8, max_length=512), AfterValidator(_base_url)]

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


def open_session(
    *, timeout_seconds: float, max_connections: int, headers: Mapping[str, str] | None = None
) -> aiohttp.ClientSession:
    """A channel's one client session: a connection pool of ``max_connections``, a total time
    limit per call, JSON accepted, our User-Agent, plus the provider's auth ``headers``. Answers
    are read whatever their status (``raise_for_status=False``): each adapter maps errors itself."""
    return aiohttp.ClientSession(
        timeout=aiohttp.ClientTimeout(total=timeout_seconds),
        connector=aiohttp.TCPConnector(limit=max_connections),
        headers={"Accept": "application/json", "User-Agent": f"tidings/{__version__}", **(headers or {})},
        raise_for_status=False,
    )


class HttpChannel(Channel):
    """A channel that speaks HTTP to its provider over one pooled client session, opened by
    :meth:`start` (from :meth:`open_session`) and closed by :meth:`close`."""

    _session: aiohttp.ClientSession | None = None

    def open_session(self) -> aiohttp.ClientSession:
        raise NotImplementedError

    async def start(self) -> None:
        self._session = self.open_session()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def session(self) -> aiohttp.ClientSession:
        """The open session; a call before :meth:`start` (or after :meth:`close`) is refused as
        retryable, so the message waits for a started adapter."""
        if self._session is None:
            raise SendError(f"{self.type}_not_started", "the channel is not started", retryable=True)
        return self._session
