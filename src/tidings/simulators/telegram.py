"""A fake Telegram Bot API on a loopback port, for tests and local development.

It speaks the documented wire format: ``/bot<token>/<method>`` with JSON, form or query
parameters; sendMessage checked as the Bot API checks it and answered with a Message;
``{"ok": false, "error_code", "description", "parameters"}`` errors; setWebhook, deleteWebhook,
getWebhookInfo, getMe; and Updates posted to the webhook with X-Telegram-Bot-Api-Secret-Token.
Tests steer it in Python (:class:`FakeTelegram`) or over HTTP (``/_fake/...``).
"""

from __future__ import annotations

import json
import secrets
import time
from collections import Counter
from collections.abc import Hashable, Mapping
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from tidings.channels.telegram.callbacks import SECRET_HEADER
from tidings.channels.telegram.config import BOT_TOKEN, WEBHOOK_SECRET
from tidings.simulators import telegram_resources as tg
from tidings.simulators.server import BAD_SPEC, FakeServer, InjectedFailure

LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})


class FakeTelegram(FakeServer[tg.FakeMessage]):
    """The fake server. ``await start()``, use :attr:`url` as the channel's ``api_base_url``."""

    # No webhook set and no url given: the inbound request cannot be posted.
    INBOUND_ERRORS = (*BAD_SPEC, RuntimeError)

    def __init__(
        self,
        *,
        bot_token: str | None = None,
        webhook_secret: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        latency: float = 0.0,
    ) -> None:
        self.bot_token = bot_token or f"{secrets.randbelow(9 * 10**9) + 10**9}:{secrets.token_urlsafe(26)}"
        if not BOT_TOKEN.fullmatch(self.bot_token):
            raise ValueError("bot_token must look like <bot id>:<secret>")
        self.bot_id = int(self.bot_token.partition(":")[0])
        self.bot = {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "Fake Bot",
            "username": "fake_tidings_bot",
        }
        # The secret Updates carry; setWebhook replaces it with its secret_token (or none).
        self.webhook_secret: str | None = webhook_secret or secrets.token_urlsafe(24)
        self.webhook_url: str | None = None
        self.allowed_updates: list[str] = []
        # Every Bot API call, not only sendMessage, is held for latency and counted in requests.
        super().__init__(host=host, port=port, latency=latency)
        self.refused: dict[str, tuple[int, str]] = {}  # chat id or @username → permanent error
        self._message_ids: Counter[int] = Counter()
        self._update_id = 100_000_000 + secrets.randbelow(10**6)

    def api_routes(self) -> list[web.RouteDef]:
        return [web.route("*", "/bot{token}/{method}", self._call)]

    # -- steering (tests call these) ------------------------------------------------------------

    def refuse_chat(self, chat_id: int | str, kind: str = "blocked") -> None:
        """Refuse sends to ``chat_id`` for good: ``blocked`` (403 "Forbidden: bot was blocked by
        the user") or ``not_found`` (400 "Bad Request: chat not found")."""
        self.refused[_chat_key(chat_id)] = tg.REFUSALS[kind]

    def fail_requests(self, count: int, *, status: int = 500, retry_after: int | None = None) -> None:
        """Answer the next ``count`` calls with ``status``: 429 (flood control, with
        ``parameters.retry_after``), 500, or 502 (an HTML page, as Telegram's proxy sends)."""
        if status not in tg.TRANSIENT:
            raise ValueError(f"status must be one of {sorted(tg.TRANSIENT)}")
        self.fail_next = InjectedFailure(count, status, retry_after if status == 429 else None)

    def reset(self) -> None:
        super().reset()
        self.refused.clear()
        self._message_ids.clear()

    def received(self, chat_id: int | str | None = None) -> list[tg.FakeMessage]:
        """Messages taken, in arrival order; only those to ``chat_id`` (id or @username) if given."""
        if chat_id is None:
            return list(self.messages)
        key = _chat_key(chat_id)
        return [m for m in self.messages if key in (str(m.chat_id), _username_key(m.chat))]

    async def send_update(
        self, update: dict[str, Any], *, url: str | None = None, secret_token: str | None = None
    ) -> tuple[int, str]:
        """POST one Update as Telegram would, to ``url`` or the webhook set with setWebhook;
        ``(status, response text)``. ``secret_token`` replaces the secret header's value
        (``""`` sends none), so tests can prove forged Updates are refused."""
        target = url or self.webhook_url
        if target is None:
            raise RuntimeError("no webhook: call setWebhook or pass url")
        secret = self.webhook_secret if secret_token is None else secret_token
        headers = {SECRET_HEADER: secret} if secret else {}
        return await self.post_callback(target, json.dumps(update).encode(), "application/json", headers)

    async def send_inbound(
        self,
        chat_id: int,
        text: str,
        *,
        url: str | None = None,
        secret_token: str | None = None,
        username: str | None = None,
    ) -> tuple[int, str]:
        """A user's text message in their private chat with the bot, as a ``message`` Update."""
        return await self.send_update(
            self.message_update(chat_id, text, username), url=url, secret_token=secret_token
        )

    def message_update(self, chat_id: int, text: str, username: str | None = None) -> dict[str, Any]:
        """The Update a private text message arrives in (https://core.telegram.org/bots/api#update)."""
        self._update_id += 1
        self._message_ids[chat_id] += 1
        user: dict[str, Any] = {"id": chat_id, "is_bot": False, "first_name": f"User {chat_id}"}
        if username:
            user["username"] = username
        chat = {key: value for key, value in user.items() if key != "is_bot"} | {"type": "private"}
        message = {
            "message_id": self._message_ids[chat_id],
            "from": user,
            "chat": chat,
            "date": int(time.time()),
            "text": text,
        }
        return {"update_id": self._update_id, "message": message}

    # -- the Bot API ----------------------------------------------------------------------------

    async def _call(self, request: web.Request) -> web.Response:
        turned_away = await self._admit(request)
        if turned_away is not None:
            return turned_away
        try:
            params = await _params(request)
        except ValueError:
            return tg.error(400, "Bad Request: can't parse request parameters")
        # "All methods in the Bot API are case-insensitive."
        method = request.match_info["method"].lower()
        if method == "sendmessage":
            return self._send_message(params)
        if method == "getme":
            return tg.ok(self.bot)
        if method == "setwebhook":
            return self._set_webhook(params)
        if method == "deletewebhook":
            self.webhook_url, self.allowed_updates = None, []
            return tg.ok(True, "Webhook was deleted")
        if method == "getwebhookinfo":
            info = {"url": self.webhook_url or "", "has_custom_certificate": False, "pending_update_count": 0}
            if self.webhook_url:
                info |= {"max_connections": 40, "allowed_updates": self.allowed_updates or ["message"]}
            return tg.ok(info)
        return tg.error(*tg.NOT_FOUND)

    def _refusal(self, request: web.Request) -> web.Response | None:
        token = request.match_info["token"]
        if not BOT_TOKEN.fullmatch(token):
            return tg.error(*tg.NOT_FOUND)
        if not secrets.compare_digest(token.encode(), self.bot_token.encode()):
            return tg.error(*tg.UNAUTHORIZED)
        return None

    def _failure_answer(self, failure: InjectedFailure) -> web.Response:
        if failure.status == 502:
            # What Telegram's front proxy answers when the Bot API server is down: not JSON.
            page = "<html><head><title>502 Bad Gateway</title></head><body>502 Bad Gateway</body></html>"
            return web.Response(text=page, status=502, content_type="text/html")
        if failure.status == 429:
            wait = failure.retry_after if failure.retry_after is not None else 1
            return tg.error(429, f"Too Many Requests: retry after {wait}", wait)
        return tg.error(failure.status, tg.TRANSIENT[failure.status])

    def _send_message(self, params: dict[str, Any]) -> web.Response:
        problem = tg.send_problem(params)
        if problem is not None:
            return tg.error(*problem)
        chat = tg.chat_for(params["chat_id"])
        assert chat is not None
        refusal = self.refused.get(str(chat["id"])) or self.refused.get(_username_key(chat))
        if refusal is not None:
            return tg.error(*refusal)
        self._message_ids[chat["id"]] += 1
        message = tg.FakeMessage(self._message_ids[chat["id"]], chat, str(params["text"]), self.bot)
        self.messages.append(message)
        return tg.ok(message.to_json())

    def _set_webhook(self, params: dict[str, Any]) -> web.Response:
        url = str(params.get("url") or "")
        if not url:
            self.webhook_url, self.allowed_updates = None, []
            return tg.ok(True, "Webhook was deleted")
        parts = urlsplit(url)
        # Telegram posts to HTTPS only; plain http is allowed to loopback so tests can run.
        if parts.scheme != "https" and not (parts.scheme == "http" and parts.hostname in LOOPBACK):
            return tg.error(*tg.NO_URL)
        secret = params.get("secret_token")
        if secret is not None and not WEBHOOK_SECRET.fullmatch(str(secret)):
            return tg.error(*tg.BAD_SECRET)
        allowed = params.get("allowed_updates")
        if isinstance(allowed, str):  # form and query parameters carry it JSON-serialized
            allowed = json.loads(allowed)
        self.webhook_url = url
        self.webhook_secret = str(secret) if secret is not None else None
        self.allowed_updates = [str(kind) for kind in allowed] if isinstance(allowed, list) else []
        return tg.ok(True, "Webhook was set")

    # -- steering over HTTP -----------------------------------------------------------------------

    def _repeat_key(self, message: tg.FakeMessage) -> Hashable:
        return message.chat_id, message.text

    def _listing(self, query: Mapping[str, str]) -> dict[str, Any]:
        try:
            found = self.received(query.get("chat_id"))
        except ValueError:
            raise ValueError("chat_id is a chat id or @username") from None
        return {"messages": [m.to_json() | {"key": m.key} for m in found]}

    def _configure(self, config: Any) -> None:
        """``POST /_fake/config`` keys beside latency and fail_requests: refuse_chats {chat id:
        "blocked" | "not_found"}."""
        for chat_id, kind in config.get("refuse_chats", {}).items():
            self.refuse_chat(str(chat_id), str(kind))

    async def _inbound(self, spec: Any) -> tuple[int, str]:
        """JSON ``{chat_id, text, url?, secret_token?, username?}``."""
        return await self.send_inbound(
            int(spec["chat_id"]),
            str(spec["text"]),
            url=spec.get("url"),
            secret_token=spec.get("secret_token"),
            username=spec.get("username"),
        )


async def _params(request: web.Request) -> dict[str, Any]:
    """A call's parameters: "URL query string, application/x-www-form-urlencoded,
    application/json, multipart/form-data" (https://core.telegram.org/bots/api#making-requests)."""
    params: dict[str, Any] = dict(request.query)
    if request.content_type == "application/json":
        body = await request.json()
        if not isinstance(body, dict):
            raise ValueError("not a JSON object")
        params.update(body)
    elif request.content_type in FORM_TYPES:
        params.update({key: str(value) for key, value in (await request.post()).items()})
    return params


def _chat_key(chat_id: int | str) -> str:
    text = str(chat_id).removeprefix("telegram:")
    return text.lower() if text.startswith("@") else str(int(text))


def _username_key(chat: dict[str, Any]) -> str:
    return f"@{chat['username'].lower()}" if chat.get("username") else ""
