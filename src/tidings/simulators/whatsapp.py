"""A fake WhatsApp Cloud API on loopback: sends (text, media, templates) with Meta's checks, the
24-hour window (131047), signed status and inbound notifications; steerable in Python and over
``/_fake/...`` (see docs/providers.md)."""

from __future__ import annotations

import asyncio
import random
import secrets
import time
from collections.abc import Hashable, Mapping
from typing import Any, ClassVar
from urllib.parse import urlencode

import orjson
from aiohttp import web

from tidings.channels.whatsapp.signature import HEADER as SIGNATURE_HEADER
from tidings.channels.whatsapp.signature import compute_signature
from tidings.simulators.server import BAD_SPEC, ConfigKeys, FakeServer, InjectedFailure, json_response, listed
from tidings.simulators.whatsapp_resources import (
    FakeMessage,
    error_body,
    message_value,
    new_wamid,
    notification,
    sent_answer,
    status_value,
    validate,
    wa_id,
)

WINDOW_SECONDS = 24 * 3600  # the customer service window
# An injected failure's status → the Graph API error code its answer carries. Meta's answers
# carry no Retry-After, so an injected failure's retry_after is not sent.
FAILURE_CODES = {429: 130429, 503: 2}


class FakeWhatsApp(FakeServer[FakeMessage]):
    """The fake server. ``await start()``, use :attr:`url` as the channel's ``api_base_url`` and
    set :attr:`webhook_url` to where notifications go (Meta: the app's callback URL)."""

    CONFIG_KEYS: ClassVar[ConfigKeys] = {
        "status_delay": float,
        "status_notifications": bool,
        "webhook_url": lambda url: str(url) if url else None,
    }

    def __init__(
        self,
        *,
        access_token: str | None = None,
        app_secret: str | None = None,
        phone_number_id: str | None = None,
        display_phone_number: str = "15550783881",
        webhook_url: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        latency: float = 0.0,
        status_delay: float = 0.0,
    ) -> None:
        self.access_token = access_token or "EAA" + secrets.token_urlsafe(32)
        self.app_secret = app_secret or secrets.token_hex(16)
        self.phone_number_id = phone_number_id or str(random.randint(10**14, 10**15 - 1))
        self.display_phone_number = display_phone_number
        self.waba_id = str(random.randint(10**14, 10**15 - 1))
        self.webhook_url = webhook_url
        super().__init__(host=host, port=port, latency=latency)
        self.status_delay = status_delay  # seconds before each status notification
        self.status_notifications = True
        self.notifications: list[tuple[str, str, int]] = []  # (wamid, status, HTTP status answered)
        self.refused: dict[str, int] = {}  # wa_id → error code answered at send
        self.undeliverable: dict[str, int] = {}  # wa_id → error code of a `failed` status
        self.last_inbound: dict[str, float] = {}  # wa_id → when it last wrote (opens the window)
        self.templates: dict[str, dict[str, int]] = {}  # name → {language: body params}; empty: any

    def api_routes(self) -> list[web.RouteDef]:
        return [web.post("/{version}/{phone_number_id}/messages", self._send)]

    def routes(self) -> list[web.RouteDef]:
        return [*super().routes(), web.post("/_fake/window", self._open_window)]

    # -- steering (tests call these) ------------------------------------------------------------

    def refuse(self, number: str, code: int = 131030) -> None:
        """Refuse sends to ``number`` with error ``code`` (default: not in the allowed list)."""
        self.refused[wa_id(number)] = code

    def mark_undeliverable(self, number: str, code: int = 131026) -> None:
        """Accept sends to ``number``, then report them ``failed`` with ``code``."""
        self.undeliverable[wa_id(number)] = code

    def open_window(self, number: str, *, at: float | None = None) -> None:
        """As if ``number`` wrote at ``at`` (default now): free-form messages to it are allowed
        for 24 h from then."""
        self.last_inbound[wa_id(number)] = time.time() if at is None else at

    def window_open(self, number: str) -> bool:
        wrote = self.last_inbound.get(wa_id(number))
        return wrote is not None and time.time() - wrote < WINDOW_SECONDS

    def register_template(self, name: str, language: str = "en_US", body_params: int = 0) -> None:
        """Once any is registered, only registered templates are accepted (132001/132000)."""
        self.templates.setdefault(name, {})[language] = body_params

    def reset(self) -> None:
        super().reset()
        self.notifications.clear()
        self.refused.clear()
        self.undeliverable.clear()
        self.last_inbound.clear()
        self.templates.clear()

    def received(self, to: str | None = None) -> list[FakeMessage]:
        """Accepted messages, in arrival order; ``to`` in any form (``whatsapp:+…``, ``+…``)."""
        return [m for m in self.messages if to is None or m.to == wa_id(to)]

    async def send_inbound(
        self,
        url: str | None = None,
        *,
        from_: str,
        body: str = "",
        kind: str = "text",
        content: dict[str, Any] | None = None,
        profile_name: str = "Fake Handset",
        signature: str | None = None,
    ) -> tuple[int, str]:
        """POST an inbound message notification as Meta would (to ``url`` or :attr:`webhook_url`);
        ``(status, response text)``. The sender's customer service window opens.

        ``signature`` replaces the computed X-Hub-Signature-256 (``""`` sends none), so tests can
        prove that forged notifications are refused.
        """
        sender = wa_id(from_)
        self.open_window(sender)
        payload = content if content is not None else {"body": body}
        value = message_value(sender, profile_name, kind, payload)
        return await self._notify(url, value, signature)

    async def send_status(
        self,
        url: str | None,
        wamid: str,
        status: str = "delivered",
        *,
        recipient: str = "",
        error_code: int | None = None,
        signature: str | None = None,
    ) -> tuple[int, str]:
        """POST one status notification for ``wamid``; ``signature`` as in :meth:`send_inbound`."""
        return await self._notify(url, status_value(wamid, status, wa_id(recipient), error_code), signature)

    async def verify_webhook(
        self, url: str, verify_token: str, challenge: str = "1158201444"
    ) -> tuple[int, str]:
        """The GET handshake Meta's App Dashboard makes when the callback URL is saved."""
        query = {"hub.mode": "subscribe", "hub.challenge": challenge, "hub.verify_token": verify_token}
        answer = await self.request("GET", f"{url}{'&' if '?' in url else '?'}{urlencode(query)}")
        return answer.status, answer.body.decode(errors="replace")

    # -- the Cloud API --------------------------------------------------------------------------

    async def _send(self, request: web.Request) -> web.Response:
        turned_away = await self._admit(request)
        if turned_away is not None:
            return turned_away
        try:
            message = orjson.loads(await request.read())
        except orjson.JSONDecodeError:
            return _error(100, "The request body is not JSON.")
        problem = validate(message, self.templates)
        if problem is not None:
            return _error(*problem)
        to, kind = wa_id(message["to"]), message.get("type", "text")
        if to in self.refused:
            return _error(self.refused[to])
        if kind != "template" and not self.window_open(to):
            # Outside the customer service window only templates may be sent.
            return _error(131047)
        accepted = FakeMessage(new_wamid(), to, kind, dict(message[kind]))
        self.messages.append(accepted)
        if self.status_notifications and self.webhook_url:
            self._receipt_tasks.spawn(self._report(accepted))
        return json_response(sent_answer(message["to"], accepted.id, template=kind == "template"))

    def _refusal(self, request: web.Request) -> web.Response | None:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        bearer = scheme.lower() == "bearer"
        if not (bearer and secrets.compare_digest(token.encode(), self.access_token.encode())):
            return _error(190)
        if request.match_info["phone_number_id"] != self.phone_number_id:
            phone = request.match_info["phone_number_id"]
            return _error(100, f"Unsupported post request. Object with ID '{phone}' does not exist.")
        return None

    def _failure_answer(self, failure: InjectedFailure) -> web.Response:
        return _error(FAILURE_CODES.get(failure.status, 131000), status=failure.status)

    async def _report(self, message: FakeMessage) -> None:
        """Statuses as Meta sends them: ``sent``, then ``delivered`` or ``failed`` with an error."""
        error = self.undeliverable.get(message.to)
        for status in ("sent", "failed" if error else "delivered"):
            if self.status_delay:
                await asyncio.sleep(self.status_delay)
            message.status = status
            message.error_code = error if status == "failed" else None
            answered, _ = await self._notify(None, status_value(message.id, status, message.to, error), None)
            self.notifications.append((message.id, status, answered))

    async def _notify(self, url: str | None, value: dict[str, Any], signature: str | None) -> tuple[int, str]:
        target = url or self.webhook_url
        if not target:
            raise ValueError("no webhook URL: pass url= or set webhook_url")
        metadata = {
            "display_phone_number": self.display_phone_number,
            "phone_number_id": self.phone_number_id,
        }
        body = orjson.dumps(notification(self.waba_id, metadata, value))
        headers = {"User-Agent": "facebookexternalua"}
        if signature is None:
            signature = compute_signature(self.app_secret, body)
        if signature:
            headers[SIGNATURE_HEADER] = signature
        return await self.post_callback(target, body, "application/json", headers)

    # -- steering over HTTP -----------------------------------------------------------------------

    def _repeat_key(self, message: FakeMessage) -> Hashable:
        return message.to, message.body

    def _listing(self, query: Mapping[str, str]) -> dict[str, Any]:
        return {"messages": [listed(m) for m in self.received(query.get("to"))]}

    def _configure(self, config: Any) -> None:
        """``POST /_fake/config`` keys beside latency and fail_requests {count, status}:
        status_delay, status_notifications and webhook_url (:attr:`CONFIG_KEYS`), refuse {to: code},
        undeliverable {to: code}, templates {name: {language: n}}."""
        for number, code in config.get("refuse", {}).items():
            self.refuse(str(number), int(code))
        for number, code in config.get("undeliverable", {}).items():
            self.mark_undeliverable(str(number), int(code))
        for name, languages in config.get("templates", {}).items():
            for language, params in languages.items():
                self.register_template(str(name), str(language), int(params))

    async def _inbound(self, spec: Any) -> tuple[int, str]:
        """JSON ``{from, body?, type?, content?, url?, signature?}``."""
        content = spec.get("content")
        return await self.send_inbound(
            spec.get("url"),
            from_=str(spec["from"]),
            body=str(spec.get("body", "")),
            kind=str(spec.get("type", "text")),
            content=dict(content) if content is not None else None,
            signature=spec.get("signature"),
        )

    async def _open_window(self, request: web.Request) -> web.Response:
        """JSON ``{number, at?}`` (``at``: Unix seconds of the customer's last message)."""
        try:
            spec = await request.json()
            self.open_window(str(spec["number"]), at=float(spec["at"]) if "at" in spec else None)
        except BAD_SPEC:
            return json_response({"error": "bad window request"}, 400)
        return json_response({"ok": True})


def _error(code: int, details: str | None = None, *, status: int | None = None) -> web.Response:
    http_status, body = error_body(code, details, status=status)
    return json_response(body, http_status)
