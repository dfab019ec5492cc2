"""The Telegram adapter against the fake Bot API over real loopback HTTP: what it sends, what it
keeps and reports, how it classifies every failure, how it takes webhook Updates."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from typing import Any

import orjson
import pytest
from aiohttp import web

from support.channels import outbound
from support.ports import closed_port
from tidings.channels.base import (
    CallbackNotFound,
    CallbackRejected,
    CallbackRequest,
    ChannelReports,
    InboundMessage,
    OutboundMessage,
    Receipt,
    SendError,
)
from tidings.channels.telegram.channel import TelegramChannel
from tidings.channels.telegram.config import TelegramCredentials, TelegramSettings
from tidings.core.statuses import MessageStatus
from tidings.simulators.telegram import FakeTelegram

SECRET = "webhook-secret_0123456789"
SECRET_HEADER = "x-telegram-bot-api-secret-token"


class Sinks:
    """Collects what the channel reports, as the dispatcher's sinks would."""

    def __init__(self) -> None:
        self.receipts: list[Receipt] = []
        self.inbound: list[InboundMessage] = []

    async def take_receipts(self, channel_id: str, receipts: Sequence[Receipt]) -> None:
        assert channel_id == "chn_telegram_test"
        self.receipts.extend(receipts)

    async def take_inbound(self, _: str, messages: Sequence[InboundMessage]) -> None:
        self.inbound.extend(messages)

    @property
    def reports(self) -> ChannelReports:
        return ChannelReports(receipts=self.take_receipts, inbound=self.take_inbound)


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(webhook_secret=SECRET) as running:
        yield running


@pytest.fixture
def sinks() -> Sinks:
    return Sinks()


def _channel(
    fake: FakeTelegram, sinks: Sinks, credentials: dict[str, Any] | None = None, **settings: Any
) -> TelegramChannel:
    options: dict[str, Any] = {"api_base_url": fake.url, **settings}
    secrets = credentials or {"bot_token": fake.bot_token, "webhook_secret": SECRET}
    return TelegramChannel(
        "chn_telegram_test",
        TelegramSettings.model_validate(options),
        sinks.reports,
        TelegramCredentials.model_validate(secrets),
    )


async def _send(channel: TelegramChannel, *messages: OutboundMessage) -> list[Any]:
    """Each message's SendResult, or the SendError it raised."""
    await channel.start()
    outcomes: list[Any] = []
    try:
        for message in messages:
            try:
                outcomes.append(await channel.send(message))
            except SendError as error:
                outcomes.append(error)
    finally:
        await channel.close()
    return outcomes


def _message(to: str = "telegram:100200300", body: str = "hello", **more: Any) -> OutboundMessage:
    return outbound(to, "telegram:@tidings_bot", body, **more)


async def test_a_send_is_received_once_and_reported_delivered(fake: FakeTelegram, sinks: Sinks) -> None:
    [result] = await _send(_channel(fake, sinks), _message())
    [received] = fake.received()
    assert (received.chat_id, received.text) == (100200300, "hello")
    assert result.provider_message_id == f"100200300:{received.message_id}" == received.key
    assert sinks.receipts == [Receipt(received.key, MessageStatus.DELIVERED)]


async def test_channel_usernames_are_sent_as_strings_and_keyed_by_the_chats_id(
    fake: FakeTelegram, sinks: Sinks
) -> None:
    [result] = await _send(_channel(fake, sinks), _message(to="telegram:@tidings_news"))
    [received] = fake.received("@tidings_news")
    assert received.chat["type"] == "channel" and received.chat_id < 0
    assert result.provider_message_id == received.key


async def test_message_ids_count_per_chat(fake: FakeTelegram, sinks: Sinks) -> None:
    results = await _send(_channel(fake, sinks), _message(), _message(), _message(to="telegram:-4001"))
    assert [r.provider_message_id for r in results] == ["100200300:1", "100200300:2", "-4001:1"]


@pytest.mark.parametrize(
    ("message", "code"),
    [
        (_message(to="+14155550100"), "telegram_bad_recipient"),
        (_message(to="telegram:someone"), "telegram_bad_recipient"),
        (_message(media_urls=("https://x.example/1.jpg",)), "telegram_media_unsupported"),
    ],
    ids=["phone number", "not a chat id", "media"],
)
async def test_what_telegram_cannot_take_fails_without_a_call(
    fake: FakeTelegram, sinks: Sinks, message: OutboundMessage, code: str
) -> None:
    [error] = await _send(_channel(fake, sinks), message)
    assert (error.code, error.retryable) == (code, False)
    assert fake.requests == 0 and sinks.receipts == []


@pytest.mark.parametrize(
    ("body", "description"),
    [("", "Bad Request: message text is empty"), ("x" * 4097, "Bad Request: message is too long")],
)
async def test_texts_the_bot_api_refuses_fail_permanently(
    fake: FakeTelegram, sinks: Sinks, body: str, description: str
) -> None:
    [error] = await _send(_channel(fake, sinks), _message(body=body))
    assert (error.code, error.message, error.retryable) == ("telegram_400", description, False)
    assert fake.received() == [] and sinks.receipts == []


async def test_4096_characters_still_go(fake: FakeTelegram, sinks: Sinks) -> None:
    [result] = await _send(_channel(fake, sinks), _message(body="é" * 4096))
    assert result.provider_message_id == fake.received()[0].key


@pytest.mark.parametrize(
    ("kind", "code", "description"),
    [
        ("blocked", "telegram_403", "Forbidden: bot was blocked by the user"),
        ("not_found", "telegram_400", "Bad Request: chat not found"),
    ],
)
async def test_refused_chats_fail_permanently(
    fake: FakeTelegram, sinks: Sinks, kind: str, code: str, description: str
) -> None:
    fake.refuse_chat(100200377, kind)
    [error, sent] = await _send(_channel(fake, sinks), _message(to="telegram:100200377"), _message())
    assert (error.code, error.message, error.retryable) == (code, description, False)
    assert [m.chat_id for m in fake.received()] == [100200300]
    assert [r.provider_message_id for r in sinks.receipts] == [sent.provider_message_id]


async def test_a_wrong_token_fails_permanently_and_is_never_repeated(
    fake: FakeTelegram, sinks: Sinks
) -> None:
    wrong = fake.bot_token.partition(":")[0] + ":" + "W" * 35
    [error] = await _send(_channel(fake, sinks, {"bot_token": wrong}), _message())
    assert (error.code, error.message, error.retryable) == ("telegram_401", "Unauthorized", False)
    assert "W" * 35 not in str(error) and fake.bot_token not in str(error)


@pytest.mark.parametrize(
    ("status", "code", "wait"),
    [(429, "telegram_429", 3.0), (500, "telegram_500", None), (502, "telegram_http_502", None)],
)
async def test_flood_control_and_server_errors_are_transient(
    fake: FakeTelegram, sinks: Sinks, status: int, code: str, wait: float | None
) -> None:
    fake.fail_requests(1, status=status, retry_after=3)
    [error, retried] = await _send(_channel(fake, sinks), _message(), _message())
    assert (error.code, error.retryable, error.retry_after) == (code, True, wait)
    assert [m.key for m in fake.received()] == [retried.provider_message_id]
    assert len(sinks.receipts) == 1


async def test_timeouts_are_transient(fake: FakeTelegram, sinks: Sinks) -> None:
    fake.latency = 2.0
    [error] = await _send(_channel(fake, sinks, timeout_seconds=0.2), _message())
    assert (error.code, error.retryable) == ("telegram_network", True)


async def test_an_unreachable_api_is_transient_and_its_error_masks_the_token(sinks: Sinks) -> None:
    token = "12345:" + "s" * 35
    with closed_port() as port:  # refused: bound, nothing listening
        channel = TelegramChannel(
            "chn_telegram_test",
            TelegramSettings(api_base_url=f"http://127.0.0.1:{port}"),
            sinks.reports,
            TelegramCredentials.model_validate({"bot_token": token}),
        )
        [error] = await _send(channel, _message())
    assert (error.code, error.retryable) == ("telegram_network", True)
    assert "s" * 35 not in str(error)


async def test_one_session_carries_concurrent_sends(fake: FakeTelegram, sinks: Sinks) -> None:
    channel = _channel(fake, sinks)
    await channel.start()
    try:
        results = await asyncio.gather(
            *(channel.send(_message(to=f"telegram:{7000 + n}")) for n in range(200))
        )
    finally:
        await channel.close()
    assert len({r.provider_message_id for r in results}) == 200
    assert fake.summary() == {"count": 200, "requests": 200, "distinct": 200, "duplicates": 0}
    assert len(sinks.receipts) == 200


async def test_a_failing_receipt_sink_does_not_fail_a_send_that_went_out(
    fake: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(_: str, __: Sequence[Receipt]) -> None:
        raise RuntimeError("sink down")

    async def ignore(_: str, __: Sequence[InboundMessage]) -> None:
        return None

    channel = TelegramChannel(
        "chn_telegram_test",
        TelegramSettings(api_base_url=fake.url),
        ChannelReports(receipts=broken, inbound=ignore),
        TelegramCredentials.model_validate({"bot_token": fake.bot_token}),
    )
    with caplog.at_level(logging.ERROR):
        [result] = await _send(channel, _message())
    assert result.provider_message_id == fake.received()[0].key
    assert "could not report a delivered receipt" in caplog.text


# -- webhooks -------------------------------------------------------------------------------------


def _update_request(fake: FakeTelegram, secret: str | None, kind: str = "updates") -> CallbackRequest:
    body = orjson.dumps(fake.message_update(100200323, "hi bot", "ana"))
    headers = {SECRET_HEADER: secret} if secret is not None else {}
    return CallbackRequest(kind, "", headers, body)


async def test_updates_with_the_secret_become_inbound_messages(fake: FakeTelegram, sinks: Sinks) -> None:
    channel = _channel(fake, sinks, bot_address="telegram:@tidings_bot")
    result = await channel.parse_callback(_update_request(fake, SECRET))
    [message] = result.inbound
    assert (message.sender, message.recipient, message.body) == (
        "telegram:100200323",
        "telegram:@tidings_bot",
        "hi bot",
    )
    assert message.provider_message_id == "100200323:1"
    assert message.extra["username"] == "ana" and result.reply.status == 200


async def test_the_bot_address_defaults_to_the_bots_id(fake: FakeTelegram, sinks: Sinks) -> None:
    result = await _channel(fake, sinks).parse_callback(_update_request(fake, SECRET))
    assert result.inbound[0].recipient == f"telegram:{fake.bot_id}"


@pytest.mark.parametrize("secret", [None, "", "wrong-secret", SECRET + "x", SECRET[:-1]])
async def test_updates_without_the_secret_are_rejected(
    fake: FakeTelegram, sinks: Sinks, secret: str | None
) -> None:
    with pytest.raises(CallbackRejected):
        await _channel(fake, sinks).parse_callback(_update_request(fake, secret))


async def test_a_channel_without_a_webhook_secret_rejects_every_update(
    fake: FakeTelegram, sinks: Sinks
) -> None:
    channel = _channel(fake, sinks, {"bot_token": fake.bot_token})
    with pytest.raises(CallbackRejected):
        await channel.parse_callback(_update_request(fake, SECRET))


async def test_rejection_comes_before_parsing(fake: FakeTelegram, sinks: Sinks) -> None:
    with pytest.raises(CallbackRejected):
        await _channel(fake, sinks).parse_callback(CallbackRequest("updates", "", {}, b"not json"))
    with pytest.raises(CallbackNotFound):
        await _channel(fake, sinks).parse_callback(_update_request(fake, SECRET, kind="status"))


async def test_register_webhook_sets_url_secret_and_update_kinds(fake: FakeTelegram, sinks: Sinks) -> None:
    channel = _channel(fake, sinks, public_base_url="https://gw.example.com/tidings")
    url = await channel.register_webhook()
    assert url == fake.webhook_url == "https://gw.example.com/tidings/webhooks/chn_telegram_test/updates"
    assert (fake.webhook_secret, fake.allowed_updates) == (SECRET, ["message"])
    with pytest.raises(ValueError):
        await _channel(fake, sinks).register_webhook()


async def test_register_webhook_on_start_when_asked(fake: FakeTelegram, sinks: Sinks) -> None:
    channel = _channel(fake, sinks, public_base_url="https://gw.example.com", register_webhook=True)
    await channel.start()
    await channel.close()
    assert fake.webhook_url == "https://gw.example.com/webhooks/chn_telegram_test/updates"
    fake.webhook_url = None
    await _send(_channel(fake, sinks, public_base_url="https://gw.example.com"))
    assert fake.webhook_url is None


async def test_a_refused_registration_does_not_stop_the_channel(
    fake: FakeTelegram, sinks: Sinks, caplog: pytest.LogCaptureFixture
) -> None:
    channel = _channel(fake, sinks, public_base_url="http://gw.example.com", register_webhook=True)
    with caplog.at_level(logging.WARNING):
        [result] = await _send(channel, _message())
    assert "telegram_400" in caplog.text and "HTTPS URL must be provided" in caplog.text
    assert result.provider_message_id == fake.received()[0].key and fake.webhook_url is None


async def test_the_fakes_updates_pass_the_adapters_check_end_to_end(fake: FakeTelegram, sinks: Sinks) -> None:
    """setWebhook through the adapter, then an Update from the fake into a loopback gateway stub."""
    answers: list[int] = []

    async def gateway(request: web.Request) -> web.Response:
        webhook = CallbackRequest(
            request.match_info["kind"],
            "",
            {k.lower(): v for k, v in request.headers.items()},
            await request.read(),
        )
        try:
            result = await channel.parse_callback(webhook)
        except CallbackRejected:
            answers.append(403)
            return web.Response(status=403)
        await sinks.take_inbound(channel.channel_id, result.inbound)
        answers.append(200)
        return web.Response(status=200)

    app = web.Application()
    app.router.add_post("/webhooks/chn_telegram_test/{kind}", gateway)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        channel = _channel(
            fake, sinks, {"bot_token": fake.bot_token, "webhook_secret": "registered-secret"},
            public_base_url=f"http://127.0.0.1:{runner.addresses[0][1]}",
        )  # fmt: skip
        await channel.register_webhook()
        assert (await fake.send_inbound(100200323, "first"))[0] == 200
        assert (await fake.send_inbound(100200323, "forged", secret_token="guess"))[0] == 403
        assert (await fake.send_inbound(100200323, "unsigned", secret_token=""))[0] == 403
    finally:
        await runner.cleanup()
    assert answers == [200, 403, 403]
    assert [m.body for m in sinks.inbound] == ["first"]


# -- configuration ----------------------------------------------------------------------------------


def test_credentials_never_show_in_reprs(sinks: Sinks) -> None:
    credentials = TelegramCredentials.model_validate(
        {"bot_token": "12345:tok-secret-abcdefghijklmnop", "webhook_secret": "hook-secret-value"}
    )
    channel = TelegramChannel("chn_r", TelegramSettings(), sinks.reports, credentials)
    for text in (repr(credentials), str(credentials), repr(channel), credentials.model_dump_json()):
        assert "tok-secret" not in text and "hook-secret-value" not in text
    assert credentials.bot_id == "12345" and channel.bot_address == "telegram:12345"


@pytest.mark.parametrize(
    "credentials",
    [
        {},
        {"bot_token": "no-colon-secret-abcdefghijklmnop"},
        {"bot_token": "12345:short"},
        {"bot_token": "12345:tok-secret-abcdefghijklmnop", "webhook_secret": "has spaces in it"},
        {"bot_token": "12345:tok-secret-abcdefghijklmnop", "webhook_secret": ""},
        {"bot_token": "12345:tok-secret-abcdefghijklmnop", "extra": "extra-value-zzz"},
    ],
)
def test_malformed_credentials_are_refused_without_echoing_them(credentials: dict[str, str]) -> None:
    with pytest.raises(ValueError) as caught:
        TelegramCredentials.model_validate(credentials)
    for value in credentials.values():
        assert not value or value not in str(caught.value)
