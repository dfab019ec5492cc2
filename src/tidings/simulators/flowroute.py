"""A fake Flowroute Messaging API (v2.1 and v2.2) on a loopback port, for tests and development.

It speaks the documented wire format: send (JSON:API or compact JSON, HTTP Basic with access key
and secret key, 202 with the ``mdr2-…`` id), message records, Flowroute's ``{"errors": [...]}``
bodies, delivery receipts (level 1 ``smsc submit``, then level 2 ``delivered`` or ``delivery
failure``) posted to each message's ``dlr_callback`` (without one, a record still moves on when
looked up), and inbound SMS/MMS posted to a webhook. Tests steer it in Python
(:class:`FakeFlowroute`) or over HTTP (``/_fake/...``).
"""

from __future__ import annotations

import asyncio
import secrets
from collections import Counter
from collections.abc import Hashable, Mapping, Sequence
from typing import Any, ClassVar

import aiohttp
import orjson
from aiohttp import web

from tidings.simulators.flowroute_resources import (
    JSON_API,
    VERSIONS,
    DeliveryReceipt,
    FakeMessage,
    dlr_document,
    document_response,
    error_response,
    inbound_document,
    is_mms,
    message_id,
    read_send,
    validate,
)
from tidings.simulators.receipts import steps_due
from tidings.simulators.server import ConfigKeys, FakeServer, InjectedFailure, listed

BODY_TYPES = (JSON_API, "application/json")


class FakeFlowroute(FakeServer[FakeMessage]):
    """The fake server. ``await start()``, use :attr:`url` as the channel's ``api_base_url``."""

    CONFIG_KEYS: ClassVar[ConfigKeys] = {
        "callback_delay": float,
        "dlr_callbacks": bool,
    }

    def __init__(
        self,
        *,
        access_key: str | None = None,
        secret_key: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        latency: float = 0.0,
        callback_delay: float = 0.0,
    ) -> None:
        self.access_key = access_key or str(secrets.randbelow(90_000_000) + 10_000_000)
        self.secret_key = secret_key or secrets.token_hex(16)
        super().__init__(host=host, port=port, latency=latency)
        self.callback_delay = callback_delay  # seconds before each delivery receipt
        self.dlr_callbacks = True
        self.callbacks: list[tuple[str, str, int]] = []  # (mdr id, status, HTTP status of the answer)
        self.number_errors: dict[str, tuple[int, str | None]] = {}  # to → (HTTP status, detail)
        self.undeliverable: dict[str, int | None] = {}  # to → status_code of a "delivery failure"
        self.pending_numbers: set[str] = set()  # to whose carrier never reports: no level 2
        self.fetches: Counter[str] = Counter()  # record look-ups by id (polling)
        self._reported: set[str] = set()  # ids whose receipts the callback task adds
        self._by_id: dict[str, FakeMessage] = {}

    def api_routes(self) -> list[web.RouteDef]:
        return [
            route
            for version in VERSIONS
            for route in (
                web.post(f"/{version}/messages", self._send),
                web.get(f"/{version}/messages/{{id}}", self._fetch),
            )
        ]

    # -- steering (tests call these) ------------------------------------------------------------

    def fail_number(self, number: str, status: int = 422, detail: str | None = None) -> None:
        """Refuse sends to ``number`` with HTTP ``status`` (a 4xx) and ``detail``."""
        self.number_errors[_key(number)] = (status, detail or f"'to' {number} is not a valid mobile number")

    def set_undeliverable(self, number: str, status_code: int | None = None) -> None:
        """Report ``delivery failure`` (with ``status_code``) instead of ``delivered`` for ``number``."""
        self.undeliverable[_key(number)] = status_code

    def reset(self) -> None:
        super().reset()
        self._by_id.clear()
        self.callbacks.clear()
        self.number_errors.clear()
        self.undeliverable.clear()
        self.pending_numbers.clear()
        self.fetches.clear()
        self._reported.clear()

    def keep_pending(self, number: str) -> None:
        """Messages to ``number`` stop after the level 1 receipt: its carrier never reports."""
        self.pending_numbers.add(_key(number))

    def received(self, to: str | None = None) -> list[FakeMessage]:
        """Accepted messages, in arrival order; ``to`` matches with or without its "+"."""
        return [m for m in self.messages if to is None or _key(m.to) == _key(to)]

    async def send_inbound(
        self,
        url: str,
        *,
        from_: str,
        to: str,
        body: str,
        media_urls: Sequence[str] = (),
        api_version: str = "v2.1",
    ) -> tuple[int, str]:
        """POST an inbound SMS (or MMS, with media) to ``url`` as Flowroute would.

        Numbers are written as ``api_version`` writes them (v2.1: digits only). Flowroute has no
        signature: a test forges a callback by posting to a URL without the right token.
        """
        document = inbound_document(
            url, self.url, from_=from_, to=to, body=body, media_urls=media_urls, api_version=api_version
        )
        return await self._post(url, document)

    async def send_dlr(
        self,
        url: str,
        record_id: str,
        status: str = "delivered",
        *,
        level: int = 2,
        status_code: str | None = None,
        description: str | None = None,
    ) -> tuple[int, str]:
        """POST one delivery receipt for ``record_id`` to ``url``, as Flowroute would."""
        receipt = DeliveryReceipt(level, status, status_code, description or status)
        return await self._post(url, dlr_document(record_id, receipt, self.url))

    # -- the Flowroute API ----------------------------------------------------------------------

    async def _send(self, request: web.Request) -> web.Response:
        turned_away = await self._admit(request)
        if turned_away is not None:
            return turned_away
        if request.content_type not in BODY_TYPES:
            return error_response(415, f"Content-Type must be {JSON_API}")
        try:
            attributes = read_send(orjson.loads(await request.read()))
        except orjson.JSONDecodeError:
            return error_response(400, "The request body is not valid JSON")
        version = request.path.split("/")[1]
        problem = attributes if isinstance(attributes, str) else validate(version, attributes)
        if problem is not None or isinstance(attributes, str):
            return error_response(422, problem)
        refused = self.number_errors.get(_key(attributes["to"]))
        if refused is not None:
            return error_response(*refused)
        callback = attributes.get("dlr_callback")
        message = FakeMessage(
            id=message_id(),
            api_version=version,
            to=attributes["to"],
            from_=attributes["from"],
            body=attributes.get("body") or "",
            is_mms=is_mms(attributes),
            media_urls=list(attributes.get("media_urls") or []),
            dlr_callback=callback if isinstance(callback, str) and callback else None,
        )
        self.messages.append(message)
        self._by_id[message.id] = message
        if message.dlr_callback and self.dlr_callbacks:
            self._reported.add(message.id)
            self._receipt_tasks.spawn(self._report(message))
        return document_response(message.accepted(self.url), 202)

    async def _fetch(self, request: web.Request) -> web.Response:
        refused = self._refusal(request)
        if refused is not None:
            return refused
        message = self._by_id.get(request.match_info["id"])
        if message is None:
            return error_response(404, "No message with this id")
        self.fetches[message.id] += 1
        if message.id not in self._reported:
            # Without DLR callbacks the record still moves on: one receipt per step of time.
            due = steps_due(message.created_at, self.callback_delay)
            for receipt in self._receipts(message)[len(message.delivery_receipts) : due]:
                message.status = receipt.status
                message.delivery_receipts.append(receipt)
        return document_response(message.to_json())

    def _refusal(self, request: web.Request) -> web.Response | None:
        if self._authorized(request):
            return None
        return error_response(401, "Authentication failed: check your access key and secret key")

    def _failure_answer(self, failure: InjectedFailure) -> web.Response:
        return error_response(failure.status, headers=failure.headers())

    def _authorized(self, request: web.Request) -> bool:
        try:
            given = aiohttp.BasicAuth.decode(request.headers.get("Authorization", ""))
        except ValueError:
            return False
        return secrets.compare_digest(given.login, self.access_key) and secrets.compare_digest(
            given.password, self.secret_key
        )

    async def _report(self, message: FakeMessage) -> None:
        """Delivery receipts as Flowroute sends them: level 1 (to the carrier), then level 2."""
        for receipt in self._receipts(message):
            if self.callback_delay:
                await asyncio.sleep(self.callback_delay)
            message.status = receipt.status
            message.delivery_receipts.append(receipt)
            assert message.dlr_callback is not None
            answered, _ = await self._post(message.dlr_callback, dlr_document(message.id, receipt, self.url))
            self.callbacks.append((message.id, receipt.status, answered))

    def _receipts(self, message: FakeMessage) -> list[DeliveryReceipt]:
        """The receipts a message gets: level 1, then level 2 unless its carrier never reports."""
        submitted = DeliveryReceipt(1, "smsc submit", None, "Message has been sent")
        if _key(message.to) in self.pending_numbers:
            return [submitted]
        if _key(message.to) in self.undeliverable:
            code = self.undeliverable[_key(message.to)]
            text = str(code) if code is not None else None
            return [submitted, DeliveryReceipt(2, "delivery failure", text, "Message undeliverable")]
        return [submitted, DeliveryReceipt(2, "delivered", None, "Message delivered to handset")]

    async def _post(self, url: str, document: dict[str, Any]) -> tuple[int, str]:
        headers = {"User-Agent": "Flowroute-Messaging/2.1"}
        return await self.post_callback(url, orjson.dumps(document), "application/json", headers)

    # -- steering over HTTP -----------------------------------------------------------------------

    def _repeat_key(self, message: FakeMessage) -> Hashable:
        return _key(message.to), message.body

    def _listing(self, query: Mapping[str, str]) -> dict[str, Any]:
        return {"messages": [listed(m) for m in self.received(query.get("to"))]}

    def _configure(self, config: Any) -> None:
        """``POST /_fake/config`` keys beside latency and fail_requests: callback_delay and
        dlr_callbacks (:attr:`CONFIG_KEYS`), number_errors {to: status}, undeliverable {to:
        status_code or null}, pending [to]."""
        for number, status in config.get("number_errors", {}).items():
            self.fail_number(str(number), int(status))
        for number, code in config.get("undeliverable", {}).items():
            self.set_undeliverable(str(number), None if code is None else int(code))
        for number in config.get("pending", []):
            self.keep_pending(str(number))

    async def _inbound(self, spec: Any) -> tuple[int, str]:
        """JSON ``{url, from, to, body, media_urls?, api_version?}``."""
        return await self.send_inbound(
            str(spec["url"]),
            from_=str(spec["from"]),
            to=str(spec["to"]),
            body=str(spec.get("body", "")),
            media_urls=[str(u) for u in spec.get("media_urls", [])],
            api_version=str(spec.get("api_version", "v2.1")),
        )


def _key(number: str) -> str:
    return number.removeprefix("+")
