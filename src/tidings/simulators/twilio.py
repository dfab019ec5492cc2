"""A fake Twilio Programmable Messaging API on a loopback port, for tests and local development.

It speaks the documented wire format: Messages create (form-encoded, HTTP Basic with the Account
SID and Auth Token or an API key, 201 with Twilio's Message JSON) and fetch, Twilio's error JSON
``{code, message, more_info, status}``, status callbacks (``sent`` then ``delivered`` or
``undelivered``) signed with X-Twilio-Signature, and signed inbound messages posted to a
webhook. Without callbacks a message's status moves on all the same, as a fetch shows. Tests
steer it in Python (:class:`FakeTwilio`) or over HTTP (``/_fake/...``, for gateways in other
processes); every accepted message is recorded once, in arrival order.
"""

from __future__ import annotations

import asyncio
import secrets
from collections import Counter
from collections.abc import Hashable, Mapping, Sequence
from typing import Any, ClassVar

import aiohttp
from aiohttp import web

from tidings.channels.forms import encode_form
from tidings.channels.twilio.api import FORM
from tidings.channels.twilio.signature import HEADER as SIGNATURE_HEADER
from tidings.channels.twilio.signature import compute_signature
from tidings.simulators.receipts import steps_due
from tidings.simulators.server import ConfigKeys, FakeServer, InjectedFailure, json_response, listed
from tidings.simulators.twilio_resources import API, FakeMessage, error_response, validate

# An injected failure's status → the Twilio error its answer carries.
FAILURE_CODES = {429: 20429, 503: 20503}


class FakeTwilio(FakeServer[FakeMessage]):
    """The fake server. ``await start()``, use :attr:`url` as the channel's ``api_base_url``."""

    CONFIG_KEYS: ClassVar[ConfigKeys] = {
        "callback_delay": float,
        "status_callbacks": bool,
    }

    def __init__(
        self,
        *,
        account_sid: str | None = None,
        auth_token: str | None = None,
        api_keys: dict[str, str] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        latency: float = 0.0,
        callback_delay: float = 0.0,
    ) -> None:
        self.account_sid = account_sid or "AC" + secrets.token_hex(16)
        self.auth_token = auth_token or secrets.token_hex(16)
        self.api_keys = dict(api_keys or {})
        super().__init__(host=host, port=port, latency=latency)
        self.callback_delay = callback_delay  # seconds before each status callback
        self.status_callbacks = True
        self.callbacks: list[tuple[str, str, int]] = []  # (sid, status, HTTP status of the answer)
        self.number_errors: dict[str, int] = {}  # To → Twilio error code refused at create
        self.undeliverable: dict[str, int] = {}  # To → ErrorCode of an `undelivered` callback
        self.pending_numbers: set[str] = set()  # To whose carrier never reports: stays `sent`
        self.fetches: Counter[str] = Counter()  # Message fetches by SID (polling)
        self._reported: set[str] = set()  # SIDs whose status the callback task moves
        self._by_sid: dict[str, FakeMessage] = {}

    def api_routes(self) -> list[web.RouteDef]:
        return [
            web.post(API.format(account="{account}") + "/Messages.json", self._create),
            web.get(API.format(account="{account}") + "/Messages/{sid}.json", self._fetch),
        ]

    # -- steering (tests call these) ------------------------------------------------------------

    def fail_number(self, number: str, code: int = 21211) -> None:
        """Refuse creates to ``number`` with Twilio error ``code``."""
        self.number_errors[number] = code

    def reset(self) -> None:
        super().reset()
        self._by_sid.clear()
        self.callbacks.clear()
        self.number_errors.clear()
        self.undeliverable.clear()
        self.pending_numbers.clear()
        self.fetches.clear()
        self._reported.clear()

    def keep_pending(self, number: str) -> None:
        """Messages to ``number`` stop at ``sent``: its carrier never reports delivery."""
        self.pending_numbers.add(number)

    def received(self, to: str | None = None) -> list[FakeMessage]:
        return [m for m in self.messages if to is None or m.to == to]

    async def send_inbound(
        self,
        url: str,
        *,
        from_: str,
        to: str,
        body: str,
        media_urls: Sequence[str] = (),
        signature: str | None = None,
    ) -> tuple[int, str]:
        """POST an inbound message to ``url`` as Twilio would; ``(status, response text)``.

        ``signature`` replaces the computed X-Twilio-Signature (``""`` sends none), so tests can
        prove that forged webhooks are refused.
        """
        sid = "SM" + secrets.token_hex(16)
        fields = [
            ("MessageSid", sid),
            ("SmsSid", sid),
            ("SmsMessageSid", sid),
            ("AccountSid", self.account_sid),
            ("From", from_),
            ("To", to),
            ("Body", body),
            ("NumMedia", str(len(media_urls))),
            ("NumSegments", "1"),
            ("SmsStatus", "received"),
            ("ApiVersion", "2010-04-01"),
        ]
        for n, media in enumerate(media_urls):
            fields += [(f"MediaUrl{n}", media), (f"MediaContentType{n}", "image/jpeg")]
        if from_.startswith("whatsapp:"):
            fields += [("ProfileName", "Fake Handset"), ("WaId", from_.removeprefix("whatsapp:+"))]
        return await self._post_signed(url, fields, signature)

    async def send_status(
        self,
        url: str,
        message_sid: str,
        status: str = "delivered",
        *,
        error_code: int | None = None,
        signature: str | None = None,
    ) -> tuple[int, str]:
        """POST one status callback for ``message_sid``, as Twilio would; ``signature`` as in
        :meth:`send_inbound`."""
        fields = [
            ("MessageSid", message_sid),
            ("SmsSid", message_sid),
            ("AccountSid", self.account_sid),
            ("MessageStatus", status),
            ("SmsStatus", status),
            ("ApiVersion", "2010-04-01"),
        ]
        if error_code is not None:
            fields.append(("ErrorCode", str(error_code)))
        return await self._post_signed(url, fields, signature)

    # -- the Twilio API -------------------------------------------------------------------------

    async def _create(self, request: web.Request) -> web.Response:
        turned_away = await self._admit(request)
        if turned_away is not None:
            return turned_away
        form = await request.post()
        to = _text(form.get("To"))
        sender = _text(form.get("From"))
        service = _text(form.get("MessagingServiceSid"))
        body = _text(form.get("Body")) or ""
        media = [str(v) for v in form.getall("MediaUrl", [])]
        problem = validate(to, sender, service, body, media)
        if problem is None and to in self.number_errors:
            problem = self.number_errors[to]
        if problem is not None or to is None:
            return error_response(problem or 21604)
        message = FakeMessage(
            sid=("MM" if media else "SM") + secrets.token_hex(16),
            account_sid=request.match_info["account"],
            to=to,
            from_=sender,
            messaging_service_sid=service,
            body=body,
            media_urls=media,
            status_callback=_text(form.get("StatusCallback")),
            status="accepted" if service and not sender else "queued",
        )
        self.messages.append(message)
        self._by_sid[message.sid] = message
        if message.status_callback and self.status_callbacks:
            self._reported.add(message.sid)
            self._receipt_tasks.spawn(self._report(message))
        return json_response(message.to_json(), 201)

    async def _fetch(self, request: web.Request) -> web.Response:
        refused = self._refusal(request)
        if refused is not None:
            return refused
        message = self._by_sid.get(request.match_info["sid"])
        if message is None or message.account_sid != request.match_info["account"]:
            return error_response(20404)
        self.fetches[message.sid] += 1
        if message.sid not in self._reported:
            self._settle(message)
        return json_response(message.to_json())

    def _settle(self, message: FakeMessage) -> None:
        """Without callbacks, Twilio still moves a message on; the fake does it when asked, by
        the time elapsed: one step to ``sent``, another to the final status."""
        for _ in range(min(steps_due(message.created_at, self.callback_delay), 2)):
            self._advance(message)

    def _advance(self, message: FakeMessage) -> None:
        """One step: to ``sent``, then (unless its number is pending) to the final status."""
        if message.status in ("queued", "accepted"):
            message.move_to("sent")
        elif message.status == "sent" and message.to not in self.pending_numbers:
            error = self.undeliverable.get(message.to)
            message.move_to("undelivered" if error else "delivered", error)

    def _refusal(self, request: web.Request) -> web.Response | None:
        return None if self._authorized(request, request.match_info["account"]) else error_response(20003)

    def _failure_answer(self, failure: InjectedFailure) -> web.Response:
        code = FAILURE_CODES.get(failure.status, 20500)
        return error_response(code, failure.status, failure.headers())

    def _authorized(self, request: web.Request, account: str) -> bool:
        header = request.headers.get("Authorization", "")
        try:
            auth = aiohttp.BasicAuth.decode(header)
        except ValueError:
            return False
        if account != self.account_sid:
            return False
        if auth.login == self.account_sid:
            return secrets.compare_digest(auth.password, self.auth_token)
        key_secret = self.api_keys.get(auth.login)
        return key_secret is not None and secrets.compare_digest(auth.password, key_secret)

    async def _report(self, message: FakeMessage) -> None:
        """Status callbacks as Twilio sends them: ``sent``, then ``delivered`` or ``undelivered``
        (nothing more for pending numbers)."""
        for _ in range(1 if message.to in self.pending_numbers else 2):
            if self.callback_delay:
                await asyncio.sleep(self.callback_delay)
            self._advance(message)
            status = message.status
            fields = [
                ("MessageSid", message.sid),
                ("SmsSid", message.sid),
                ("AccountSid", message.account_sid),
                ("From", message.from_ or ""),
                ("To", message.to),
                ("MessageStatus", status),
                ("SmsStatus", status),
                ("ApiVersion", "2010-04-01"),
            ]
            if message.messaging_service_sid:
                fields.append(("MessagingServiceSid", message.messaging_service_sid))
            if status == "undelivered":
                fields.append(("ErrorCode", str(message.error_code)))
            assert message.status_callback is not None
            answered, _ = await self._post_signed(message.status_callback, fields, None)
            self.callbacks.append((message.sid, status, answered))

    async def _post_signed(
        self, url: str, fields: list[tuple[str, str]], signature: str | None
    ) -> tuple[int, str]:
        if signature is None:
            signature = compute_signature(self.auth_token, url, fields)
        headers = {"User-Agent": "TwilioProxy/1.1", "I-Twilio-Idempotency-Token": secrets.token_hex(16)}
        if signature:
            headers[SIGNATURE_HEADER] = signature
        return await self.post_callback(url, encode_form(fields), FORM, headers)

    # -- steering over HTTP -----------------------------------------------------------------------

    def _repeat_key(self, message: FakeMessage) -> Hashable:
        return message.to, message.body

    def _listing(self, query: Mapping[str, str]) -> dict[str, Any]:
        return {"messages": [listed(m) for m in self.received(query.get("to"))]}

    def _configure(self, config: Any) -> None:
        """``POST /_fake/config`` keys beside latency and fail_requests: callback_delay and
        status_callbacks (:attr:`CONFIG_KEYS`), number_errors {to: code}, undeliverable {to: code},
        pending [to]."""
        self.number_errors.update({str(k): int(v) for k, v in config.get("number_errors", {}).items()})
        self.undeliverable.update({str(k): int(v) for k, v in config.get("undeliverable", {}).items()})
        self.pending_numbers.update(str(number) for number in config.get("pending", []))

    async def _inbound(self, spec: Any) -> tuple[int, str]:
        """JSON ``{url, from, to, body, media_urls?, signature?}``."""
        return await self.send_inbound(
            str(spec["url"]),
            from_=str(spec["from"]),
            to=str(spec["to"]),
            body=str(spec.get("body", "")),
            media_urls=[str(u) for u in spec.get("media_urls", [])],
            signature=spec.get("signature"),
        )


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
