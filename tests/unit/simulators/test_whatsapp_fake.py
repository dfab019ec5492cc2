"""The fake WhatsApp Cloud API speaks Meta's wire format, checked with a plain HTTP client: sends
and their answers, Graph API errors, the 24-hour window, signed notifications, HTTP steering."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from support.web import eventually, serving
from tidings.simulators.whatsapp import FakeWhatsApp

CUSTOMER = "+14155550100"


class Hook:
    """A loopback webhook receiver that records each notification and whether its signature is
    Meta's (hex HMAC-SHA256 of the raw body with the app secret), checked here independently."""

    def __init__(self, app_secret: str) -> None:
        self.app_secret = app_secret
        self.calls: list[tuple[dict[str, Any], bool | None]] = []
        self.handshakes: list[dict[str, str]] = []
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        header = request.headers.get("X-Hub-Signature-256")
        digest = hmac.new(self.app_secret.encode(), body, hashlib.sha256).hexdigest()
        self.calls.append((json.loads(body), None if header is None else header == f"sha256={digest}"))
        return web.Response(text="ok")

    async def handshake(self, request: web.Request) -> web.Response:
        self.handshakes.append(dict(request.query))
        return web.Response(text=request.query.get("hub.challenge", ""))


@pytest.fixture
async def fake() -> AsyncIterator[FakeWhatsApp]:
    async with FakeWhatsApp() as running:
        yield running


@pytest.fixture
async def hook(fake: FakeWhatsApp) -> AsyncIterator[Hook]:
    receiver = Hook(fake.app_secret)
    async with serving([web.post("/hook", receiver.handle), web.get("/hook", receiver.handshake)]) as base:
        receiver.url = f"{base}/hook"
        yield receiver


async def _post(
    fake: FakeWhatsApp, message: Any, *, token: str | None = None, phone: str | None = None
) -> tuple[int, Any]:
    url = f"{fake.url}/v21.0/{phone or fake.phone_number_id}/messages"
    headers = {"Authorization": f"Bearer {token or fake.access_token}"}
    async with aiohttp.ClientSession() as session, session.post(url, json=message, headers=headers) as resp:
        return resp.status, await resp.json()


def _text(to: str = CUSTOMER, body: str = "hi", **more: Any) -> dict[str, Any]:
    return {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to, "type": "text",
            "text": {"body": body}, **more}  # fmt: skip


def _media(kind: str, content: dict[str, Any]) -> dict[str, Any]:
    return {"messaging_product": "whatsapp", "to": CUSTOMER, "type": kind, kind: content}


def _template(to: str = CUSTOMER, **template: Any) -> dict[str, Any]:
    body = {"name": "hello_world", "language": {"code": "en_US"}, **template}
    return {"messaging_product": "whatsapp", "to": to, "type": "template", "template": body}


async def test_a_text_inside_the_window_is_answered_as_meta_documents(fake: FakeWhatsApp) -> None:
    fake.open_window(CUSTOMER)
    status, answer = await _post(fake, _text())
    assert status == 200
    [received] = fake.received(CUSTOMER)
    assert answer == {
        "messaging_product": "whatsapp",
        "contacts": [{"input": CUSTOMER, "wa_id": "14155550100"}],
        "messages": [{"id": received.id}],
    }
    assert received.id.startswith("wamid.") and received.content == {"body": "hi"}


@pytest.mark.parametrize(
    ("token", "phone", "status", "code"), [("wrong", None, 401, 190), (None, "1", 400, 100)]
)
async def test_wrong_token_or_phone_number_id_answer_graph_errors(
    fake: FakeWhatsApp, token: str | None, phone: str | None, status: int, code: int
) -> None:
    fake.open_window(CUSTOMER)
    got, answer = await _post(fake, _text(), token=token, phone=phone)
    error = answer["error"]
    assert (got, error["code"], error["type"]) == (status, code, "OAuthException")
    assert (
        error["message"].startswith(f"(#{code})") and error["error_data"]["details"] and error["fbtrace_id"]
    )
    assert fake.received() == []


@pytest.mark.parametrize(
    ("message", "code"),
    [
        ({**_text(), "messaging_product": "sms"}, 100),
        (_text(to="+1 415 555"), 131009),
        (_text(body=""), 100),
        (_text(body="x" * 4097), 100),
        (_text(text={"body": "x", "preview_url": "yes"}), 100),
        (_media("image", {"caption": "x"}), 100),
        (_media("image", {"link": "ftp://x/y.jpg"}), 131009),
        (_media("audio", {"link": "https://x.example/a.ogg", "caption": "no"}), 100),
        (_media("location", {}), 131051),
        (_template(language={}), 100),
        (_template(components=[{"parameters": []}]), 100),
        ([1, 2], 100),
    ],
)  # fmt: skip
async def test_invalid_message_objects_are_refused(fake: FakeWhatsApp, message: Any, code: int) -> None:
    fake.open_window(CUSTOMER)
    status, answer = await _post(fake, message)
    assert (status, answer["error"]["code"]) == (400, code)
    assert fake.received() == []


async def test_media_by_link_is_accepted(fake: FakeWhatsApp) -> None:
    fake.open_window(CUSTOMER)
    media = {"link": "https://x.example/cat.jpg", "caption": "cat"}
    status, _ = await _post(
        fake, {"messaging_product": "whatsapp", "to": CUSTOMER, "type": "image", "image": media}
    )
    assert status == 200 and [(m.type, m.content, m.body) for m in fake.received()] == [
        ("image", media, "cat")
    ]


async def test_the_24_hour_window_only_lets_templates_through(fake: FakeWhatsApp) -> None:
    status, answer = await _post(fake, _text())
    assert (status, answer["error"]["code"]) == (400, 131047)
    assert answer["error"]["message"] == "(#131047) Re-engagement message"
    status, answer = await _post(fake, _template())
    assert status == 200 and answer["messages"][0]["message_status"] == "accepted"
    fake.open_window(CUSTOMER, at=time.time() - 24 * 3600 - 1)  # wrote just over a day ago
    assert (await _post(fake, _text()))[0] == 400
    fake.open_window(CUSTOMER, at=time.time() - 23 * 3600)
    assert (await _post(fake, _text()))[0] == 200
    assert [m.type for m in fake.received(CUSTOMER)] == ["template", "text"]


async def test_an_inbound_message_opens_the_window(fake: FakeWhatsApp, hook: Hook) -> None:
    assert (await _post(fake, _text()))[0] == 400
    assert await fake.send_inbound(hook.url, from_="whatsapp:" + CUSTOMER, body="hello") == (200, "ok")
    assert (await _post(fake, _text()))[0] == 200


async def test_registered_templates_are_checked_by_name_language_and_parameters(fake: FakeWhatsApp) -> None:
    fake.register_template("order_update", "en_US", body_params=1)
    body = [{"type": "body", "parameters": [{"type": "text", "text": "A-17"}]}]
    cases = [
        (_template(name="order_update", components=body), 200, None),
        (_template(name="order_update", language={"code": "de"}, components=body), 400, 132001),
        (_template(name="nope"), 400, 132001),
        (_template(name="order_update"), 400, 132000),
    ]
    for message, status, code in cases:
        got, answer = await _post(fake, message)
        assert (got, answer.get("error", {}).get("code")) == (status, code)


async def test_statuses_are_posted_signed_sent_then_delivered(fake: FakeWhatsApp, hook: Hook) -> None:
    fake.webhook_url = hook.url
    fake.open_window(CUSTOMER)
    await _post(fake, _text())
    await eventually(lambda: len(hook.calls) == 2)
    [message] = fake.received()
    statuses = []
    for payload, signed in hook.calls:
        assert signed is True and payload["object"] == "whatsapp_business_account"
        [change] = payload["entry"][0]["changes"]
        assert change["field"] == "messages"
        assert change["value"]["metadata"] == {
            "display_phone_number": fake.display_phone_number,
            "phone_number_id": fake.phone_number_id,
        }
        [status] = change["value"]["statuses"]
        assert (status["id"], status["recipient_id"]) == (message.id, "14155550100")
        statuses.append(status["status"])
    assert statuses == ["sent", "delivered"] and message.status == "delivered"
    assert [n[1:] for n in fake.notifications] == [("sent", 200), ("delivered", 200)]


async def test_undeliverable_numbers_get_a_failed_status_with_131026(fake: FakeWhatsApp, hook: Hook) -> None:
    fake.webhook_url = hook.url
    fake.open_window(CUSTOMER)
    fake.mark_undeliverable(CUSTOMER)
    assert (await _post(fake, _text()))[0] == 200
    await eventually(lambda: len(hook.calls) == 2)
    failed = hook.calls[1][0]["entry"][0]["changes"][0]["value"]["statuses"][0]
    assert failed["status"] == "failed"
    assert [(e["code"], e["title"]) for e in failed["errors"]] == [(131026, "Message undeliverable")]
    assert failed["errors"][0]["error_data"]["details"]


async def test_no_statuses_when_held(fake: FakeWhatsApp, hook: Hook) -> None:
    fake.webhook_url = hook.url
    fake.status_notifications = False
    fake.open_window(CUSTOMER)
    await _post(fake, _text())
    await asyncio.sleep(0.1)
    assert hook.calls == []


async def test_inbound_notifications_are_signed_and_forgeable_on_request(
    fake: FakeWhatsApp, hook: Hook
) -> None:
    await fake.send_inbound(hook.url, from_=CUSTOMER, body="hello")
    await fake.send_inbound(hook.url, from_=CUSTOMER, body="forged", signature="sha256=" + "0" * 64)
    await fake.send_inbound(hook.url, from_=CUSTOMER, body="unsigned", signature="")
    assert [signed for _, signed in hook.calls] == [True, False, None]
    value = hook.calls[0][0]["entry"][0]["changes"][0]["value"]
    [message] = value["messages"]
    assert (message["from"], message["type"], message["text"]) == ("14155550100", "text", {"body": "hello"})
    assert message["id"].startswith("wamid.") and message["timestamp"].isdigit()
    assert value["contacts"] == [{"profile": {"name": "Fake Handset"}, "wa_id": "14155550100"}]


async def test_transient_failures_then_acceptance_and_permanent_refusals(fake: FakeWhatsApp) -> None:
    fake.open_window(CUSTOMER)
    fake.fail_requests(2, status=503)
    answers = [await _post(fake, _text()) for _ in range(3)]
    assert [(s, a.get("error", {}).get("code")) for s, a in answers] == [(503, 2), (503, 2), (200, None)]
    fake.fail_requests(1, status=429)
    assert (await _post(fake, _text()))[1]["error"]["code"] == 130429
    fake.refuse(CUSTOMER)
    assert (await _post(fake, _text()))[1]["error"]["code"] == 131030
    assert fake.summary() == {"count": 1, "requests": 5, "distinct": 1, "duplicates": 0}


async def test_the_handshake_helper_does_what_metas_dashboard_does(fake: FakeWhatsApp, hook: Hook) -> None:
    assert await fake.verify_webhook(hook.url, "my-token", "31337") == (200, "31337")
    assert hook.handshakes == [
        {"hub.mode": "subscribe", "hub.challenge": "31337", "hub.verify_token": "my-token"}
    ]


async def test_steering_over_http(fake: FakeWhatsApp, hook: Hook) -> None:
    async with aiohttp.ClientSession() as session:

        async def call(path: str, spec: Any = None) -> Any:
            method = "GET" if spec is None else "POST"
            async with session.request(method, fake.url + path, json=spec) as resp:
                return resp.status, await resp.json()

        config = {
            "webhook_url": hook.url,
            "status_delay": 0,
            "undeliverable": {"+14155550188": 131026},
            "refuse": {"+14155550177": 131030},
            "fail_requests": {"count": 1, "status": 500},
        }
        assert await call("/_fake/config", config) == (200, {"ok": True})
        assert (await call("/_fake/config", {"fail_requests": {}}))[0] == 400
        assert await call("/_fake/window", {"number": CUSTOMER}) == (200, {"ok": True})
        assert (await _post(fake, _text()))[1]["error"]["code"] == 131000
        assert (await _post(fake, _text()))[0] == 200
        assert (await _post(fake, _text(to="+14155550177")))[1]["error"]["code"] == 131030
        inbound = await call("/_fake/inbound", {"from": "+14155550123", "body": "yo"})
        assert inbound == (200, {"status": 200, "body": "ok"})
        assert fake.window_open("+14155550123")
        status, listed = await call(f"/_fake/messages?to={CUSTOMER}")
        assert (status, listed["count"], listed["requests"]) == (200, 1, 3)
        assert [m["to"] for m in listed["messages"]] == ["14155550100"]
        assert await call("/_fake/reset", {}) == (200, {"ok": True})
        assert fake.received() == [] and fake.last_inbound == {} and fake.refused == {}
