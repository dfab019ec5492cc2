"""The Flowroute adapter against the fake Flowroute over real loopback HTTP: what it sends, what
it keeps, how it classifies every failure, and how it authenticates webhooks."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from support.channels import IGNORE_REPORTS, outbound, send_error
from support.ports import closed_port
from tidings.channels.base import (
    CallbackNotFound,
    CallbackRejected,
    CallbackRequest,
    OutboundMessage,
    SendError,
)
from tidings.channels.flowroute.channel import FlowrouteChannel
from tidings.channels.flowroute.config import FlowrouteCredentials, FlowrouteSettings
from tidings.simulators.flowroute import FakeFlowroute

SENDER = "+12065550100"
TOKEN = "tok-0123456789abcdef-webhooks"


@pytest.fixture
async def fake() -> AsyncIterator[FakeFlowroute]:
    async with FakeFlowroute() as running:
        yield running


async def _channel(
    fake: FakeFlowroute, credentials: dict[str, Any] | None = None, **settings: Any
) -> FlowrouteChannel:
    options: dict[str, Any] = {"api_base_url": fake.url, **settings}
    secrets = credentials or {
        "access_key": fake.access_key,
        "secret_key": fake.secret_key,
        "webhook_token": TOKEN,
    }
    channel = FlowrouteChannel(
        "chn_flowroute_test",
        FlowrouteSettings.model_validate(options),
        IGNORE_REPORTS,
        FlowrouteCredentials.model_validate(secrets),
    )
    await channel.start()
    return channel


def _message(
    to: str = "+14155550100", sender: str | None = SENDER, body: str = "hello", **more: Any
) -> OutboundMessage:
    return outbound(to, sender, body, **more)


async def _send(fake: FakeFlowroute, message: OutboundMessage, **settings: Any) -> Any:
    channel = await _channel(fake, **settings)
    try:
        return await channel.send(message)
    finally:
        await channel.close()


async def _refused(fake: FakeFlowroute, message: OutboundMessage, **settings: Any) -> SendError:
    with pytest.raises(SendError) as caught:
        await _send(fake, message, **settings)
    return caught.value


async def test_send_records_the_mdr_id_and_the_fake_receives_it_once(fake: FakeFlowroute) -> None:
    result = await _send(fake, _message(), public_base_url="https://gw.example.com")
    [received] = fake.received()
    assert result.provider_message_id == received.id
    assert received.id.startswith("mdr2-") and len(received.id) == 37
    # v2.1 takes 11-digit NANP numbers without "+".
    assert (received.api_version, received.to, received.from_) == ("v2.1", "14155550100", "12065550100")
    assert (received.body, received.is_mms, received.media_urls) == ("hello", False, [])
    assert received.dlr_callback == f"https://gw.example.com/webhooks/chn_flowroute_test/status?token={TOKEN}"


async def test_v2_2_sends_e164_numbers(fake: FakeFlowroute) -> None:
    await _send(fake, _message(), api_version="v2.2")
    [received] = fake.received()
    assert (received.api_version, received.to, received.from_) == ("v2.2", "+14155550100", SENDER)


async def test_media_urls_go_out_as_mms(fake: FakeFlowroute) -> None:
    media = ("https://x.example/1.jpg", "https://x.example/2.png")
    await _send(fake, _message(body="", media_urls=media))
    [received] = fake.received()
    assert (received.is_mms, received.media_urls, received.body) == (True, list(media), "")


@pytest.mark.parametrize(
    ("settings", "credentials"),
    [
        ({}, None),  # no public_base_url
        ({"public_base_url": "https://gw.example.com", "delivery_receipts": False}, None),
        ({"public_base_url": "https://gw.example.com"}, "no token"),
    ],
    ids=["no public url", "receipts off", "no webhook token"],
)
async def test_no_dlr_callback_unless_receipts_can_be_verified(
    fake: FakeFlowroute, settings: dict[str, Any], credentials: str | None
) -> None:
    secrets = {"access_key": fake.access_key, "secret_key": fake.secret_key} if credentials else None
    channel = await _channel(fake, secrets, **settings)
    try:
        await channel.send(_message())
    finally:
        await channel.close()
    assert fake.received()[0].dlr_callback is None


async def test_the_request_is_a_json_api_document_with_basic_auth(fake: FakeFlowroute) -> None:
    channel = await _channel(fake, public_base_url="https://gw.example.com")
    try:
        document = channel.document(_message(media_urls=("https://x.example/1.jpg",)))
    finally:
        await channel.close()
    assert document == {
        "data": {
            "type": "message",
            "attributes": {
                "to": "14155550100",
                "from": "12065550100",
                "body": "hello",
                "is_mms": True,
                "media_urls": ["https://x.example/1.jpg"],
                "dlr_callback": f"https://gw.example.com/webhooks/chn_flowroute_test/status?token={TOKEN}",
            },
        }
    }


@pytest.mark.parametrize(
    ("message", "code"),
    [
        (_message(sender=None), "flowroute_no_sender"),
        (_message(to="whatsapp:+14155550100"), "flowroute_invalid_recipient"),
        (_message(sender="Tidings"), "flowroute_invalid_sender"),
    ],
    ids=["no sender", "not a phone number", "alphanumeric sender"],
)
async def test_unsendable_messages_fail_without_calling_flowroute(
    fake: FakeFlowroute, message: OutboundMessage, code: str
) -> None:
    error = await _refused(fake, message)
    assert (error.code, error.retryable) == (code, False)
    assert fake.requests == 0


async def test_wrong_credentials_fail_permanently_and_never_echo_the_secret(fake: FakeFlowroute) -> None:
    channel = await _channel(fake, {"access_key": fake.access_key, "secret_key": "not-the-secret-key"})
    error = await send_error(channel, _message())
    assert (error.code, error.retryable) == ("flowroute_http_401", False)
    assert "Authentication failed" in error.message
    assert "not-the-secret-key" not in str(error) and fake.secret_key not in str(error)


async def test_refused_numbers_fail_permanently_with_flowroutes_detail(fake: FakeFlowroute) -> None:
    fake.fail_number("+14155550199", 422, "Invalid 'to' number")
    error = await _refused(fake, _message(to="+14155550199"))
    assert (error.code, error.retryable) == ("flowroute_http_422", False)
    assert error.message.startswith("Invalid 'to' number (Flowroute error id ")
    assert fake.received() == []


async def test_the_fakes_own_checks_come_back_as_permanent_422s(fake: FakeFlowroute) -> None:
    error = await _refused(fake, _message(body=""))
    assert (error.code, error.retryable) == ("flowroute_http_422", False)
    assert "'body' is required" in error.message


@pytest.mark.parametrize("status", [500, 503, 429])
async def test_server_errors_and_throttling_are_transient(fake: FakeFlowroute, status: int) -> None:
    fake.fail_requests(1, status=status, retry_after=3)
    channel = await _channel(fake)
    try:
        with pytest.raises(SendError) as caught:
            await channel.send(_message())
        retried = await channel.send(_message())
    finally:
        await channel.close()
    error = caught.value
    assert (error.code, error.retryable, error.retry_after) == (f"flowroute_http_{status}", True, 3.0)
    assert retried.provider_message_id == fake.received()[0].id
    assert fake.requests == 2


async def test_timeouts_are_transient(fake: FakeFlowroute) -> None:
    fake.latency = 2.0
    error = await _refused(fake, _message(), timeout_seconds=0.2)
    assert (error.code, error.retryable) == ("flowroute_network", True)


async def test_connection_refused_is_transient() -> None:
    with closed_port() as port:  # refused: bound, nothing listening
        channel = FlowrouteChannel(
            "chn_x",
            FlowrouteSettings(api_base_url=f"http://127.0.0.1:{port}"),
            IGNORE_REPORTS,
            FlowrouteCredentials(access_key="1", secret_key="s"),  # type: ignore[arg-type]
        )
        await channel.start()
        error = await send_error(channel, _message())
        assert (error.code, error.retryable) == ("flowroute_network", True)


async def test_one_session_carries_concurrent_sends(fake: FakeFlowroute) -> None:
    channel = await _channel(fake)
    try:
        results = await asyncio.gather(*(channel.send(_message(to=f"+1415555{n:04d}")) for n in range(200)))
    finally:
        await channel.close()
    assert len({r.provider_message_id for r in results}) == 200
    assert fake.summary() == {"count": 200, "requests": 200, "distinct": 200, "duplicates": 0}


def _dlr(record_id: str, status: str) -> bytes:
    document = {"data": {"id": record_id, "type": "delivery_receipt", "attributes": {"status": status}}}
    return json.dumps(document).encode()


async def test_webhooks_need_the_token_in_the_query(fake: FakeFlowroute) -> None:
    channel = await _channel(fake, public_base_url="https://gw.example.com")
    body = _dlr("mdr2-" + "1" * 32, "delivered")
    try:
        good = await channel.parse_callback(CallbackRequest("status", f"token={TOKEN}", {}, body))
        for query in ("", "token=wrong-token-0123456789", f"token={TOKEN}&token={TOKEN}", f"tok={TOKEN}"):
            with pytest.raises(CallbackRejected):
                await channel.parse_callback(CallbackRequest("status", query, {}, body))
        # Refused before the body is read: a garbage body without the token is a 403, not a 400.
        with pytest.raises(CallbackRejected):
            await channel.parse_callback(CallbackRequest("inbound", "", {}, b"x=1"))
        with pytest.raises(CallbackNotFound):
            await channel.parse_callback(CallbackRequest("other", f"token={TOKEN}", {}, body))
    finally:
        await channel.close()
    assert [(r.provider_message_id, r.status.value) for r in good.receipts] == [
        ("mdr2-" + "1" * 32, "delivered")
    ]


async def test_webhooks_are_refused_without_a_webhook_token(fake: FakeFlowroute) -> None:
    channel = await _channel(fake, {"access_key": fake.access_key, "secret_key": fake.secret_key})
    try:
        with pytest.raises(CallbackRejected):
            await channel.parse_callback(CallbackRequest("status", "token=", {}, _dlr("mdr2-1", "delivered")))
    finally:
        await channel.close()


async def test_the_fakes_receipts_and_inbound_parse_through_the_adapter(fake: FakeFlowroute) -> None:
    """End to end over loopback: the fake posts to a receiver that hands requests to the adapter."""
    parsed: list[Any] = []
    channels: list[FlowrouteChannel] = []

    async def hook(request: web.Request) -> web.Response:
        kind = request.match_info["kind"]
        result = await channels[0].parse_callback(
            CallbackRequest(kind, request.query_string, dict(request.headers), await request.read())
        )
        parsed.append(result)
        return web.Response(text="")

    app = web.Application()
    app.router.add_post("/webhooks/chn_flowroute_test/{kind}", hook)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    receiver = f"http://127.0.0.1:{runner.addresses[0][1]}"
    channels.append(await _channel(fake, public_base_url=receiver))
    fake.set_undeliverable("+14155550111", 1005)
    try:
        for to in ("+14155550100", "+14155550111"):
            await channels[0].send(_message(to=to))
        for _ in range(250):
            if len(fake.callbacks) == 4:
                break
            await asyncio.sleep(0.02)
        status, _ = await fake.send_inbound(
            channels[0].callback_url("inbound"), from_="+14155550123", to=SENDER, body="hi",
            media_urls=["https://media.example/1.jpg"],
        )  # fmt: skip
    finally:
        await channels[0].close()
        await runner.cleanup()
    assert status == 200 and [answer for *_, answer in fake.callbacks] == [200] * 4
    receipts = [r for result in parsed for r in result.receipts]
    delivered, undelivered = fake.received()
    # Level 1 "smsc submit" is acknowledged and dropped; level 2 decides.
    assert {(r.provider_message_id, r.status.value, r.code) for r in receipts} == {
        (delivered.id, "delivered", None),
        (undelivered.id, "undelivered", "flowroute_1005"),
    }
    assert len(receipts) == 2
    [message] = [m for result in parsed for m in result.inbound]
    assert (message.sender, message.recipient, message.body) == ("+14155550123", SENDER, "hi")
    assert message.extra["media"] == [{"url": "https://media.example/1.jpg", "content_type": "image/jpeg"}]


def test_credentials_never_show_in_reprs() -> None:
    credentials = FlowrouteCredentials.model_validate(
        {"access_key": "key-12345678", "secret_key": "sec-654321", "webhook_token": "hook-token-0123456789"}
    )
    channel = FlowrouteChannel("chn_r", FlowrouteSettings(), IGNORE_REPORTS, credentials)
    for text in (repr(credentials), str(credentials), repr(channel), credentials.model_dump_json()):
        assert "sec-654321" not in text and "hook-token-0123456789" not in text and "key-1234" not in text


@pytest.mark.parametrize(
    "credentials",
    [
        {"access_key": "12345678"},
        {"secret_key": "s"},
        {"access_key": "", "secret_key": "s"},
        {"access_key": "1", "secret_key": "s", "webhook_token": "short"},
        {"access_key": "1", "secret_key": "s", "extra": "x"},
    ],
)
def test_incomplete_credentials_are_refused(credentials: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        FlowrouteCredentials.model_validate(credentials)
