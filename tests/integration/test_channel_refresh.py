"""A running worker picks up channel changes made through the API without a restart: its channel
pool notices the row's new ``updated_at`` and reopens the channel from it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from support.gateway import ADMIN_KEY, FAST_DISPATCH, GatewayFactory, RunningGateway, UrlFactory
from tidings.channels.base import ChannelReports, Receipt
from tidings.channels.smpp.channel import SmppChannel
from tidings.config import Settings
from tidings.dispatch.channel_pool import ChannelPool, LiveChannel
from tidings.dispatch.circuits import Circuits
from tidings.dispatch.rate_limits import RateLimiter
from tidings.runtime import Gateway
from tidings.simulators.smpp import FakeSmsc
from tidings.store.migrate import upgrade

REFRESHING = FAST_DISPATCH.model_copy(update={"channel_refresh_seconds": 0.05})


async def _live(gw: RunningGateway, channel_id: str) -> LiveChannel:
    assert gw.gateway.dispatcher is not None
    return await gw.gateway.dispatcher.channels.get(channel_id)


async def _until(check: Callable[[], Awaitable[bool]], what: str) -> None:
    for _ in range(400):
        if await check():
            return
        await asyncio.sleep(0.025)
    raise AssertionError(f"timed out waiting for {what}")


async def test_a_running_worker_picks_up_a_changed_mps_batch_size_and_settings(
    gateway_factory: GatewayFactory, database_url_factory: UrlFactory
) -> None:
    gw = await gateway_factory(database_url_factory, dispatch=REFRESHING)
    made = await gw.call("POST", "/v1/channels", {"type": "sandbox", "name": "paced", "mps": 50})
    channel_id = made.body["id"]
    sent = await gw.call("POST", "/v1/messages", {"to": "+14155550200", "body": "x", "channel": "paced"})
    await gw.wait_for_status(sent.body["message_ids"][0], {"delivered"})
    opened = await _live(gw, channel_id)
    assert (opened.mps, opened.max_batch_size) == (50, 1)

    rejected = "+14155550201"
    changed = await gw.call(
        "PATCH",
        f"/v1/channels/{channel_id}",
        {"mps": 500, "max_batch_size": 20, "settings": {"reject_numbers": [rejected]}},
    )
    assert changed.status == 200, changed.body

    async def reopened() -> bool:
        live = await _live(gw, channel_id)
        return live is not opened and (live.mps, live.max_batch_size) == (500, 20)

    await _until(reopened, "the worker to reopen the channel")
    assert opened.retired
    # The new settings are the ones sends now meet.
    sent = await gw.call("POST", "/v1/messages", {"to": rejected, "body": "x", "channel": "paced"})
    failed = await gw.wait_for_status(sent.body["message_ids"][0], {"failed", "delivered"})
    assert failed["status"] == "failed" and failed["error"]["code"] == "sandbox_rejected"


async def test_a_deleted_channel_is_closed_by_the_worker(
    gateway_factory: GatewayFactory, sqlite_url_factory: UrlFactory
) -> None:
    gw = await gateway_factory(sqlite_url_factory, dispatch=REFRESHING)
    made = await gw.call("POST", "/v1/channels", {"type": "sandbox", "name": "short-lived"})
    sent = await gw.call(
        "POST", "/v1/messages", {"to": "+14155550202", "body": "x", "channel": "short-lived"}
    )
    await gw.wait_for_status(sent.body["message_ids"][0], {"delivered"})
    opened = await _live(gw, made.body["id"])
    assert (await gw.call("DELETE", f"/v1/channels/{made.body['id']}")).status == 204

    async def retired() -> bool:
        return opened.retired

    await _until(retired, "the worker to retire the deleted channel")
    with pytest.raises(LookupError):
        await _live(gw, made.body["id"])


async def _nothing(_: str, __: Any) -> None:
    return None


async def test_a_retired_channel_stays_open_while_a_send_holds_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'pool.db'}"
    await upgrade(url)
    gateway = Gateway(
        Settings(database_url=url, bootstrap_key=ADMIN_KEY, data_dir=tmp_path, number_workers=0),
        run_dispatcher=False,
    )
    await gateway.start()
    receipts: list[Receipt] = []

    async def collect(_: str, got: Any) -> None:
        receipts.extend(got)

    pool = ChannelPool(
        gateway.db,
        ChannelReports(receipts=collect, inbound=_nothing),
        concurrency=4,
        min_concurrency=4,
        limiter=RateLimiter.in_memory(),
        circuits=Circuits(failure_threshold=5, cooldown_seconds=1),
        retire_grace_seconds=0,
    )
    try:
        admin = await gateway.accounts.authenticate_key(ADMIN_KEY)
        row = await gateway.channels.create(admin, type="sandbox", name="held", mps=5)
        held = await pool.acquire(row["id"])
        assert await pool.refresh() == []  # nothing changed

        await gateway.channels.update(admin, row["id"], {"mps": 7})
        assert await pool.refresh() == [row["id"]]
        assert held.retired
        fresh = await pool.get(row["id"])
        assert fresh is not held and fresh.mps == 7
        assert pool.retired_count == 1  # still held by the send

        pool.release(held)
        for _ in range(100):
            if pool.retired_count == 0:
                break
            await asyncio.sleep(0.01)
        assert pool.retired_count == 0
        assert (await pool.get(row["id"])) is fresh
    finally:
        await pool.close()
        await gateway.stop()


async def test_a_pipelining_type_sends_in_groups_of_its_own_size(
    gateway_factory: GatewayFactory, database_url_factory: UrlFactory
) -> None:
    """An SMPP channel with the default max_batch_size of 1 still hands the adapter groups of
    100 (its send_many pipelines them through the windows); a larger setting wins."""
    fake = FakeSmsc()
    await fake.start()
    try:
        gw = await gateway_factory(database_url_factory, dispatch=REFRESHING)
        made = await gw.call(
            "POST",
            "/v1/channels",
            {
                "type": "smpp",
                "name": "smsc",
                "settings": {"host": "127.0.0.1", "port": fake.port, "system_id": "esme"},
                "credentials": {"password": "pw"},
            },
        )
        assert made.status == 201, made.body
        live = await _live(gw, made.body["id"])
        assert live.group_size == SmppChannel.pipeline_group == 100
        await gw.call("PATCH", f"/v1/channels/{made.body['id']}", {"max_batch_size": 250})

        async def reopened() -> bool:
            return (await _live(gw, made.body["id"])).group_size == 250

        await _until(reopened, "the worker to reopen the channel with its new batch size")
        sandbox = await gw.call("POST", "/v1/channels", {"type": "sandbox", "name": "plain"})
        assert (await _live(gw, sandbox.body["id"])).group_size == 1
    finally:
        await fake.close()
