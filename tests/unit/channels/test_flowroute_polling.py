"""Polling the fake Flowroute over real loopback HTTP: message detail records become receipts
with the DLR table, in-between statuses report nothing, failures are classified."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from support.channels import IGNORE_REPORTS, outbound, poll_error, poll_until_final
from support.ports import closed_port
from tidings.channels.base import (
    PollTiming,
    Receipt,
)
from tidings.channels.flowroute import callbacks
from tidings.channels.flowroute.channel import FlowrouteChannel
from tidings.channels.flowroute.config import FlowrouteCredentials, FlowrouteSettings
from tidings.core.statuses import MessageStatus
from tidings.simulators.flowroute import FakeFlowroute

SENDER = "+12065550100"


@pytest.fixture
async def fake() -> AsyncIterator[FakeFlowroute]:
    async with FakeFlowroute() as running:
        yield running


def _adapter(*, keys: tuple[str, str] = ("12345678", "secret"), **settings: Any) -> FlowrouteChannel:
    return FlowrouteChannel(
        "chn_flowroute_poll",
        FlowrouteSettings.model_validate(settings),
        IGNORE_REPORTS,
        FlowrouteCredentials.model_validate({"access_key": keys[0], "secret_key": keys[1]}),
    )


async def _started(fake: FakeFlowroute, **settings: Any) -> FlowrouteChannel:
    """No public_base_url: no ``dlr_callback`` is sent, as when polling is all."""
    adapter = _adapter(api_base_url=fake.url, keys=(fake.access_key, fake.secret_key), **settings)
    await adapter.start()
    return adapter


@pytest.fixture
async def channel(fake: FakeFlowroute) -> AsyncIterator[FlowrouteChannel]:
    adapter = await _started(fake)
    yield adapter
    await adapter.close()


async def _send(channel: FlowrouteChannel, to: str) -> str:
    record_id = (await channel.send(outbound(to, SENDER))).provider_message_id
    assert record_id is not None
    return record_id


async def test_a_delivered_record_becomes_a_delivered_receipt(
    fake: FakeFlowroute, channel: FlowrouteChannel
) -> None:
    record_id = await _send(channel, "+14155550100")
    [receipt] = await poll_until_final(channel, [record_id])
    assert receipt == Receipt(record_id, MessageStatus.DELIVERED)
    assert fake.received()[0].dlr_callback is None
    assert fake.fetches[record_id] >= 1


async def test_a_delivery_failure_keeps_the_records_code(
    fake: FakeFlowroute, channel: FlowrouteChannel
) -> None:
    fake.set_undeliverable("+14155550101", 1005)
    record_id = await _send(channel, "+14155550101")
    [receipt] = await poll_until_final(channel, [record_id])
    assert receipt == Receipt(record_id, MessageStatus.UNDELIVERED, "flowroute_1005", "Message undeliverable")


async def test_in_between_records_and_unknown_ids_report_nothing(
    fake: FakeFlowroute, channel: FlowrouteChannel
) -> None:
    fake.keep_pending("+14155550102")
    waiting = await _send(channel, "+14155550102")
    delivered = await _send(channel, "+14155550103")
    receipts = await poll_until_final(channel, [delivered])
    await asyncio.sleep(0.3)  # past the fake's steps: the pending one stays at level 1
    assert await channel.poll([waiting, "mdr2-" + "0" * 32, delivered]) == receipts
    assert fake.received("+14155550102")[0].status == "smsc submit"


async def test_v2_2_channels_look_records_up_under_v2_2(fake: FakeFlowroute) -> None:
    adapter = await _started(fake, api_version="v2.2")
    try:
        record_id = await _send(adapter, "+14155550104")
        assert await poll_until_final(adapter, [record_id]) == [Receipt(record_id, MessageStatus.DELIVERED)]
    finally:
        await adapter.close()


async def test_the_fake_moves_records_on_without_callbacks(
    fake: FakeFlowroute, channel: FlowrouteChannel
) -> None:
    fake.callback_delay = 0.3
    fake.set_undeliverable("+14155550105", 1005)
    record_id = await _send(channel, "+14155550105")
    auth = {"Authorization": aiohttp.encode_basic_auth(fake.access_key, fake.secret_key)}
    statuses: list[str] = []
    async with aiohttp.ClientSession(headers=auth) as http:
        for _ in range(100):
            async with http.get(f"{fake.url}/v2.1/messages/{record_id}") as answer:
                assert answer.status == 200
                attributes = (await answer.json(content_type=None))["data"]["attributes"]
            if not statuses or statuses[-1] != attributes["status"]:
                statuses.append(attributes["status"])
            if attributes["status"] == "delivery failure":
                break
            await asyncio.sleep(0.05)
    assert statuses == ["queued", "smsc submit", "delivery failure"]
    # Records list receipts newest first, with integer codes (Flowroute's record examples).
    assert [(r["level"], r["status_code"]) for r in attributes["delivery_receipts"]] == [(2, 1005), (1, None)]


def test_a_record_reads_its_code_from_the_newest_receipt_with_its_status() -> None:
    record = {
        "data": {
            "id": "mdr2-1",
            "type": "message",
            "attributes": {
                "status": "message buffered",
                "delivery_receipts": [
                    {"level": 2, "status": "message buffered", "status_code": 1003},
                    {"level": 1, "status": "smsc submit", "status_code": None},
                ],
            },
        }
    }
    assert callbacks.record_receipt("mdr2-1", record) is None  # accepted by the carrier: in between
    record["data"]["attributes"] = {
        "status": "smsc reject",
        "delivery_receipts": [
            {"level": 1, "status": "smsc reject", "status_code": 1001, "status_code_description": "Rejected"}
        ],
    }
    assert callbacks.record_receipt("mdr2-1", record) == Receipt(
        "mdr2-1", MessageStatus.FAILED, "flowroute_1001", "Rejected"
    )
    assert callbacks.record_receipt("mdr2-1", {"data": "nonsense"}) is None


async def test_a_provider_that_cannot_be_reached_raises_a_transient_error() -> None:
    with closed_port() as port:  # refused: bound, nothing listening
        adapter = _adapter(api_base_url=f"http://127.0.0.1:{port}")
        await adapter.start()
        error = await poll_error(adapter, ["mdr2-" + "1" * 32])
        assert (error.code, error.retryable) == ("flowroute_network", True)


async def test_wrong_credentials_raise_a_permanent_error(fake: FakeFlowroute) -> None:
    adapter = _adapter(api_base_url=fake.url, keys=(fake.access_key, "wrong"))
    await adapter.start()
    error = await poll_error(adapter, ["mdr2-" + "1" * 32])
    assert (error.code, error.retryable) == ("flowroute_http_401", False)


def test_poll_timing_follows_the_settings_and_the_receipts_asked_for() -> None:
    assert _adapter().poll_timing() == PollTiming(300, 300, 6 * 3600)
    # DLRs are asked for only with a public URL and a webhook token.
    with_dlrs = FlowrouteChannel(
        "chn_x",
        FlowrouteSettings(public_base_url="https://gw.example.com"),
        IGNORE_REPORTS,
        FlowrouteCredentials.model_validate(
            {"access_key": "1", "secret_key": "2", "webhook_token": "t" * 20}
        ),
    )
    assert with_dlrs.poll_timing() == PollTiming(900, 300, 6 * 3600)
    assert _adapter(public_base_url="https://gw.example.com").poll_timing() == PollTiming(300, 300, 6 * 3600)
    assert _adapter(status_polling=False).poll_timing() is None
    assert FlowrouteChannel.supports_polling
