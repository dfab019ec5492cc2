"""The steering every HTTP fake shares (``/_fake/config``, ``messages``, ``inbound``, ``reset``)
reads the same for each provider, over a real loopback connection."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest

from tidings.simulators.flowroute import FakeFlowroute
from tidings.simulators.server import FakeServer
from tidings.simulators.telegram import FakeTelegram
from tidings.simulators.twilio import FakeTwilio
from tidings.simulators.viber import FakeViber
from tidings.simulators.whatsapp import FakeWhatsApp

Send = Callable[[aiohttp.ClientSession, Any], Awaitable[int]]


async def _twilio(http: aiohttp.ClientSession, fake: FakeTwilio) -> int:
    form = {"To": "+14155550100", "From": "+15005550006", "Body": "hi"}
    auth = {"Authorization": aiohttp.encode_basic_auth(fake.account_sid, fake.auth_token)}
    url = f"{fake.url}/2010-04-01/Accounts/{fake.account_sid}/Messages.json"
    async with http.post(url, data=form, headers=auth) as answer:
        return answer.status


async def _flowroute(http: aiohttp.ClientSession, fake: FakeFlowroute) -> int:
    attributes = {"to": "14155550100", "from": "12065550100", "body": "hi"}
    document = {"data": {"type": "message", "attributes": attributes}}
    auth = {"Authorization": aiohttp.encode_basic_auth(fake.access_key, fake.secret_key)}
    async with http.post(f"{fake.url}/v2.1/messages", json=document, headers=auth) as answer:
        return answer.status


async def _telegram(http: aiohttp.ClientSession, fake: FakeTelegram) -> int:
    async with http.post(
        f"{fake.url}/bot{fake.bot_token}/sendMessage", json={"chat_id": 5, "text": "hi"}
    ) as answer:
        return answer.status


async def _viber(http: aiohttp.ClientSession, fake: FakeViber) -> int:
    message = {"receiver": "01234567890A=", "sender": {"name": "Bot"}, "type": "text", "text": "hi"}
    headers = {"X-Viber-Auth-Token": fake.auth_token}
    async with http.post(f"{fake.url}/pa/send_message", json=message, headers=headers) as answer:
        return answer.status


async def _whatsapp(http: aiohttp.ClientSession, fake: FakeWhatsApp) -> int:
    # A template: free-form text would need the customer's 24-hour window open.
    template = {"name": "hello", "language": {"code": "en_US"}}
    message = {
        "messaging_product": "whatsapp",
        "to": "+14155550100",
        "type": "template",
        "template": template,
    }
    headers = {"Authorization": f"Bearer {fake.access_token}"}
    url = f"{fake.url}/v21.0/{fake.phone_number_id}/messages"
    async with http.post(url, json=message, headers=headers) as answer:
        return answer.status


@dataclass(frozen=True)
class Provider:
    make: Callable[[], FakeServer[Any]]
    send: Send  # one valid send; the HTTP status it got
    accepted: int  # what an accepted send gets
    default_failure: int  # what a failure injected without a status answers
    settings: dict[str, Any]  # /_fake/config keys of the provider's own
    applied: dict[str, Any]  # the attributes they set


PROVIDERS = {
    "twilio": Provider(
        FakeTwilio, _twilio, 201, 500,
        {"callback_delay": "0.25", "status_callbacks": 0},
        {"callback_delay": 0.25, "status_callbacks": False},
    ),
    "flowroute": Provider(
        FakeFlowroute, _flowroute, 202, 500,
        {"callback_delay": 1, "dlr_callbacks": ""},
        {"callback_delay": 1.0, "dlr_callbacks": False},
    ),
    "telegram": Provider(FakeTelegram, _telegram, 200, 500, {}, {}),
    "viber": Provider(
        FakeViber, _viber, 200, 503,
        {"callback_delay": "2", "delivery_callbacks": None},
        {"callback_delay": 2.0, "delivery_callbacks": False},
    ),
    "whatsapp": Provider(
        FakeWhatsApp, _whatsapp, 200, 500,
        {"status_delay": "0.5", "status_notifications": 0, "webhook_url": ""},
        {"status_delay": 0.5, "status_notifications": False, "webhook_url": None},
    ),
}  # fmt: skip


@pytest.fixture(params=sorted(PROVIDERS))
async def provider(request: pytest.FixtureRequest) -> AsyncIterator[tuple[Provider, FakeServer[Any]]]:
    chosen = PROVIDERS[request.param]
    async with chosen.make() as fake:
        yield chosen, fake


async def _steer(http: aiohttp.ClientSession, fake: FakeServer[Any], path: str, spec: Any = None) -> Any:
    method = "GET" if spec is None else "POST"
    async with http.request(method, f"{fake.url}/_fake/{path}", json=spec) as answer:
        return answer.status, await answer.json()


async def test_a_failure_injected_without_a_status_answers_the_providers_default_then_resets(
    provider: tuple[Provider, FakeServer[Any]], http: aiohttp.ClientSession
) -> None:
    chosen, fake = provider
    assert await _steer(http, fake, "config", {"latency": "0", "fail_requests": {"count": 1}}) == (
        200,
        {"ok": True},
    )
    assert [await chosen.send(http, fake) for _ in range(3)] == [
        chosen.default_failure,
        chosen.accepted,
        chosen.accepted,
    ]
    status, listed = await _steer(http, fake, "messages")
    counts = {key: listed[key] for key in ("count", "requests", "distinct", "duplicates")}
    assert (status, counts) == (200, {"count": 2, "requests": 3, "distinct": 1, "duplicates": 1})
    assert await _steer(http, fake, "reset", {}) == (200, {"ok": True})
    status, listed = await _steer(http, fake, "messages")
    assert (listed["count"], listed["requests"], listed["messages"]) == (0, 0, [])
    assert fake.fail_next is None


async def test_the_providers_own_settings_are_converted_and_a_bad_one_is_refused(
    provider: tuple[Provider, FakeServer[Any]], http: aiohttp.ClientSession
) -> None:
    chosen, fake = provider
    assert await _steer(http, fake, "config", chosen.settings) == (200, {"ok": True})
    assert {name: getattr(fake, name) for name in chosen.applied} == chosen.applied
    for bad in ({"latency": "slow"}, {"fail_requests": {"status": 500}}, [1], "latency"):
        assert await _steer(http, fake, "config", bad) == (400, {"error": "bad configuration"})
    assert await _steer(http, fake, "inbound", {}) == (400, {"error": "bad inbound request"})


async def test_telegram_refuses_a_listing_of_no_chat_and_an_inbound_with_no_webhook(
    http: aiohttp.ClientSession,
) -> None:
    async with FakeTelegram() as fake:
        async with http.get(f"{fake.url}/_fake/messages", params={"chat_id": "nobody"}) as answer:
            assert (answer.status, await answer.json()) == (
                400,
                {"error": "chat_id is a chat id or @username"},
            )
        assert await _steer(http, fake, "inbound", {"chat_id": 7, "text": "hi"}) == (
            400,
            {"error": "bad inbound request"},
        )
