"""Polling the fake Twilio over real loopback HTTP: Message fetches become receipts with the
status callbacks' table, in-between statuses report nothing, failures are classified."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from pydantic import ValidationError

from support.channels import IGNORE_REPORTS, outbound, poll_error, poll_until_final
from support.ports import closed_port
from tidings.channels.base import (
    OutboundMessage,
    PollTiming,
    Receipt,
)
from tidings.channels.twilio.channel import TwilioChannel
from tidings.channels.twilio.config import TwilioCredentials, TwilioSettings
from tidings.core.statuses import MessageStatus
from tidings.simulators.twilio import FakeTwilio

SENDER = "+15005550006"


@pytest.fixture
async def fake() -> AsyncIterator[FakeTwilio]:
    async with FakeTwilio() as running:
        yield running


@pytest.fixture
async def channel(fake: FakeTwilio) -> AsyncIterator[TwilioChannel]:
    """No public_base_url: Twilio is asked for no status callbacks, as when polling is all."""
    adapter = _adapter(api_base_url=fake.url, credentials=(fake.account_sid, fake.auth_token))
    await adapter.start()
    yield adapter
    await adapter.close()


def _adapter(*, credentials: tuple[str, str] = ("AC" + "0" * 32, "token"), **settings: Any) -> TwilioChannel:
    sid, token = credentials
    return TwilioChannel(
        "chn_twilio_poll",
        TwilioSettings.model_validate(settings),
        IGNORE_REPORTS,
        TwilioCredentials.model_validate({"account_sid": sid, "auth_token": token}),
    )


def _message(to: str) -> OutboundMessage:
    return outbound(to, SENDER)


async def _send(channel: TwilioChannel, to: str) -> str:
    sid = (await channel.send(_message(to))).provider_message_id
    assert sid is not None
    return sid


async def test_a_delivered_message_becomes_a_delivered_receipt(
    fake: FakeTwilio, channel: TwilioChannel
) -> None:
    sid = await _send(channel, "+14155550100")
    [receipt] = await poll_until_final(channel, [sid])
    assert receipt == Receipt(sid, MessageStatus.DELIVERED)
    assert fake.received()[0].status_callback is None  # polling was the only news
    assert fake.fetches[sid] >= 1


async def test_undelivered_keeps_twilios_error_code(fake: FakeTwilio, channel: TwilioChannel) -> None:
    fake.undeliverable["+14155550101"] = 30003
    fake.undeliverable["+14155550102"] = 30450  # not in our table: Twilio's error_message is kept
    first = await _send(channel, "+14155550101")
    second = await _send(channel, "+14155550102")
    receipts = {r.provider_message_id: r for r in await poll_until_final(channel, [first, second])}
    assert receipts[first] == Receipt(
        first, MessageStatus.UNDELIVERED, "twilio_30003", "unreachable destination handset"
    )
    assert (receipts[second].status, receipts[second].code, receipts[second].detail) == (
        MessageStatus.UNDELIVERED,
        "twilio_30450",
        "Error 30450",
    )


async def test_in_between_statuses_and_unknown_sids_report_nothing(
    fake: FakeTwilio, channel: TwilioChannel
) -> None:
    fake.keep_pending("+14155550103")
    waiting = await _send(channel, "+14155550103")
    delivered = await _send(channel, "+14155550104")
    unknown = "SM" + "f" * 32
    receipts = await poll_until_final(channel, [delivered])
    assert [r.provider_message_id for r in receipts] == [delivered]
    await asyncio.sleep(0.3)  # past both of the fake's steps: the pending one is `sent` for good
    assert await channel.poll([waiting, unknown, delivered]) == receipts
    assert fake.received("+14155550103")[0].status == "sent"
    assert (fake.fetches[waiting], fake.fetches[unknown]) == (1, 0)  # the 404 is not a message


async def test_polling_agrees_with_the_callbacks_when_there_are_callbacks(fake: FakeTwilio) -> None:
    adapter = _adapter(
        api_base_url=fake.url,
        public_base_url="http://127.0.0.1:9",  # nobody listens: the callbacks are lost
        credentials=(fake.account_sid, fake.auth_token),
    )
    await adapter.start()
    try:
        sid = await _send(adapter, "+14155550105")
        for _ in range(100):
            if len(fake.callbacks) == 2:
                break
            await asyncio.sleep(0.02)
        assert [status for _, status, _ in fake.callbacks] == ["sent", "delivered"]
        assert await adapter.poll([sid]) == [Receipt(sid, MessageStatus.DELIVERED)]
    finally:
        await adapter.close()


async def test_the_fake_moves_messages_on_without_callbacks_as_its_json_shows(
    fake: FakeTwilio, channel: TwilioChannel
) -> None:
    fake.callback_delay = 0.3
    fake.undeliverable["+14155550106"] = 30005
    sid = await _send(channel, "+14155550106")
    url = f"{fake.url}/2010-04-01/Accounts/{fake.account_sid}/Messages/{sid}.json"
    seen: list[dict[str, Any]] = []
    auth = {"Authorization": aiohttp.encode_basic_auth(fake.account_sid, fake.auth_token)}
    async with aiohttp.ClientSession(headers=auth) as http:
        for _ in range(100):
            async with http.get(url) as answer:
                assert answer.status == 200
                document = await answer.json()
            if not seen or seen[-1]["status"] != document["status"]:
                seen.append(document)
            if document["status"] == "undelivered":
                break
            await asyncio.sleep(0.05)
    assert [d["status"] for d in seen] == ["queued", "sent", "undelivered"]
    queued, sent, undelivered = seen
    assert queued["date_sent"] is None and sent["date_sent"] is not None
    assert (undelivered["error_code"], undelivered["error_message"]) == (30005, "Unknown destination handset")
    assert (sent["error_code"], sent["error_message"]) == (None, None)
    assert undelivered["sid"] == sid and undelivered["uri"].endswith(f"/Messages/{sid}.json")


async def test_a_provider_that_cannot_be_reached_raises_a_transient_error() -> None:
    with closed_port() as port:  # refused: bound, nothing listening
        adapter = _adapter(api_base_url=f"http://127.0.0.1:{port}")
        await adapter.start()
        error = await poll_error(adapter, ["SM" + "1" * 32, "SM" + "2" * 32])
        assert (error.code, error.retryable) == ("twilio_network", True)


async def test_wrong_credentials_raise_the_authentication_error(fake: FakeTwilio) -> None:
    adapter = _adapter(api_base_url=fake.url, credentials=(fake.account_sid, "not-the-token"))
    await adapter.start()
    error = await poll_error(adapter, ["SM" + "1" * 32])
    assert (error.code, error.retryable) == ("twilio_20003", False)


def test_poll_timing_follows_the_settings_and_the_callbacks() -> None:
    assert _adapter().poll_timing() == PollTiming(300, 300, 6 * 3600)
    with_callbacks = _adapter(public_base_url="https://gw.example.com")
    assert with_callbacks.poll_timing() == PollTiming(900, 300, 6 * 3600)
    callbacks_off = _adapter(public_base_url="https://gw.example.com", status_callbacks=False)
    assert callbacks_off.poll_timing() == PollTiming(300, 300, 6 * 3600)
    tuned = _adapter(poll_after_seconds=5, poll_interval_seconds=30, poll_max_interval_seconds=30)
    assert tuned.poll_timing() == PollTiming(5, 30, 30)
    assert _adapter(status_polling=False).poll_timing() is None
    assert TwilioChannel.supports_polling
    with pytest.raises(ValidationError):
        TwilioSettings.model_validate({"poll_interval_seconds": 600, "poll_max_interval_seconds": 60})
