"""A fake Viber REST bot API on loopback: send_message, set_webhook, signed callbacks (webhook
check, delivered/failed, inbound message); steered in Python (:class:`FakeViber`) or ``/_fake/...``.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Hashable, Mapping
from typing import Any, ClassVar

from aiohttp import web

from tidings.channels.viber.api import AUTH_HEADER
from tidings.channels.viber.signature import HEADER as SIGNATURE_HEADER
from tidings.channels.viber.signature import compute_signature
from tidings.simulators.server import ConfigKeys, FakeServer, InjectedFailure, listed
from tidings.simulators.viber_resources import (
    MAX_REQUEST_BYTES,
    FakeViberMessage,
    callback_body,
    message_from,
    status_response,
    validate,
)

# Every event type set_webhook may filter; ``message``, ``subscribed`` and ``unsubscribed`` are
# always sent (https://creators.viber.com/docs/bots-api/getting-started/web-hooks).
FILTERABLE_EVENTS = ("delivered", "seen", "failed", "subscribed", "unsubscribed", "conversation_started")


class FakeViber(FakeServer[FakeViberMessage]):
    """The fake server. ``await start()``, use :attr:`url` as the channel's ``api_base_url``."""

    CONFIG_KEYS: ClassVar[ConfigKeys] = {
        "callback_delay": float,
        "delivery_callbacks": bool,
    }

    def __init__(
        self,
        *,
        auth_token: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        latency: float = 0.0,
        callback_delay: float = 0.0,
    ) -> None:
        self.auth_token = auth_token or "-".join(secrets.token_hex(8) for _ in range(3))
        super().__init__(host=host, port=port, latency=latency)
        self.callback_delay = callback_delay  # seconds before each receipt callback
        self.delivery_callbacks = True  # post delivered/failed for each accepted message
        self.webhook_url: str | None = None
        self.event_types: list[str] = list(FILTERABLE_EVENTS)
        self.callbacks: list[tuple[int, str, int]] = []  # (token, event, HTTP status of the answer)
        self.refused: dict[str, int] = {}  # receiver → Viber status answered at send (5, 6, ...)
        self.undeliverable: dict[str, str] = {}  # receiver → ``desc`` of a ``failed`` callback
        # Above 2**53, so a token that went through a float would come back different.
        self._next_token = 5_000_000_000_000_000_000 + secrets.randbits(48)

    def api_routes(self) -> list[web.RouteDef]:
        return [
            web.post("/pa/send_message", self._send_message),
            web.post("/pa/set_webhook", self._set_webhook),
        ]

    # -- steering (tests call these) ------------------------------------------------------------

    def refuse(self, receiver: str, status: int = 5) -> None:
        """Refuse sends to ``receiver`` with Viber ``status`` (5 receiverNotRegistered, 6 not
        subscribed, ...)."""
        self.refused[receiver] = status

    def fail_requests(self, count: int, *, status: int = 503, retry_after: int | None = None) -> None:
        """Answer the next ``count`` sends with HTTP ``status`` (≥ 400) or, below 100, with HTTP
        200 and that Viber status (12: tooManyRequests) before accepting again."""
        super().fail_requests(count, status=status, retry_after=retry_after)

    def reset(self) -> None:
        super().reset()
        self.callbacks.clear()
        self.refused.clear()
        self.undeliverable.clear()

    def received(self, receiver: str | None = None) -> list[FakeViberMessage]:
        return [m for m in self.messages if receiver is None or m.receiver == receiver]

    async def send_inbound(
        self,
        url: str | None = None,
        *,
        sender_id: str,
        text: str,
        name: str = "Fake User",
        signature: str | None = None,
    ) -> tuple[int, str]:
        """POST a user's text message as Viber would, to ``url`` or the registered webhook;
        ``(status, response text)``. ``signature`` replaces the computed one (``""`` sends none),
        so tests can prove that forged callbacks are refused."""
        sender = {"id": sender_id, "name": name, "language": "en", "country": "ZA", "api_version": 10}
        body = callback_body(
            "message", self._new_token(), sender=sender, message={"type": "text", "text": text}, silent=False
        )
        return await self._post_signed(url, body, signature)

    async def send_event(
        self,
        url: str | None,
        event: str,
        message_token: int,
        *,
        user_id: str = "",
        desc: str | None = None,
        signature: str | None = None,
    ) -> tuple[int, str]:
        """POST one ``delivered``, ``seen`` or ``failed`` callback; ``signature`` as in
        :meth:`send_inbound`."""
        fields: dict[str, Any] = {"user_id": user_id}
        if desc is not None:
            fields["desc"] = desc
        return await self._post_signed(url, callback_body(event, message_token, **fields), signature)

    # -- the Viber API --------------------------------------------------------------------------

    async def _send_message(self, request: web.Request) -> web.Response:
        turned_away = await self._admit(request)
        if turned_away is not None:
            return turned_away
        raw = await request.read()
        if len(raw) > MAX_REQUEST_BYTES:
            return status_response(3, "the request is larger than 30KB")
        try:
            payload = json.loads(raw)
        except ValueError:
            return status_response(3, "the body is not JSON")
        problem = validate(payload)
        if problem is None and payload["receiver"] in self.refused:
            problem = (self.refused[payload["receiver"]], "")
        if problem is not None:
            return status_response(problem[0], problem[1] or None)
        message = message_from(payload, self._new_token())
        self.messages.append(message)
        if self.delivery_callbacks and self.webhook_url:
            self._receipt_tasks.spawn(self._report(message))
        return status_response(0, message_token=message.message_token, billing_status=1)

    async def _set_webhook(self, request: web.Request) -> web.Response:
        """Check the URL with a signed ``webhook`` event before answering, as Viber does
        (https://creators.viber.com/docs/bots-api/getting-started/web-hooks); ``url: ""``
        removes the webhook."""
        refused = self._refusal(request)
        if refused is not None:
            return refused
        try:
            spec = json.loads(await request.read())
            url = spec["url"]
            wanted = spec.get("event_types", list(FILTERABLE_EVENTS))
            if not isinstance(url, str) or not isinstance(wanted, list):
                raise TypeError
        except (ValueError, TypeError, KeyError):
            return status_response(3, "set_webhook takes {url, event_types?}")
        if not url:
            self.webhook_url = None
            return status_response(0)
        if not url.startswith(("http://", "https://")):
            return status_response(1)
        answered, _ = await self._post_signed(url, callback_body("webhook", self._new_token()), None)
        if answered != 200:
            return status_response(1, f"the webhook answered HTTP {answered}")
        self.webhook_url = url
        self.event_types = [str(e) for e in wanted if e in FILTERABLE_EVENTS]
        return status_response(0, event_types=self.event_types)

    def _refusal(self, request: web.Request) -> web.Response | None:
        authorized = secrets.compare_digest(request.headers.get(AUTH_HEADER, ""), self.auth_token)
        return None if authorized else status_response(2)

    def _failure_answer(self, failure: InjectedFailure) -> web.Response:
        if failure.status < 100:
            return status_response(failure.status)
        return web.Response(status=failure.status, text="Service Unavailable", headers=failure.headers())

    async def _report(self, message: FakeViberMessage) -> None:
        """``delivered``, or ``failed`` with ``desc`` for receivers in :attr:`undeliverable`."""
        if self.callback_delay:
            await asyncio.sleep(self.callback_delay)
        desc = self.undeliverable.get(message.receiver)
        event = "failed" if desc is not None else "delivered"
        message.status = event
        if event not in self.event_types:
            return
        fields: dict[str, Any] = {"user_id": message.receiver}
        if desc is not None:
            fields["desc"] = desc
        body = callback_body(event, message.message_token, **fields)
        answered, _ = await self._post_signed(None, body, None)
        self.callbacks.append((message.message_token, event, answered))

    async def _post_signed(self, url: str | None, body: bytes, signature: str | None) -> tuple[int, str]:
        target = url or self.webhook_url
        if target is None:
            return 0, "no webhook is set"
        if signature is None:
            signature = compute_signature(self.auth_token, body)
        headers = {SIGNATURE_HEADER: signature} if signature else {}
        return await self.post_callback(target, body, "application/json", headers)

    def _new_token(self) -> int:
        self._next_token += 1
        return self._next_token

    # -- steering over HTTP -----------------------------------------------------------------------

    def _repeat_key(self, message: FakeViberMessage) -> Hashable:
        return message.receiver, message.text

    def _listing(self, query: Mapping[str, str]) -> dict[str, Any]:
        messages = [listed(m) for m in self.received(query.get("receiver"))]
        return {"webhook_url": self.webhook_url, "messages": messages}

    def _configure(self, config: Any) -> None:
        """``POST /_fake/config`` keys beside latency and fail_requests: callback_delay and
        delivery_callbacks (:attr:`CONFIG_KEYS`), refused {receiver: status}, undeliverable
        {receiver: desc}."""
        self.refused.update({str(k): int(v) for k, v in config.get("refused", {}).items()})
        self.undeliverable.update({str(k): str(v) for k, v in config.get("undeliverable", {}).items()})

    async def _inbound(self, spec: Any) -> tuple[int, str]:
        """JSON ``{sender_id, text, url?, name?, signature?}``."""
        return await self.send_inbound(
            spec.get("url"),
            sender_id=str(spec["sender_id"]),
            text=str(spec.get("text", "")),
            name=str(spec.get("name", "Fake User")),
            signature=spec.get("signature"),
        )
