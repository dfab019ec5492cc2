"""The fake Twilio speaks Twilio: the unmodified official SDK works against it, and its webhooks
verify with the SDK's RequestValidator."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import pytest
from aiohttp import web
from multidict import MultiDict
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from support.web import eventually, serving
from tidings.simulators.twilio import FakeTwilio


class FakeHttpClient(TwilioHttpClient):
    """The SDK's documented extension point: send api.twilio.com calls to the fake."""

    def __init__(self, base: str) -> None:
        super().__init__(timeout=10)
        self.base = urlsplit(base)

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        parts = urlsplit(url)
        if (parts.hostname or "").endswith(".twilio.com"):
            url = urlunsplit((self.base.scheme, self.base.netloc, parts.path, parts.query, ""))
        return super().request(method, url, *args, **kwargs)


class Hook:
    """A loopback webhook receiver that records what arrives and whether the SDK validates it."""

    def __init__(self, token: str) -> None:
        self.validator = RequestValidator(token)
        self.calls: list[tuple[dict[str, str], bool]] = []
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        form = await request.post()
        params = MultiDict((k, str(v)) for k, v in form.items())
        valid = self.validator.validate(self.url, params, request.headers.get("X-Twilio-Signature", ""))
        self.calls.append((dict(params), valid))
        return web.Response(text="<Response/>", content_type="text/xml")


@pytest.fixture
async def fake() -> AsyncIterator[FakeTwilio]:
    async with FakeTwilio() as running:
        yield running


@pytest.fixture
async def hook(fake: FakeTwilio) -> AsyncIterator[Hook]:
    receiver = Hook(fake.auth_token)
    async with serving([web.post("/hook", receiver.handle)]) as base:
        receiver.url = f"{base}/hook"
        yield receiver


def _client(fake: FakeTwilio, token: str | None = None) -> Client:
    return Client(fake.account_sid, token or fake.auth_token, http_client=FakeHttpClient(fake.url))


async def test_the_official_sdk_creates_and_fetches_messages(fake: FakeTwilio) -> None:
    client = _client(fake)
    created = await asyncio.to_thread(
        client.messages.create, to="+14155550100", from_="+15005550006", body="hi", media_url=["https://x/1"]
    )
    fetched = await asyncio.to_thread(client.messages(created.sid).fetch)
    assert created.status == "queued" and created.num_media == "1"
    assert (fetched.sid, fetched.to, fetched.from_, fetched.body) == (
        created.sid,
        "+14155550100",
        "+15005550006",
        "hi",
    )
    assert fetched.date_created is not None and fetched.date_created.year >= 2024
    assert fake.received()[0].media_urls == ["https://x/1"]


@pytest.mark.parametrize(
    ("kwargs", "code", "status"),
    [
        ({"to": "+1", "from_": "+15005550006", "body": "x"}, 21211, 400),
        ({"to": "+14155550100", "body": "x"}, 21603, 400),
        ({"to": "+14155550100", "from_": "+15005550006"}, 21602, 400),
        ({"to": "+14155550100", "from_": "+15005550006", "body": "x" * 1601}, 21617, 400),
        ({"to": "whatsapp:+14155550100", "from_": "+15005550006", "body": "x"}, 21910, 400),
    ],
)
async def test_the_sdk_reads_the_fakes_errors(
    fake: FakeTwilio, kwargs: dict[str, Any], code: int, status: int
) -> None:
    with pytest.raises(TwilioRestException) as caught:
        await asyncio.to_thread(_client(fake).messages.create, **kwargs)
    assert (caught.value.code, caught.value.status) == (code, status)
    assert fake.received() == []


async def test_wrong_credentials_get_20003(fake: FakeTwilio) -> None:
    with pytest.raises(TwilioRestException) as caught:
        await asyncio.to_thread(
            _client(fake, "wrong").messages.create, to="+14155550100", from_="+1500", body="x"
        )
    assert (caught.value.code, caught.value.status) == (20003, 401)


async def test_status_callbacks_are_signed_as_twilio_signs_them(fake: FakeTwilio, hook: Hook) -> None:
    fake.undeliverable["+14155550101"] = 30003
    client = _client(fake)
    for to in ("+14155550100", "+14155550101"):
        await asyncio.to_thread(
            client.messages.create, to=to, from_="+15005550006", body="x", status_callback=hook.url
        )
    await eventually(lambda: len(hook.calls) == 4)
    assert all(valid for _, valid in hook.calls)
    outcome = {(form["To"], form["MessageStatus"]): form.get("ErrorCode") for form, _ in hook.calls}
    assert outcome == {
        ("+14155550100", "sent"): None,
        ("+14155550100", "delivered"): None,
        ("+14155550101", "sent"): None,
        ("+14155550101", "undelivered"): "30003",
    }
    fetched = await asyncio.to_thread(client.messages(fake.received("+14155550101")[0].sid).fetch)
    assert (fetched.status, fetched.error_code) == ("undelivered", 30003)


async def test_inbound_injection_is_signed_and_forgeable_on_request(fake: FakeTwilio, hook: Hook) -> None:
    status, text = await fake.send_inbound(hook.url, from_="+14155550100", to="+15005550006", body="hey")
    forged, _ = await fake.send_inbound(
        hook.url, from_="+14155550100", to="+15005550006", body="x", signature="AAAA"
    )
    assert (status, text, forged) == (200, "<Response/>", 200)
    [(first, first_valid), (_, second_valid)] = hook.calls
    assert (first_valid, second_valid) == (True, False)
    assert (
        first["Body"] == "hey" and first["SmsStatus"] == "received" and first["MessageSid"].startswith("SM")
    )


async def test_steering_over_http(fake: FakeTwilio, hook: Hook) -> None:
    async with aiohttp.ClientSession() as http:
        config = {
            "number_errors": {"+14155550199": 21610},
            "fail_requests": {"count": 1, "status": 429, "retry_after": 2},
        }
        async with http.post(f"{fake.url}/_fake/config", json=config) as answer:
            assert answer.status == 200
        async with http.post(f"{fake.url}/_fake/config", json={"latency": "slow"}) as answer:
            assert answer.status == 400
        client = _client(fake)
        with pytest.raises(TwilioRestException) as throttled:
            await asyncio.to_thread(client.messages.create, to="+14155550100", from_="+15005550006", body="a")
        with pytest.raises(TwilioRestException) as opted_out:
            await asyncio.to_thread(client.messages.create, to="+14155550199", from_="+15005550006", body="a")
        await asyncio.to_thread(client.messages.create, to="+14155550100", from_="+15005550006", body="a")
        await asyncio.to_thread(client.messages.create, to="+14155550100", from_="+15005550006", body="a")
        async with http.get(f"{fake.url}/_fake/messages") as answer:
            listed = await answer.json()
        inbound = {"url": hook.url, "from": "+14155550100", "to": "+15005550006", "body": "yo"}
        async with http.post(f"{fake.url}/_fake/inbound", json=inbound) as answer:
            injected = await answer.json()
        async with http.post(f"{fake.url}/_fake/reset") as answer:
            assert answer.status == 200
    assert (throttled.value.status, throttled.value.code, opted_out.value.code) == (429, 20429, 21610)
    assert (listed["count"], listed["requests"], listed["duplicates"]) == (2, 4, 1)
    assert [m["to"] for m in listed["messages"]] == ["+14155550100", "+14155550100"]
    assert injected == {"status": 200, "body": "<Response/>"}
    assert fake.received() == [] and fake.requests == 0


async def test_api_keys_authenticate_with_the_account_in_the_url(fake: FakeTwilio) -> None:
    fake.api_keys["SK" + "2" * 32] = "key-secret"
    client = Client("SK" + "2" * 32, "key-secret", fake.account_sid, http_client=FakeHttpClient(fake.url))
    created = await asyncio.to_thread(
        client.messages.create, to="+14155550100", from_="+15005550006", body="k"
    )
    assert created.account_sid == fake.account_sid
