"""The fake Telegram speaks the Bot API: parameters in every documented encoding, Message and
error objects as documented, webhooks set and Updates posted with the secret header."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from support.web import serving
from tidings.simulators import telegram_resources as tg
from tidings.simulators.telegram import FakeTelegram

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


class Hook:
    """A loopback webhook receiver that records each Update and the secret header it came with."""

    def __init__(self) -> None:
        self.calls: list[tuple[dict[str, Any], str | None]] = []
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.calls.append((await request.json(), request.headers.get(SECRET_HEADER)))
        return web.Response(status=200)


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as running:
        yield running


@pytest.fixture
async def hook() -> AsyncIterator[Hook]:
    receiver = Hook()
    async with serving([web.post("/hook", receiver.handle)]) as base:
        receiver.url = f"{base}/hook"
        yield receiver


async def _call(
    http: aiohttp.ClientSession, fake: FakeTelegram, method: str, token: str | None = None, **kwargs: Any
) -> tuple[int, dict[str, Any]]:
    url = f"{fake.url}/bot{token or fake.bot_token}/{method}"
    async with http.post(url, **kwargs) as response:
        return response.status, await response.json(content_type=None)


async def test_send_message_answers_with_a_documented_message(
    fake: FakeTelegram, http: aiohttp.ClientSession
) -> None:
    status, answer = await _call(http, fake, "sendMessage", json={"chat_id": 100200300, "text": "hi"})
    assert status == 200 and answer["ok"] is True
    message = answer["result"]
    assert set(message) == {"message_id", "from", "chat", "date", "text"}
    assert message["from"] == {**fake.bot, "is_bot": True}
    assert message["chat"] == {"id": 100200300, "first_name": "User 100200300", "type": "private"}
    assert (message["message_id"], message["text"]) == (1, "hi") and message["date"] > 1_700_000_000
    assert [m.key for m in fake.received(100200300)] == ["100200300:1"]


async def test_parameters_arrive_as_json_form_or_query_and_methods_ignore_case(
    fake: FakeTelegram, http: aiohttp.ClientSession
) -> None:
    await _call(http, fake, "sendMessage", json={"chat_id": 5, "text": "json"})
    await _call(http, fake, "SENDMESSAGE", data={"chat_id": "5", "text": "form"})
    await _call(http, fake, "sendmessage", params={"chat_id": "5", "text": "query"})
    await _call(http, fake, "sendMessage", json={"chat_id": "@News_Room", "text": "channel"})
    assert [(m.key, m.text) for m in fake.received(5)] == [("5:1", "json"), ("5:2", "form"), ("5:3", "query")]
    [post] = fake.received("@news_room")
    assert post.chat["type"] == "channel" and post.chat_id < 0 and "from" not in post.to_json()


@pytest.mark.parametrize(
    ("params", "status", "description"),
    [
        ({"text": "x"}, 400, "Bad Request: chat_id is empty"),
        ({"chat_id": 5}, 400, "Bad Request: message text is empty"),
        ({"chat_id": 5, "text": "  \n"}, 400, "Bad Request: message text is empty"),
        ({"chat_id": 5, "text": "x" * 4097}, 400, "Bad Request: message is too long"),
        ({"chat_id": "someone", "text": "x"}, 400, "Bad Request: chat not found"),
        ({"chat_id": 2**52, "text": "x"}, 400, "Bad Request: chat not found"),
    ],
)
async def test_send_message_checks_its_parameters(
    fake: FakeTelegram, http: aiohttp.ClientSession, params: dict[str, Any], status: int, description: str
) -> None:
    answered, answer = await _call(http, fake, "sendMessage", json=params)
    assert (answered, answer) == (status, {"ok": False, "error_code": status, "description": description})
    assert fake.received() == []


async def test_tokens_and_methods_are_checked(fake: FakeTelegram, http: aiohttp.ClientSession) -> None:
    bot_id = fake.bot_token.partition(":")[0]
    wrong = await _call(http, fake, "getMe", token=f"{bot_id}:{'x' * 35}")
    malformed = await _call(http, fake, "getMe", token="not-a-token")
    unknown = await _call(http, fake, "sendTelepathy")
    me = await _call(http, fake, "getMe")
    assert wrong == (401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
    assert malformed == (404, {"ok": False, "error_code": 404, "description": "Not Found"})
    assert unknown == (404, {"ok": False, "error_code": 404, "description": "Not Found"})
    assert me == (200, {"ok": True, "result": fake.bot})


async def test_transient_failures_then_success(fake: FakeTelegram, http: aiohttp.ClientSession) -> None:
    params = {"json": {"chat_id": 5, "text": "x"}}
    fake.fail_requests(1, status=429, retry_after=7)
    assert await _call(http, fake, "sendMessage", **params) == (
        429,
        {
            "ok": False,
            "error_code": 429,
            "description": "Too Many Requests: retry after 7",
            "parameters": {"retry_after": 7},
        },
    )
    fake.fail_requests(2, status=502)
    for _ in range(2):
        async with http.post(f"{fake.url}/bot{fake.bot_token}/sendMessage", **params) as response:
            assert (response.status, response.content_type) == (502, "text/html")
    assert (await _call(http, fake, "sendMessage", **params))[0] == 200
    assert fake.summary() == {"count": 1, "requests": 4, "distinct": 1, "duplicates": 0}
    with pytest.raises(ValueError):
        fake.fail_requests(1, status=503)


@pytest.mark.parametrize(
    ("kind", "status", "description"),
    [
        ("blocked", 403, "Forbidden: bot was blocked by the user"),
        ("not_found", 400, "Bad Request: chat not found"),
    ],
)
async def test_refused_chats(
    fake: FakeTelegram, http: aiohttp.ClientSession, kind: str, status: int, description: str
) -> None:
    fake.refuse_chat("telegram:77", kind)
    answered, answer = await _call(http, fake, "sendMessage", json={"chat_id": 77, "text": "x"})
    assert (answered, answer["description"]) == (status, description)
    assert (await _call(http, fake, "sendMessage", json={"chat_id": 78, "text": "x"}))[0] == 200
    assert [m.chat_id for m in fake.received()] == [78]


async def test_webhooks_are_set_described_and_deleted(
    fake: FakeTelegram, http: aiohttp.ClientSession
) -> None:
    settings = {
        "url": "https://gw.example.com/hook",
        "secret_token": "abc_DEF-123",
        "allowed_updates": ["message"],
    }
    assert await _call(http, fake, "setWebhook", json=settings) == (
        200,
        {"ok": True, "result": True, "description": "Webhook was set"},
    )
    _, info = await _call(http, fake, "getWebhookInfo")
    assert info["result"]["url"] == "https://gw.example.com/hook"
    assert info["result"]["allowed_updates"] == ["message"] and "secret_token" not in info["result"]
    assert (fake.webhook_secret, fake.allowed_updates) == ("abc_DEF-123", ["message"])
    as_form = {"url": "https://gw.example.com/h2", "allowed_updates": '["message", "edited_message"]'}
    assert (await _call(http, fake, "setWebhook", data=as_form))[0] == 200
    assert fake.allowed_updates == ["message", "edited_message"] and fake.webhook_secret is None
    assert (await _call(http, fake, "deleteWebhook"))[1]["result"] is True
    assert (await _call(http, fake, "getWebhookInfo"))[1]["result"]["url"] == ""


@pytest.mark.parametrize(
    ("settings", "description"),
    [
        ({"url": "http://gw.example.com/hook"}, tg.NO_URL[1]),
        ({"url": "https://gw.example.com/h", "secret_token": "no spaces"}, tg.BAD_SECRET[1]),
    ],
)
async def test_bad_webhooks_are_refused(
    fake: FakeTelegram, http: aiohttp.ClientSession, settings: dict[str, str], description: str
) -> None:
    answered, answer = await _call(http, fake, "setWebhook", json=settings)
    assert (answered, answer["description"]) == (400, description)
    assert fake.webhook_url is None


async def test_updates_carry_the_secret_unless_told_otherwise(fake: FakeTelegram, hook: Hook) -> None:
    fake.webhook_secret = "the-secret"
    assert await fake.send_inbound(100200323, "hello", url=hook.url, username="ana") == (200, "")
    await fake.send_inbound(100200323, "forged", url=hook.url, secret_token="guess")
    await fake.send_inbound(100200323, "unsigned", url=hook.url, secret_token="")
    (first, secret), (second, forged), (_, unsigned) = hook.calls
    assert (secret, forged, unsigned) == ("the-secret", "guess", None)
    assert second["update_id"] == first["update_id"] + 1
    message = first["message"]
    assert message["chat"] == {
        "id": 100200323,
        "first_name": "User 100200323",
        "username": "ana",
        "type": "private",
    }
    assert message["from"]["is_bot"] is False and message["text"] == "hello"
    assert second["message"]["message_id"] == message["message_id"] + 1


async def test_updates_go_to_the_webhook_that_was_set(
    fake: FakeTelegram, http: aiohttp.ClientSession, hook: Hook
) -> None:
    with pytest.raises(RuntimeError):
        await fake.send_inbound(5, "nowhere to go")
    await _call(http, fake, "setWebhook", json={"url": hook.url, "secret_token": "set-by-bot"})
    await fake.send_inbound(5, "hi")
    assert [(update["message"]["text"], secret) for update, secret in hook.calls] == [("hi", "set-by-bot")]


async def test_steering_over_http(fake: FakeTelegram, http: aiohttp.ClientSession, hook: Hook) -> None:
    config = {
        "refuse_chats": {"77": "blocked"},
        "fail_requests": {"count": 1, "status": 429, "retry_after": 2},
    }
    async with http.post(f"{fake.url}/_fake/config", json=config) as answer:
        assert answer.status == 200
    async with http.post(f"{fake.url}/_fake/config", json={"refuse_chats": {"77": "maybe"}}) as answer:
        assert answer.status == 400
    send = {"json": {"chat_id": 5, "text": "a"}}
    throttled = await _call(http, fake, "sendMessage", **send)
    blocked = await _call(http, fake, "sendMessage", json={"chat_id": 77, "text": "a"})
    await _call(http, fake, "sendMessage", **send)
    await _call(http, fake, "sendMessage", **send)
    async with http.get(f"{fake.url}/_fake/messages", params={"chat_id": "5"}) as answer:
        listed = await answer.json()
    inbound = {"chat_id": 5, "text": "yo", "url": hook.url}
    async with http.post(f"{fake.url}/_fake/inbound", json=inbound) as answer:
        injected = await answer.json()
    async with http.post(f"{fake.url}/_fake/reset") as answer:
        assert answer.status == 200
    assert (throttled[0], throttled[1]["parameters"], blocked[0]) == (429, {"retry_after": 2}, 403)
    assert (listed["count"], listed["requests"], listed["duplicates"]) == (2, 4, 1)
    assert [m["key"] for m in listed["messages"]] == ["5:1", "5:2"]
    assert injected == {"status": 200, "body": ""} and hook.calls[0][0]["message"]["text"] == "yo"
    assert fake.received() == [] and fake.requests == 0 and fake.refused == {}
