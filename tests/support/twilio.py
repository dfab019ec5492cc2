"""The official ``twilio`` SDK, unmodified, pointed at a running gateway.

``GatewayHttpClient`` is the few lines docs/twilio-compat.md tells users to write: an HTTP client
(a public constructor argument of ``twilio.rest.Client``) that sends every ``*.twilio.com`` URL to
the gateway's ``/twilio/<product>/…``. The SDK is synchronous (requests): tests call it through
:func:`sdk`, in a thread, so the gateway's event loop in the test keeps serving.

The ``twilio_clients`` fixture is registered by the root conftest.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import pytest
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from support.gateway import RunningGateway

T = TypeVar("T")


class GatewayHttpClient(TwilioHttpClient):
    """Sends ``https://<product>.twilio.com/<path>`` to ``<gateway>/twilio/<product>/<path>``."""

    def __init__(self, gateway_url: str, **options: Any) -> None:
        super().__init__(**options)
        self.base = urlsplit(gateway_url.rstrip("/") + "/twilio")

    def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if host.endswith(".twilio.com"):
            product = host.split(".")[0]
            path = f"{self.base.path}/{product}{parts.path}"
            url = urlunsplit((self.base.scheme, self.base.netloc, path, parts.query, parts.fragment))
        return super().request(
            method,
            url,
            params=params,
            data=data,
            headers=headers,
            auth=auth,
            timeout=timeout,
            allow_redirects=allow_redirects,
        )


@dataclass(frozen=True)
class Credentials:
    account_sid: str
    auth_token: str


async def admin_credentials(gw: RunningGateway) -> Credentials:
    """The bootstrap admin's account SID and auth token (as ``GET /v1/accounts/me`` shows them)."""
    me = await gw.call("GET", "/v1/accounts/me")
    assert me.status == 200, me.body
    return Credentials(me.body["id"], me.body["auth_token"])


async def sdk(call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run one blocking SDK call off the event loop."""
    return await asyncio.to_thread(partial(call, *args, **kwargs))


TwilioClients = Callable[..., Client]


@pytest.fixture
def twilio_clients() -> Iterator[TwilioClients]:
    """``make(gw, username, password, account_sid=None)``: an SDK client for that gateway with
    those credentials (``AC…`` + auth token, or ``SK…`` + secret with ``account_sid``); their
    connections are closed after the test."""
    made: list[GatewayHttpClient] = []

    def make(gw: RunningGateway, username: str, password: str, account_sid: str | None = None) -> Client:
        http = GatewayHttpClient(gw.url, timeout=30)
        made.append(http)
        return Client(username, password, account_sid=account_sid, http_client=http)

    yield make
    for http in made:
        if http.session is not None:
            http.session.close()
