"""The fake Viber speaks Viber's REST bot API: documented answers and checks, 64-bit tokens, and
callbacks whose X-Viber-Content-Signature verifies with a plain HMAC-SHA256 of the raw body."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from support.web import eventually, serving
from tidings.simulators.viber import FakeViber

SENDER = {"name": "Tidings Bot", "avatar": "https://example.com/a.png"}


class Hook:
    """A loopback webhook that records each callback and whether its signature verifies."""

    def __init__(self, token: str) -> None:
        self.token = token.encode()
        self.calls: list[tuple[dict[str, Any], bool]] = []
        self.answer = 200
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        expected = hmac.new(self.token, body, hashlib.sha256).hexdigest()
        valid = hmac.compare_digest(expected, request.headers.get("X-Viber-Content-Signature", ""))
        self.calls.append((json.loads(body), valid))
        return web.Response(status=self.answer)

    def events(self) -> list[str]:
        return [event["event"] for event, _ in self.calls]


@pytest.fixture
async def fake() -> AsyncIterator[FakeViber]:
    async with FakeViber() as running:
        yield running


@pytest.fixture
async def hook(fake: FakeViber) -> AsyncIterator[Hook]:
    receiver = Hook(fake.auth_token)
    async with serving([web.post("/hook", receiver.handle)]) as base:
        receiver.url = f"{base}/hook"
        yield receiver


async def _call(
    http: aiohttp.ClientSession, fake: FakeViber, name: str, body: Any, token: str | None = None
) -> tuple[int, bytes]:
    headers = {"X-Viber-Auth-Token": fake.auth_token if token is None else token}
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    async with http.post(f"{fake.url}/pa/{name}", data=data, headers=headers) as answer:
        return answer.status, await answer.read()


def _text(receiver: str = "01234567890A=", text: str = "hi", **more: Any) -> dict[str, Any]:
    return {
        "receiver": receiver,
        "min_api_version": 1,
        "sender": SENDER,
        "type": "text",
        "text": text,
        **more,
    }


async def test_send_message_answers_as_viber_documents(fake: FakeViber, http: aiohttp.ClientSession) -> None:
    status, raw = await _call(http, fake, "send_message", _text(tracking_data="msg_1"))
    answer = json.loads(raw)
    assert status == 200
    assert (answer["status"], answer["status_message"]) == (0, "ok")
    assert isinstance(answer["message_token"], int) and answer["message_token"] > 2**53
    assert str(answer["message_token"]).encode() in raw  # an integer literal, not 4.9e18
    assert answer["chat_hostname"]
    [received] = fake.received()
    assert (received.message_token, received.receiver, received.sender_name, received.tracking_data) == (
        answer["message_token"],
        "01234567890A=",
        "Tidings Bot",
        "msg_1",
    )


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({k: v for k, v in _text().items() if k != "receiver"}, 4),
        ({k: v for k, v in _text().items() if k != "type"}, 4),
        ({**_text(), "sender": {"avatar": "https://x"}}, 4),
        (_text(text=""), 4),
        ({**_text(), "type": "picture", "text": "x"}, 4),
        ({**_text(), "sender": {"name": "x" * 29}}, 3),
        ({**_text(), "type": "hologram"}, 3),
        (_text(text="y" * 7001), 3),
        ({**_text(), "type": "picture", "text": "y" * 769, "media": "https://x/1.jpg"}, 3),
        ({**_text(), "min_api_version": "1"}, 3),
        ({**_text(), "tracking_data": "t" * 4001}, 3),
        (b"{not json", 3),
        (_text(text="z" * 6000, tracking_data="t" * 4000) | {"pad": "p" * 30000}, 3),
    ],
    ids=[
        "no receiver", "no type", "no sender name", "empty text", "picture without media",
        "sender name of 29", "unknown type", "text of 7001", "picture description of 769",
        "min_api_version as a string", "tracking_data of 4001", "not JSON", "over 30KB",
    ],
)  # fmt: skip
async def test_send_message_checks(
    fake: FakeViber, http: aiohttp.ClientSession, body: Any, status: int
) -> None:
    answered, raw = await _call(http, fake, "send_message", body)
    answer = json.loads(raw)
    assert (answered, answer["status"]) == (200, status)
    assert answer["status_message"] and "message_token" not in answer
    assert fake.received() == [] and fake.requests == 1


async def test_limits_are_inclusive(fake: FakeViber, http: aiohttp.ClientSession) -> None:
    for body in (
        {**_text(text="y" * 7000), "sender": {"name": "x" * 28}},
        {**_text(), "type": "picture", "text": "", "media": "https://x/1.jpg"},
    ):
        _, raw = await _call(http, fake, "send_message", body)
        assert json.loads(raw)["status"] == 0
    assert len(fake.received()) == 2


@pytest.mark.parametrize("token", ["", "wrong-token"], ids=["missing", "wrong"])
async def test_the_auth_token_is_checked(fake: FakeViber, http: aiohttp.ClientSession, token: str) -> None:
    for name, body in (("send_message", _text()), ("set_webhook", {"url": "https://x.example/"})):
        _, raw = await _call(http, fake, name, body, token=token)
        assert json.loads(raw)["status"] == 2
    assert fake.received() == [] and fake.webhook_url is None


async def test_set_webhook_checks_the_url_with_a_signed_callback(
    fake: FakeViber, http: aiohttp.ClientSession, hook: Hook
) -> None:
    _, raw = await _call(http, fake, "set_webhook", {"url": hook.url, "event_types": ["delivered", "failed"]})
    assert json.loads(raw) == {
        "status": 0,
        "status_message": "ok",
        "event_types": ["delivered", "failed"],
        "chat_hostname": "SN-CHAT-FAKE_",
    }
    [(check, valid)] = hook.calls
    assert valid and check["event"] == "webhook" and isinstance(check["message_token"], int)
    assert fake.webhook_url == hook.url

    hook.answer = 500
    _, refused = await _call(http, fake, "set_webhook", {"url": hook.url + "/other"})
    _, removed = await _call(http, fake, "set_webhook", {"url": ""})
    assert (json.loads(refused)["status"], json.loads(removed)["status"]) == (1, 0)
    assert fake.webhook_url is None


async def test_receipts_are_signed_and_follow_the_event_filter(
    fake: FakeViber, http: aiohttp.ClientSession, hook: Hook
) -> None:
    fake.undeliverable["lostUser="] = "offline for too long"
    await _call(http, fake, "set_webhook", {"url": hook.url, "event_types": ["failed"]})
    await _call(http, fake, "send_message", _text())
    await _call(http, fake, "send_message", _text(receiver="lostUser="))
    await eventually(lambda: len(fake.callbacks) == 1 and all(m.status != "sent" for m in fake.messages))
    assert hook.events() == ["webhook", "failed"]  # no delivered: the bot did not ask for it
    failed, valid = hook.calls[1]
    assert valid and failed["desc"] == "offline for too long" and failed["user_id"] == "lostUser="
    assert failed["message_token"] == fake.received("lostUser=")[0].message_token
    assert [m.status for m in fake.messages] == ["delivered", "failed"]

    await _call(http, fake, "set_webhook", {"url": hook.url})
    await _call(http, fake, "send_message", _text())
    await eventually(lambda: hook.events()[-1] == "delivered")
    assert all(valid for _, valid in hook.calls)


async def test_receipts_wait_for_the_callback_delay(
    fake: FakeViber, http: aiohttp.ClientSession, hook: Hook
) -> None:
    fake.callback_delay = 0.3
    await _call(http, fake, "set_webhook", {"url": hook.url})
    await _call(http, fake, "send_message", _text())
    await asyncio.sleep(0.1)
    assert hook.events() == ["webhook"]
    await eventually(lambda: hook.events() == ["webhook", "delivered"])


async def test_transient_failures_then_acceptance(fake: FakeViber, http: aiohttp.ClientSession) -> None:
    fake.fail_requests(1, status=503, retry_after=4)
    headers = {"X-Viber-Auth-Token": fake.auth_token}
    async with http.post(f"{fake.url}/pa/send_message", json=_text(), headers=headers) as answer:
        assert (answer.status, answer.headers.get("Retry-After")) == (503, "4")
    fake.fail_requests(2, status=12)
    statuses = [json.loads((await _call(http, fake, "send_message", _text()))[1])["status"] for _ in range(3)]
    assert statuses == [12, 12, 0]
    assert fake.summary() == {"count": 1, "requests": 4, "distinct": 1, "duplicates": 0}


@pytest.mark.parametrize("status", [5, 6])
async def test_refused_receivers(fake: FakeViber, http: aiohttp.ClientSession, status: int) -> None:
    fake.refuse("gone=", status)
    _, raw = await _call(http, fake, "send_message", _text(receiver="gone="))
    assert json.loads(raw)["status"] == status and fake.received() == []


async def test_inbound_messages_are_signed_and_forgeable_on_request(fake: FakeViber, hook: Hook) -> None:
    status, _ = await fake.send_inbound(hook.url, sender_id="abc=", text="hey", name="Ana")
    forged, _ = await fake.send_inbound(hook.url, sender_id="abc=", text="x", signature="ab" * 32)
    assert (status, forged) == (200, 200)
    [(message, valid), (_, forged_valid)] = hook.calls
    assert (valid, forged_valid) == (True, False)
    assert (message["event"], message["sender"]["id"], message["sender"]["name"]) == (
        "message",
        "abc=",
        "Ana",
    )
    assert message["message"] == {"type": "text", "text": "hey"} and message["message_token"] > 2**53
    assert await fake.send_event(None, "seen", 1) == (0, "no webhook is set")


async def test_steering_over_http(fake: FakeViber, http: aiohttp.ClientSession, hook: Hook) -> None:
    config = {
        "refused": {"gone=": 6},
        "undeliverable": {"lost=": "blocked"},
        "fail_requests": {"count": 1, "status": 12},
        "delivery_callbacks": False,
    }
    async with http.post(f"{fake.url}/_fake/config", json=config) as answer:
        assert answer.status == 200
    async with http.post(f"{fake.url}/_fake/config", json={"latency": "slow"}) as answer:
        assert answer.status == 400
    await _call(http, fake, "set_webhook", {"url": hook.url})
    statuses = [
        json.loads((await _call(http, fake, "send_message", _text(receiver=to)))[1])["status"]
        for to in ("a=", "gone=", "a=", "a=")
    ]
    async with http.get(f"{fake.url}/_fake/messages") as answer:
        listed = await answer.json()
    inbound = {"sender_id": "abc=", "text": "yo"}
    async with http.post(f"{fake.url}/_fake/inbound", json=inbound) as answer:
        injected = await answer.json()
    async with http.post(f"{fake.url}/_fake/reset") as answer:
        assert answer.status == 200
    assert statuses == [12, 6, 0, 0]
    assert (listed["count"], listed["requests"], listed["duplicates"]) == (2, 4, 1)
    assert listed["webhook_url"] == hook.url and [m["receiver"] for m in listed["messages"]] == ["a=", "a="]
    assert injected == {"status": 200, "body": ""}
    assert hook.events() == ["webhook", "message"]  # delivery callbacks were switched off
    assert fake.received() == [] and fake.requests == 0
