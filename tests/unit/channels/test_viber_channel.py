"""The Viber adapter against the fake Viber over real loopback HTTP: what it sends, what it keeps,
how it classifies every failure, and the callbacks the fake posts back through a webhook."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from support.channels import IGNORE_REPORTS, outbound, send_error
from support.ports import closed_port
from support.web import eventually
from tidings.channels.base import (
    CallbackError,
    CallbackNotFound,
    CallbackRejected,
    CallbackRequest,
    CallbackResult,
    OutboundMessage,
    Receipt,
    SendError,
)
from tidings.channels.viber.channel import ViberChannel
from tidings.channels.viber.config import ViberCredentials, ViberSettings
from tidings.channels.viber.signature import compute_signature
from tidings.simulators.viber import FakeViber

BOT = "Tidings Bot"
USER = "01234567890A="


class Gateway:
    """A loopback stand-in for ``POST /webhooks/{channel_id}/{kind}``: hands each callback to the
    channel's ``parse_callback`` and answers as the real endpoint does."""

    def __init__(self) -> None:
        self.channel: ViberChannel | None = None
        self.results: list[CallbackResult] = []
        self.refused: list[int] = []
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/webhooks/{channel_id}/{kind}", self.handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def handle(self, request: web.Request) -> web.Response:
        assert self.channel is not None
        webhook = CallbackRequest(
            request.match_info["kind"],
            request.query_string,
            {k.lower(): v for k, v in request.headers.items()},
            await request.read(),
        )
        try:
            result = await self.channel.parse_callback(webhook)
        except CallbackError as exc:
            self.refused.append(exc.status)
            return web.Response(status=exc.status)
        self.results.append(result)
        return web.Response(status=result.reply.status, body=result.reply.body)

    def receipts(self) -> list[Receipt]:
        return [r for result in self.results for r in result.receipts]


@pytest.fixture
async def fake() -> AsyncIterator[FakeViber]:
    async with FakeViber() as running:
        yield running


@pytest.fixture
async def gateway() -> AsyncIterator[Gateway]:
    running = Gateway()
    await running.start()
    yield running
    await running.close()


def _build(fake: FakeViber, token: str | None = None, **settings: Any) -> ViberChannel:
    options: dict[str, Any] = {"api_base_url": fake.url, "sender_name": BOT, **settings}
    return ViberChannel(
        "chn_viber_test",
        ViberSettings.model_validate(options),
        IGNORE_REPORTS,
        ViberCredentials.model_validate({"auth_token": token or fake.auth_token}),
    )


async def _channel(fake: FakeViber, token: str | None = None, **settings: Any) -> ViberChannel:
    channel = _build(fake, token, **settings)
    await channel.start()
    return channel


def _message(
    to: str = f"viber:{USER}", sender: str | None = None, body: str = "hello", **more: Any
) -> OutboundMessage:
    return outbound(to, sender, body, **more)


async def test_send_keeps_the_exact_message_token_and_sends_the_documented_body(fake: FakeViber) -> None:
    channel = await _channel(fake, sender_avatar="https://example.com/bot.png", min_api_version=7)
    try:
        result = await channel.send(_message())
    finally:
        await channel.close()
    [received] = fake.received()
    assert result.provider_message_id == str(received.message_token)
    assert received.message_token > 2**53  # would not survive a float
    assert (received.receiver, received.type, received.text) == (USER, "text", "hello")
    assert (received.sender_name, received.sender_avatar) == (BOT, "https://example.com/bot.png")
    assert (received.min_api_version, received.tracking_data) == (7, "msg_1")


async def test_a_messages_own_sender_names_the_bot(fake: FakeViber) -> None:
    channel = await _channel(fake)
    try:
        await channel.send(_message(sender="Support"))
    finally:
        await channel.close()
    assert fake.received()[0].sender_name == "Support"


async def test_one_media_url_is_sent_as_a_picture(fake: FakeViber) -> None:
    channel = await _channel(fake)
    try:
        await channel.send(_message(body="caption", media_urls=("https://x.example/1.jpg",)))
    finally:
        await channel.close()
    [received] = fake.received()
    assert (received.type, received.text, received.media) == ("picture", "caption", "https://x.example/1.jpg")


@pytest.mark.parametrize(
    ("message", "code"),
    [
        (_message(to="+14155550100"), "viber_bad_recipient"),
        (_message(media_urls=("https://x/1.jpg", "https://x/2.jpg")), "viber_too_many_media"),
    ],
    ids=["phone number", "two pictures"],
)
async def test_messages_viber_cannot_carry_fail_without_calling_it(
    fake: FakeViber, message: OutboundMessage, code: str
) -> None:
    error = await send_error(await _channel(fake), message)
    assert (error.code, error.retryable) == (code, False)
    assert fake.requests == 0


async def test_a_wrong_token_fails_permanently_and_is_never_echoed(fake: FakeViber) -> None:
    error = await send_error(await _channel(fake, token="not-the-token-123"), _message())
    assert (error.code, error.retryable) == ("viber_2", False)
    assert "not-the-token-123" not in str(error) and fake.received() == []


@pytest.mark.parametrize(("status", "code"), [(5, "viber_5"), (6, "viber_6")])
async def test_refused_receivers_fail_permanently_with_vibers_code(
    fake: FakeViber, status: int, code: str
) -> None:
    fake.refuse("refusedUser=", status)
    error = await send_error(await _channel(fake), _message(to="viber:refusedUser="))
    assert (error.code, error.retryable) == (code, False)
    assert fake.received() == []


@pytest.mark.parametrize(
    "message", [_message(sender="x" * 29), _message(body="y" * 7001)], ids=["sender name", "text"]
)
async def test_vibers_limits_fail_permanently_with_bad_data(
    fake: FakeViber, message: OutboundMessage
) -> None:
    error = await send_error(await _channel(fake), message)
    assert (error.code, error.retryable) == ("viber_3", False)


@pytest.mark.parametrize(
    ("status", "code", "wait"),
    [
        (500, "viber_http_500", 3.0),
        (503, "viber_http_503", 3.0),
        (429, "viber_http_429", 3.0),
        (12, "viber_12", None),
    ],
)
async def test_server_errors_and_rate_control_are_transient(
    fake: FakeViber, status: int, code: str, wait: float | None
) -> None:
    fake.fail_requests(1, status=status, retry_after=3)
    channel = await _channel(fake)
    try:
        with pytest.raises(SendError) as caught:
            await channel.send(_message())
        retried = await channel.send(_message())
    finally:
        await channel.close()
    assert (caught.value.code, caught.value.retryable, caught.value.retry_after) == (code, True, wait)
    assert retried.provider_message_id == str(fake.received()[0].message_token)
    assert fake.requests == 2


async def test_timeouts_are_transient(fake: FakeViber) -> None:
    fake.latency = 1.0
    error = await send_error(await _channel(fake, timeout_seconds=0.2), _message())
    assert (error.code, error.retryable) == ("viber_network", True)


async def test_connection_refused_is_transient() -> None:
    with closed_port() as port:  # refused: bound, nothing listening
        channel = ViberChannel(
            "chn_x",
            ViberSettings(api_base_url=f"http://127.0.0.1:{port}", sender_name=BOT),
            IGNORE_REPORTS,
            ViberCredentials.model_validate({"auth_token": "t"}),
        )
        await channel.start()
        error = await send_error(channel, _message())
        assert (error.code, error.retryable) == ("viber_network", True)


async def test_one_session_carries_concurrent_sends(fake: FakeViber) -> None:
    channel = await _channel(fake)
    try:
        results = await asyncio.gather(
            *(channel.send(_message(to=f"viber:user{n:04d}=", body=f"n{n}")) for n in range(200))
        )
    finally:
        await channel.close()
    assert len({r.provider_message_id for r in results}) == 200
    assert fake.summary() == {"count": 200, "requests": 200, "distinct": 200, "duplicates": 0}


async def test_start_registers_the_webhook_and_receipts_come_back_through_it(
    fake: FakeViber, gateway: Gateway
) -> None:
    fake.undeliverable["lostUser="] = "user's device is offline"
    channel = gateway.channel = _build(fake, public_base_url=gateway.url)
    await channel.start()  # Viber checks the webhook before set_webhook answers
    try:
        assert fake.webhook_url == f"{gateway.url}/webhooks/chn_viber_test/callback"
        assert fake.event_types == ["delivered", "seen", "failed"]
        assert len(gateway.results) == 1 and gateway.results[0] == CallbackResult()  # the check
        delivered = await channel.send(_message())
        lost = await channel.send(_message(to="viber:lostUser="))
        await eventually(lambda: len(gateway.receipts()) == 2)
    finally:
        await channel.close()
    by_id = {r.provider_message_id: r for r in gateway.receipts()}
    assert by_id[str(delivered.provider_message_id)].status.value == "delivered"
    failed = by_id[str(lost.provider_message_id)]
    assert (failed.status.value, failed.code, failed.detail) == (
        "undelivered",
        "viber_failed",
        "user's device is offline",
    )
    assert [answer for _, _, answer in fake.callbacks] == [200, 200]


async def test_a_webhook_viber_cannot_reach_leaves_sends_working(
    fake: FakeViber, gateway: Gateway, caplog: pytest.LogCaptureFixture
) -> None:
    gateway.channel = _build(fake, token="another-token-456")  # verifies nothing Viber signs
    channel = await _channel(fake, public_base_url=gateway.url)
    try:
        result = await channel.send(_message())
    finally:
        await channel.close()
    assert gateway.refused == [403] and fake.webhook_url is None
    assert result.provider_message_id == str(fake.received()[0].message_token)
    assert "viber_1" in caplog.text and fake.auth_token not in caplog.text


async def test_no_webhook_is_registered_without_a_public_url_or_when_switched_off(
    fake: FakeViber, gateway: Gateway
) -> None:
    gateway.channel = _build(fake)
    await (await _channel(fake)).close()
    await (await _channel(fake, public_base_url=gateway.url, register_webhook=False)).close()
    assert fake.webhook_url is None and gateway.results == []


async def test_inbound_messages_and_forged_callbacks(fake: FakeViber, gateway: Gateway) -> None:
    gateway.channel = _build(fake)  # never started: webhooks work without a session
    url = f"{gateway.url}/webhooks/chn_viber_test/callback"
    status, _ = await fake.send_inbound(url, sender_id=USER, text="hi bot", name="Ana")
    forged, _ = await fake.send_inbound(url, sender_id=USER, text="forged", signature="00" * 32)
    unsigned, _ = await fake.send_inbound(url, sender_id=USER, text="unsigned", signature="")
    wrong_kind, _ = await fake.send_inbound(url.replace("callback", "status"), sender_id=USER, text="x")
    assert (status, forged, unsigned, wrong_kind) == (200, 403, 403, 404)
    [result] = gateway.results
    [message] = result.inbound
    assert (message.sender, message.recipient, message.body) == (f"viber:{USER}", BOT, "hi bot")
    assert message.provider_message_id is not None and int(message.provider_message_id) > 2**53
    assert message.extra == {"profile_name": "Ana"}


async def test_signatures_are_checked_before_the_body_is_read(fake: FakeViber) -> None:
    channel = await _channel(fake)
    body = b"not json at all"
    good = compute_signature(fake.auth_token, body)
    try:
        with pytest.raises(CallbackRejected):
            await channel.parse_callback(CallbackRequest("callback", "", {}, body))
        with pytest.raises(CallbackNotFound):
            await channel.parse_callback(CallbackRequest("inbound", "", {}, body))
        with pytest.raises(CallbackError) as caught:
            await channel.parse_callback(
                CallbackRequest("callback", "", {"x-viber-content-signature": good}, body)
            )
    finally:
        await channel.close()
    assert caught.value.status == 400


def test_the_token_never_shows_in_reprs() -> None:
    credentials = ViberCredentials.model_validate({"auth_token": "tok-123456"})
    channel = ViberChannel("chn_r", ViberSettings(sender_name=BOT), IGNORE_REPORTS, credentials)
    for text in (repr(credentials), str(credentials), repr(channel), credentials.model_dump_json()):
        assert "tok-123456" not in text


@pytest.mark.parametrize(
    ("settings", "credentials"),
    [
        ({}, {"auth_token": "t"}),
        ({"sender_name": "x" * 29}, {"auth_token": "t"}),
        ({"sender_name": BOT, "sender_avatar": "ftp://x"}, {"auth_token": "t"}),
        ({"sender_name": BOT}, {}),
        ({"sender_name": BOT}, {"auth_token": ""}),
        ({"sender_name": BOT}, {"auth_token": "t", "extra": "x"}),
    ],
)
def test_incomplete_configuration_is_refused(settings: dict[str, str], credentials: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        ViberSettings.model_validate(settings)
        ViberCredentials.model_validate(credentials)
