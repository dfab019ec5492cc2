"""What every fake HTTP provider shares: an aiohttp server on a loopback port, the counts,
failure injection and ``/_fake/...`` steering endpoints of its tests, and the keep-alive clients
for the callbacks it posts in the background."""

from __future__ import annotations

import abc
import asyncio
from collections import Counter
from collections.abc import Callable, Hashable, Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Self, TypeVar
from urllib.parse import urlsplit

import orjson
from aiohttp import web

from tidings.channels.keepalive import Answer, HttpFailure, KeepAliveClient
from tidings.simulators.receipts import ReceiptTasks

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

# Connections the fake opens to post callbacks, as a provider's callback fleet would.
CALLBACK_CONNECTIONS = 64
# A callback that has its connection gets this long to be answered. The wait for a connection is
# not counted: under a burst thousands of callbacks queue for one, and a limit that counted the
# wait dropped them in the fake itself (measured: 2,000 of 10,000 lost at full speed). A gateway
# that hangs costs a callback, not the fake.
CALLBACK_TIMEOUT_SECONDS = 10.0
# What reading a steering request's JSON raises when it is not what the endpoint takes.
BAD_SPEC: tuple[type[Exception], ...] = (ValueError, TypeError, KeyError, AttributeError)

MessageT = TypeVar("MessageT")
# /_fake/config keys that set the fake's attribute of the same name, each with its converter.
ConfigKeys = Mapping[str, Callable[[Any], object]]


@dataclass
class InjectedFailure:
    """The next ``count`` sends fail with ``status``, an HTTP status (or a provider's own, as
    Viber's below 100), asking for ``retry_after`` seconds where the provider sends Retry-After."""

    count: int
    status: int
    retry_after: int | None = None

    def headers(self) -> dict[str, str] | None:
        return {"Retry-After": str(self.retry_after)} if self.retry_after is not None else None


class FakeServer(abc.ABC, Generic[MessageT]):
    """A provider's API (:meth:`api_routes`) beside the steering endpoints every fake has;
    ``await start()`` and use :attr:`url` as the channel's API base URL, or ``async with`` it.

    Steering over HTTP, for gateways and tests in other processes: ``GET /_fake/messages``
    (:meth:`summary` and the messages), ``POST /_fake/config`` (``latency``, ``fail_requests
    {count, status?, retry_after?}`` and the provider's :attr:`CONFIG_KEYS`), ``POST
    /_fake/inbound`` (answers what the webhook said) and ``POST /_fake/reset``.
    """

    # The provider's own: set after ``latency`` and before the keys :meth:`_configure` reads.
    CONFIG_KEYS: ClassVar[ConfigKeys] = {}
    # What makes /_fake/inbound answer 400 rather than post the message.
    INBOUND_ERRORS: ClassVar[tuple[type[Exception], ...]] = BAD_SPEC

    def __init__(self, *, host: str, port: int, latency: float = 0.0) -> None:
        self.host = host
        self.port = port  # 0: any free port, read back once started
        self.latency = latency  # seconds before answering each send
        self.messages: list[MessageT] = []  # every message accepted, once, in arrival order
        self.requests = 0  # sends (calls through _admit), failed ones included
        self.fail_next: InjectedFailure | None = None
        self._runner: web.AppRunner | None = None
        self._origins: dict[str, KeepAliveClient] = {}
        self._receipt_tasks = ReceiptTasks()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def routes(self) -> list[web.RouteDef]:
        return [
            *self.api_routes(),
            web.get("/_fake/messages", self._get_messages),
            web.post("/_fake/config", self._post_config),
            web.post("/_fake/inbound", self._post_inbound),
            web.post("/_fake/reset", self._post_reset),
        ]

    # -- steering (tests call these) ------------------------------------------------------------

    def fail_requests(self, count: int, *, status: int = 500, retry_after: int | None = None) -> None:
        """Answer the next ``count`` sends with ``status`` (500, 503 or 429, and a Retry-After of
        ``retry_after`` seconds where the provider sends one) before accepting again."""
        self.fail_next = InjectedFailure(count, status, retry_after)

    def reset(self) -> None:
        """Forget the messages, the counts and any injected failure (subclasses: and their own
        steering)."""
        self.messages.clear()
        self.fail_next = None
        self.requests = 0

    def summary(self) -> dict[str, Any]:
        """Counts for tests that check each message arrived exactly once."""
        repeats = Counter(self._repeat_key(m) for m in self.messages)
        return {
            "count": len(self.messages),
            "requests": self.requests,
            "distinct": len(repeats),
            "duplicates": sum(n - 1 for n in repeats.values()),
        }

    # -- what each provider says for itself ----------------------------------------------------

    @abc.abstractmethod
    def api_routes(self) -> list[web.RouteDef]:
        """The provider's own API."""

    @abc.abstractmethod
    def _refusal(self, request: web.Request) -> web.Response | None:
        """The provider's answer to a call whose credentials it does not take, or None."""

    @abc.abstractmethod
    def _failure_answer(self, failure: InjectedFailure) -> web.Response:
        """The provider's answer to a send that an injected failure fails."""

    @abc.abstractmethod
    def _repeat_key(self, message: MessageT) -> Hashable:
        """What makes two messages one sent twice, for :meth:`summary`: its recipient and text."""

    @abc.abstractmethod
    def _listing(self, query: Mapping[str, str]) -> dict[str, Any]:
        """``GET /_fake/messages`` beside the counts: ``messages``, those to the recipient the
        query names; ValueError (its text the 400's error) when the query names none."""

    @abc.abstractmethod
    def _configure(self, config: Any) -> None:
        """Apply the provider's ``POST /_fake/config`` keys beyond its :attr:`CONFIG_KEYS`."""

    @abc.abstractmethod
    async def _inbound(self, spec: Any) -> tuple[int, str]:
        """Post the inbound message ``POST /_fake/inbound`` describes; what the webhook said."""

    # -- serving ---------------------------------------------------------------------------------

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

    async def _admit(self, request: web.Request) -> web.Response | None:
        """A send's way in, before the provider reads it: counted in :attr:`requests`, refused
        when its credentials are wrong, held :attr:`latency` seconds, failed while a failure is
        injected. None: the provider takes it from here."""
        self.requests += 1
        refusal = self._refusal(request)
        if refusal is not None:
            return refusal
        if self.latency:
            await asyncio.sleep(self.latency)
        failing = self.fail_next
        if failing is not None and failing.count > 0:
            failing.count -= 1
            return self._failure_answer(failing)
        return None

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

    # -- steering over HTTP ----------------------------------------------------------------------

    async def _get_messages(self, request: web.Request) -> web.Response:
        try:
            listing = self._listing(request.query)
        except ValueError as exc:
            return json_response({"error": str(exc)}, 400)
        return json_response({**self.summary(), **listing})

    async def _post_config(self, request: web.Request) -> web.Response:
        try:
            config = await request.json()
            for key, convert in {"latency": float, **self.CONFIG_KEYS}.items():
                if key in config:
                    setattr(self, key, convert(config[key]))
            self._configure(config)
            if "fail_requests" in config:
                failing = config["fail_requests"]
                # A status left out is the provider's default, as in fail_requests().
                status = {"status": int(failing["status"])} if "status" in failing else {}
                self.fail_requests(int(failing["count"]), **status, retry_after=failing.get("retry_after"))
        except BAD_SPEC:
            return json_response({"error": "bad configuration"}, 400)
        return json_response({"ok": True})

    async def _post_inbound(self, request: web.Request) -> web.Response:
        try:
            status, text = await self._inbound(await request.json())
        except self.INBOUND_ERRORS:
            return json_response({"error": "bad inbound request"}, 400)
        return json_response({"status": status, "body": text})

    async def _post_reset(self, _: web.Request) -> web.Response:
        self.reset()
        return json_response({"ok": True})


def json_response(
    payload: Any,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
    content_type: str = "application/json",
) -> web.Response:
    """A JSON answer, as every fake's API and steering endpoints send them."""
    return web.Response(body=orjson.dumps(payload), status=status, content_type=content_type, headers=headers)


def listed(message: DataclassInstance) -> dict[str, Any]:
    """A message as ``GET /_fake/messages`` lists it: its fields, ``from_`` written ``from``."""
    shown = asdict(message)
    if "from_" in shown:
        shown["from"] = shown.pop("from_")
    return shown
