"""The Twilio adapter against the fake Twilio over real loopback HTTP: what it sends, what it
keeps, how it classifies every failure."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from support.channels import IGNORE_REPORTS, outbound, send_error
from support.ports import closed_port
from tidings.channels.base import (
    CallbackRejected,
    CallbackRequest,
    OutboundMessage,
    SendError,
)
from tidings.channels.twilio.channel import TwilioChannel
from tidings.channels.twilio.config import TwilioCredentials, TwilioSettings
from tidings.channels.twilio.signature import compute_signature
from tidings.simulators.twilio import FakeTwilio

SENDER = "+15005550006"


@pytest.fixture
async def fake() -> AsyncIterator[FakeTwilio]:
    async with FakeTwilio(api_keys={"SK" + "1" * 32: "key-secret-value"}) as running:
        yield running


async def _channel(
    fake: FakeTwilio, credentials: dict[str, Any] | None = None, **settings: Any
) -> TwilioChannel:
    options: dict[str, Any] = {"api_base_url": fake.url, **settings}
    secrets = credentials or {"account_sid": fake.account_sid, "auth_token": fake.auth_token}
    channel = TwilioChannel(
        "chn_twilio_test",
        TwilioSettings.model_validate(options),
        IGNORE_REPORTS,
        TwilioCredentials.model_validate(secrets),
    )
    await channel.start()
    return channel


def _message(
    to: str = "+14155550100", sender: str | None = SENDER, body: str = "hello", **more: Any
) -> OutboundMessage:
    return outbound(to, sender, body, **more)


async def test_send_records_the_sid_and_the_fake_receives_it_once(fake: FakeTwilio) -> None:
    channel = await _channel(fake, public_base_url="https://gw.example.com")
    try:
        result = await channel.send(_message())
    finally:
        await channel.close()
    [received] = fake.received()
    assert result.provider_message_id == received.sid
    assert received.sid.startswith("SM") and len(received.sid) == 34
    assert (received.to, received.from_, received.body) == ("+14155550100", SENDER, "hello")
    assert received.status_callback == "https://gw.example.com/webhooks/chn_twilio_test/status"


async def test_no_status_callback_without_a_public_url(fake: FakeTwilio) -> None:
    channel = await _channel(fake)
    try:
        await channel.send(_message())
    finally:
        await channel.close()
    assert fake.received()[0].status_callback is None


async def test_whatsapp_recipients_get_a_whatsapp_sender(fake: FakeTwilio) -> None:
    channel = await _channel(fake)
    try:
        await channel.send(_message(to="whatsapp:+14155550100"))
        await channel.send(_message(to="whatsapp:+14155550101", sender="whatsapp:" + SENDER))
    finally:
        await channel.close()
    assert [(m.to, m.from_) for m in fake.received()] == [
        ("whatsapp:+14155550100", "whatsapp:" + SENDER),
        ("whatsapp:+14155550101", "whatsapp:" + SENDER),
    ]


async def test_media_and_messaging_service(fake: FakeTwilio) -> None:
    service = "MG" + "a" * 32
    channel = await _channel(fake, messaging_service_sid=service)
    try:
        result = await channel.send(
            _message(sender=None, body="", media_urls=("https://x.example/1.jpg", "https://x.example/2.jpg"))
        )
    finally:
        await channel.close()
    [received] = fake.received()
    assert received.messaging_service_sid == service and received.from_ is None
    assert received.media_urls == ["https://x.example/1.jpg", "https://x.example/2.jpg"]
    assert result.provider_message_id is not None and result.provider_message_id.startswith("MM")


async def test_no_sender_and_no_service_fails_without_calling_twilio(fake: FakeTwilio) -> None:
    channel = await _channel(fake)
    error = await send_error(channel, _message(sender=None))
    assert (error.code, error.retryable) == ("twilio_no_sender", False)
    assert fake.requests == 0


async def test_api_key_authentication(fake: FakeTwilio) -> None:
    channel = await _channel(
        fake,
        {
            "account_sid": fake.account_sid,
            "api_key_sid": "SK" + "1" * 32,
            "api_key_secret": "key-secret-value",
        },
    )
    try:
        result = await channel.send(_message())
    finally:
        await channel.close()
    assert result.provider_message_id == fake.received()[0].sid


async def test_wrong_credentials_fail_permanently_with_20003(fake: FakeTwilio) -> None:
    channel = await _channel(fake, {"account_sid": fake.account_sid, "auth_token": "not-the-token"})
    error = await send_error(channel, _message())
    assert (error.code, error.retryable) == ("twilio_20003", False)
    assert "not-the-token" not in str(error)


@pytest.mark.parametrize("code", [21211, 21408, 21610, 21614])
async def test_refused_numbers_fail_permanently_with_twilios_code(fake: FakeTwilio, code: int) -> None:
    fake.fail_number("+14155550199", code)
    channel = await _channel(fake)
    error = await send_error(channel, _message(to="+14155550199"))
    assert (error.code, error.retryable) == (f"twilio_{code}", False)
    assert fake.received() == []


@pytest.mark.parametrize(
    ("status", "code"), [(500, "twilio_20500"), (503, "twilio_20503"), (429, "twilio_20429")]
)
async def test_server_errors_and_throttling_are_transient(fake: FakeTwilio, status: int, code: str) -> None:
    fake.fail_requests(1, status=status, retry_after=3)
    channel = await _channel(fake)
    try:
        with pytest.raises(SendError) as caught:
            await channel.send(_message())
        retried = await channel.send(_message())
    finally:
        await channel.close()
    assert (caught.value.code, caught.value.retryable, caught.value.retry_after) == (code, True, 3.0)
    assert retried.provider_message_id == fake.received()[0].sid


async def test_timeouts_are_transient(fake: FakeTwilio) -> None:
    fake.latency = 2.0
    channel = await _channel(fake, timeout_seconds=0.2)
    error = await send_error(channel, _message())
    assert (error.code, error.retryable) == ("twilio_network", True)


async def test_connection_refused_is_transient() -> None:
    with closed_port() as port:  # refused: bound, nothing listening
        channel = TwilioChannel(
            "chn_x",
            TwilioSettings(api_base_url=f"http://127.0.0.1:{port}"),
            IGNORE_REPORTS,
            TwilioCredentials(account_sid="AC" + "0" * 32, auth_token="t"),  # type: ignore[arg-type]
        )
        await channel.start()
        error = await send_error(channel, _message())
        assert (error.code, error.retryable) == ("twilio_network", True)


async def test_one_session_carries_concurrent_sends(fake: FakeTwilio) -> None:
    channel = await _channel(fake)
    try:
        results = await asyncio.gather(*(channel.send(_message(to=f"+1415555{n:04d}")) for n in range(200)))
    finally:
        await channel.close()
    assert len({r.provider_message_id for r in results}) == 200
    assert fake.summary() == {"count": 200, "requests": 200, "distinct": 200, "duplicates": 0}


async def test_webhooks_verify_against_the_public_url_not_the_host_header(fake: FakeTwilio) -> None:
    channel = await _channel(fake, public_base_url="https://gw.example.com/tidings")
    form = [("MessageSid", "SM" + "1" * 32), ("MessageStatus", "delivered")]
    body = b"MessageSid=SM" + b"1" * 32 + b"&MessageStatus=delivered"
    good = compute_signature(
        fake.auth_token, "https://gw.example.com/tidings/webhooks/chn_twilio_test/status", form
    )
    forged = compute_signature(
        fake.auth_token, "https://attacker.example/webhooks/chn_twilio_test/status", form
    )
    try:
        result = await channel.parse_callback(
            CallbackRequest("status", "", {"x-twilio-signature": good, "host": "attacker.example"}, body)
        )
        with pytest.raises(CallbackRejected):
            await channel.parse_callback(CallbackRequest("status", "", {"x-twilio-signature": forged}, body))
        with pytest.raises(CallbackRejected):
            await channel.parse_callback(CallbackRequest("status", "", {}, body))
    finally:
        await channel.close()
    assert [r.status.value for r in result.receipts] == ["delivered"]


async def test_webhooks_are_refused_without_an_auth_token(fake: FakeTwilio) -> None:
    channel = await _channel(
        fake,
        {
            "account_sid": fake.account_sid,
            "api_key_sid": "SK" + "1" * 32,
            "api_key_secret": "key-secret-value",
        },
        public_base_url="https://gw.example.com",
    )
    try:
        with pytest.raises(CallbackRejected):
            await channel.parse_callback(CallbackRequest("status", "", {"x-twilio-signature": "x"}, b"a=b"))
    finally:
        await channel.close()


def test_credentials_never_show_in_reprs() -> None:
    credentials = TwilioCredentials.model_validate(
        {"account_sid": "AC" + "0" * 32, "auth_token": "tok-123456", "api_key_sid": "SK" + "0" * 32,
         "api_key_secret": "sec-654321"}
    )  # fmt: skip
    channel = TwilioChannel("chn_r", TwilioSettings(), IGNORE_REPORTS, credentials)
    for text in (repr(credentials), str(credentials), repr(channel), credentials.model_dump_json()):
        assert "tok-123456" not in text and "sec-654321" not in text


@pytest.mark.parametrize(
    "credentials",
    [
        {"account_sid": "AC" + "0" * 32},
        {"account_sid": "not-a-sid", "auth_token": "t"},
        {"account_sid": "AC" + "0" * 32, "api_key_sid": "SK" + "0" * 32},
        {"account_sid": "AC" + "0" * 32, "auth_token": "t", "extra": "x"},
    ],
)
def test_incomplete_credentials_are_refused(credentials: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        TwilioCredentials.model_validate(credentials)
