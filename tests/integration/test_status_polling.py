"""Delivery-status polling through a real gateway and the fake Twilio, on SQLite and PostgreSQL:
a `sent` message whose callback never comes is asked about, moved on, and asked again later
only after its interval; old messages are left alone; two workers never ask twice at once."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from functools import partial
from typing import Any

import pytest
from sqlalchemy import select, update

from support.gateway import FAST_DISPATCH, GatewayFactory, RunningGateway, UrlFactory
from tidings.core.clock import now_ms
from tidings.dispatch.dispatcher import Dispatcher
from tidings.metrics import STATUS_POLLS
from tidings.simulators.twilio import FakeTwilio
from tidings.store import polling
from tidings.store.schema import messages, status_polls

SENDER = "+15005550006"
HOUR_MS = 3600 * 1000


@pytest.fixture
async def fake() -> AsyncIterator[FakeTwilio]:
    async with FakeTwilio() as running:
        yield running


async def _twilio_channel(gw: RunningGateway, fake: FakeTwilio, **polling: float) -> str:
    """A Twilio channel without public_base_url: Twilio is asked for no status callbacks, so
    only polling can move its messages on."""
    row = await gw.create_channel(
        type="twilio",
        name="twilio",
        settings={"api_base_url": fake.url, "timeout_seconds": 5, **polling},
        credentials={"account_sid": fake.account_sid, "auth_token": fake.auth_token},
        senders=[SENDER],
    )
    return str(row["id"])


async def _send(gw: RunningGateway, to: str) -> str:
    sent = await gw.call("POST", "/v1/messages", {"to": to, "body": "polled", "channel": "twilio"})
    assert sent.status == 202, sent.body
    return str(sent.body["message_ids"][0])


async def _events(gw: RunningGateway, message_id: str) -> list[dict[str, Any]]:
    return list((await gw.call("GET", f"/v1/messages/{message_id}/events")).body["data"])


async def _until(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)


def _polls(outcome: str) -> float:
    return STATUS_POLLS.labels("twilio", outcome)._value.get()


async def _age(gw: RunningGateway, message_ids: list[str], sent_at: int) -> None:
    """Make `sent` messages look sent at ``sent_at``: the clock cannot be moved for a running
    gateway."""

    def age(conn: Any) -> None:
        conn.execute(update(messages).where(messages.c.id.in_(message_ids)).values(updated_at=sent_at))

    await gw.gateway.db.transact(age)


def _ms(rfc3339: str) -> int:
    return int(datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp() * 1000)


async def test_a_sent_message_is_polled_and_delivered(
    gateway_factory: GatewayFactory, database_url_factory: UrlFactory, fake: FakeTwilio
) -> None:
    gw = await gateway_factory(database_url_factory)
    await _twilio_channel(gw, fake, poll_after_seconds=0.3, poll_interval_seconds=0.5)
    finals_before = _polls("final")
    message_id = await _send(gw, "+14155550100")
    message = await gw.wait_for_status(message_id, {"delivered"})
    sid = message["provider_message_id"]
    assert fake.received()[0].status_callback is None and fake.callbacks == []
    assert fake.fetches[sid] == 1  # the fake had settled before the first poll
    events = await _events(gw, message_id)
    assert [e["status"] for e in events][-2:] == ["sent", "delivered"]
    sent, delivered = events[-2:]
    assert _ms(delivered["at"]) - _ms(sent["at"]) >= 300  # not polled before poll_after
    assert _polls("final") - finals_before >= 1
    async with gw.gateway.db.read() as conn:  # a finished poll leaves nothing behind
        assert (await conn.execute(select(status_polls))).all() == []


async def test_undelivered_keeps_twilios_error_code(
    gateway_factory: GatewayFactory, database_url_factory: UrlFactory, fake: FakeTwilio
) -> None:
    gw = await gateway_factory(database_url_factory)
    await _twilio_channel(gw, fake, poll_after_seconds=0.2, poll_interval_seconds=0.5)
    fake.undeliverable["+14155550101"] = 30003
    message_id = await _send(gw, "+14155550101")
    message = await gw.wait_for_status(message_id, {"undelivered"})
    assert message["error"]["code"] == "twilio_30003"
    last = (await _events(gw, message_id))[-1]
    assert (last["status"], last["code"], last["detail"]) == (
        "undelivered",
        "twilio_30003",
        "unreachable destination handset",
    )


async def test_a_message_still_sent_is_polled_again_after_its_interval(
    gateway_factory: GatewayFactory, database_url_factory: UrlFactory, fake: FakeTwilio
) -> None:
    gw = await gateway_factory(database_url_factory)
    interval = 1.5
    await _twilio_channel(
        gw, fake, poll_after_seconds=0.2, poll_interval_seconds=interval, poll_max_interval_seconds=interval
    )
    fake.keep_pending("+14155550102")  # Twilio keeps it `sent`: its carrier never reports
    pending_before = _polls("pending")
    message_id = await _send(gw, "+14155550102")
    sid = (await gw.wait_for_status(message_id, {"sent"}))["provider_message_id"]
    await _until(lambda: fake.fetches[sid] >= 1)
    await asyncio.sleep(interval / 2)  # rounds run every ~50 ms: none may ask again yet
    assert fake.fetches[sid] == 1
    await _until(lambda: fake.fetches[sid] >= 2)
    message = (await gw.call("GET", f"/v1/messages/{message_id}")).body
    assert message["status"] == "sent"
    assert [e["status"] for e in await _events(gw, message_id)][-1] == "sent"  # nothing invented
    assert _polls("pending") - pending_before >= 2
    async with gw.gateway.db.read() as conn:
        [row] = (await conn.execute(select(status_polls))).all()
    assert row.message_id == message_id and row.polls >= 2 and row.gap_ms == interval * 1000


async def test_messages_past_the_receipt_window_are_not_polled(
    gateway_factory: GatewayFactory, database_url_factory: UrlFactory, fake: FakeTwilio
) -> None:
    gw = await gateway_factory(database_url_factory)
    # Polled once an hour old: neither message is due until its age is moved below.
    await _twilio_channel(gw, fake, poll_after_seconds=3600, poll_interval_seconds=0.2)
    old_id = await _send(gw, "+14155550103")
    recent_id = await _send(gw, "+14155550104")
    old = await gw.wait_for_status(old_id, {"sent"})
    await gw.wait_for_status(recent_id, {"sent"})
    await _age(gw, [old_id], now_ms() - 73 * HOUR_MS)
    await _age(gw, [recent_id], now_ms() - 2 * HOUR_MS)
    await gw.wait_for_status(recent_id, {"delivered"})
    dispatcher = gw.gateway.dispatcher
    assert dispatcher is not None
    await dispatcher.poller.run_round()  # one more full round after the recent one's
    assert fake.fetches[old["provider_message_id"]] == 0
    assert (await gw.call("GET", f"/v1/messages/{old_id}")).body["status"] == "sent"


async def test_two_dispatchers_never_poll_a_message_twice_in_a_round(
    gateway_factory: GatewayFactory, database_url_factory: UrlFactory, fake: FakeTwilio
) -> None:
    gw = await gateway_factory(database_url_factory)
    # Not due until aged below; then one poll each within the test: a second fetch of any
    # message means two workers took it.
    await _twilio_channel(
        gw, fake, poll_after_seconds=3600, poll_interval_seconds=600, poll_max_interval_seconds=600
    )
    second = Dispatcher(gw.gateway.db, FAST_DISPATCH, box=gw.gateway.box)
    await second.start()
    try:
        numbers = [f"+1415555{n:04d}" for n in range(300, 360)]
        for number in numbers:
            fake.keep_pending(number)
        sent = await gw.call(
            "POST",
            "/v1/messages",
            {"messages": [{"to": n, "body": "twice?"} for n in numbers], "channel": "twilio"},
        )
        assert sent.status == 202, sent.body
        ids = sent.body["message_ids"]
        sids = [(await gw.wait_for_status(i, {"sent"}))["provider_message_id"] for i in ids]
        first = gw.gateway.dispatcher
        assert first is not None
        # A round of each with nothing due opens the channel in both, so the next rounds start
        # together.
        await asyncio.gather(first.poller.run_round(), second.poller.run_round())
        await _age(gw, ids, now_ms() - 2 * HOUR_MS)  # all due at once, for both workers
        # Both workers' rounds at the same moment, beside their own loops.
        await asyncio.gather(first.poller.run_round(), second.poller.run_round())
        await _until(lambda: all(fake.fetches[sid] >= 1 for sid in sids))
        await asyncio.gather(first.poller.run_round(), second.poller.run_round())
        assert {sid: fake.fetches[sid] for sid in sids} == dict.fromkeys(sids, 1)
    finally:
        await second.stop()


async def test_a_claimed_poll_is_invisible_to_a_concurrent_claim(
    gateway_factory: GatewayFactory, database_url_factory: UrlFactory, fake: FakeTwilio
) -> None:
    """The claim itself, two transactions at once (PostgreSQL; one after the other on SQLite,
    which has one writer): the second takes none of the rows the first holds or has pushed back."""
    gw = await gateway_factory(database_url_factory)
    channel_id = await _twilio_channel(gw, fake, poll_after_seconds=3600, poll_interval_seconds=600)
    fake.keep_pending("+14155550105")
    fake.keep_pending("+14155550106")
    ids = [await _send(gw, "+14155550105"), await _send(gw, "+14155550106")]
    for message_id in ids:
        await gw.wait_for_status(message_id, {"sent"})
    await _age(gw, ids, now_ms() - 2 * HOUR_MS)
    now = now_ms()
    claim = partial(
        polling.claim_due_polls,
        channel_id=channel_id,
        now=now,
        sent_before=now - HOUR_MS,
        sent_after=now - 72 * HOUR_MS,
        first_gap_ms=600_000,
        max_gap_ms=600_000,
        limit=10,
        skip_locked=not gw.gateway.db.is_sqlite,
    )
    db = gw.gateway.db
    if db.is_sqlite:
        taken = await db.transact(claim)
        assert await db.transact(claim) == []
    else:
        async with db.engine.connect() as first, db.engine.connect() as second:
            await first.begin()
            taken = await first.run_sync(claim)
            await second.begin()
            # Locked rows are skipped, not waited for (a wait here would never end: the first
            # transaction commits only after it).
            assert await asyncio.wait_for(second.run_sync(claim), 10) == []
            await first.commit()
            assert await second.run_sync(claim) == []  # committed: pushed back by the interval
            await second.rollback()
    assert sorted(poll.message_id for poll in taken) == sorted(ids)
