"""Dispatch on each backend: retries, permanent failures, expiry, leases, receipts, restarts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, select

from support.gateway import FAST_DISPATCH, GatewayFactory, RunningGateway, UrlFactory
from tidings.core.clock import now_ms
from tidings.core.statuses import MessageStatus
from tidings.dispatch.dispatcher import Dispatcher
from tidings.metrics import LEASES_RECLAIMED
from tidings.store import queue, receipts
from tidings.store.schema import message_events


async def _channel(gw: RunningGateway, name: str, **settings: Any) -> str:
    row = await gw.create_channel(type="sandbox", name=name, settings=settings)
    return str(row["id"])


async def _statuses(gw: RunningGateway, message_id: str) -> list[tuple[str, str | None]]:
    events = await gw.call("GET", f"/v1/messages/{message_id}/events")
    return [(e["status"], e["code"]) for e in events.body["data"]]


async def test_transient_failures_retry_until_the_attempt_limit(
    gateway_factory: GatewayFactory, database_url_factory: UrlFactory
) -> None:
    gw = await gateway_factory(
        database_url_factory, dispatch=FAST_DISPATCH.model_copy(update={"max_attempts": 3})
    )
    await _channel(gw, "flaky", failure_rate=1.0)
    sent = await gw.call("POST", "/v1/messages", {"to": "+14155550200", "body": "hi", "channel": "flaky"})
    [message_id] = sent.body["message_ids"]
    message = await gw.wait_for_status(message_id, {"failed"})
    assert message["attempts"] == 3
    assert message["error"]["code"] == "sandbox_unavailable"
    assert "gave up after 3 attempts" in message["error"]["message"]
    assert [s for s, _ in await _statuses(gw, message_id)] == [
        "queued",
        "sending",
        "queued",
        "sending",
        "queued",
        "sending",
        "failed",
    ]


async def test_retried_messages_are_eventually_delivered(
    gateway_factory: GatewayFactory, database_url_factory: UrlFactory
) -> None:
    gw = await gateway_factory(
        database_url_factory, dispatch=FAST_DISPATCH.model_copy(update={"max_attempts": 30})
    )
    await _channel(gw, "half", failure_rate=0.5)
    sent = await gw.call(
        "POST",
        "/v1/messages",
        {"to": [f"+1415555{n:04d}" for n in range(300, 340)], "body": "hi", "channel": "half"},
    )
    done = await gw.wait_for_batch(sent.body["id"], timeout=30)
    assert done["status_counts"] == {"delivered": 40}
    page = await gw.call("GET", f"/v1/messages?batch_id={sent.body['id']}&limit=100")
    assert max(m["attempts"] for m in page.body["data"]) > 1


async def test_permanent_failure_fails_at_once(gw: RunningGateway) -> None:
    await _channel(gw, "picky", reject_numbers=["+14155550201"])
    sent = await gw.call(
        "POST",
        "/v1/messages",
        {"to": ["+14155550201", "+14155550202"], "body": "hi", "channel": "picky"},
    )
    rejected, accepted = sent.body["message_ids"]
    failed = await gw.wait_for_status(rejected, {"failed"})
    assert failed["attempts"] == 1
    assert failed["error"]["code"] == "sandbox_rejected"
    await gw.wait_for_status(accepted, {"delivered"})


async def test_undelivered_receipt_is_recorded(gw: RunningGateway) -> None:
    await _channel(gw, "lossy", undeliverable_numbers=["+14155550203"])
    sent = await gw.call("POST", "/v1/messages", {"to": "+14155550203", "body": "hi", "channel": "lossy"})
    message = await gw.wait_for_status(sent.body["message_ids"][0], {"undelivered"})
    assert message["error"]["code"] == "sandbox_undelivered"


async def test_validity_period_expires_a_message_that_cannot_leave(
    gateway_factory: GatewayFactory, database_url_factory: UrlFactory
) -> None:
    slow_retries = FAST_DISPATCH.model_copy(update={"retry_base_seconds": 5.0, "retry_max_seconds": 5.0})
    gw = await gateway_factory(database_url_factory, dispatch=slow_retries)
    await _channel(gw, "down", failure_rate=1.0)
    sent = await gw.call(
        "POST",
        "/v1/messages",
        {"to": "+14155550204", "body": "hi", "channel": "down", "validity_period": 1},
    )
    message = await gw.wait_for_status(sent.body["message_ids"][0], {"expired"})
    assert message["error"]["code"] == "validity_period_expired"


async def test_scheduled_past_validity_expires_without_sending(gw: RunningGateway) -> None:
    send_at = (datetime.now(UTC) + timedelta(seconds=0.5)).isoformat()
    sent = await gw.call(
        "POST",
        "/v1/messages",
        {"to": "+14155550205", "body": "hi", "send_at": send_at, "validity_period": 1},
    )
    message_id = sent.body["message_ids"][0]
    await gw.wait_for_status(message_id, {"delivered"})  # due and valid: it leaves
    assert ("sending", None) in await _statuses(gw, message_id)


async def test_lease_of_a_dead_worker_is_reclaimed_and_the_message_sent(gw: RunningGateway) -> None:
    await gw.gateway.dispatcher.stop()  # type: ignore[union-attr]
    sent = await gw.call("POST", "/v1/messages", {"to": ["+14155550206", "+14155550207"], "body": "hi"})
    # A worker claims both, then dies without a word: its lease runs out in 200 ms.
    claimed = await gw.gateway.db.transact(
        lambda conn: queue.claim_due(
            conn,
            worker="dead-worker",
            now=now_ms(),
            lease_until=now_ms() + 200,
            limit=10,
            skip_locked=not gw.gateway.db.is_sqlite,
        )
    )
    assert {m.id for m in claimed} == set(sent.body["message_ids"])
    before = LEASES_RECLAIMED._value.get()
    survivor = Dispatcher(gw.gateway.db, FAST_DISPATCH)
    await survivor.start()
    try:
        for message_id in sent.body["message_ids"]:
            message = await gw.wait_for_status(message_id, {"delivered"}, timeout=10)
            assert message["attempts"] == 2
            assert ("queued", "lease_expired") in await _statuses(gw, message_id)
    finally:
        await survivor.stop()
    assert LEASES_RECLAIMED._value.get() - before == 2


async def test_a_live_worker_renews_its_leases_while_a_send_outlasts_them(
    gateway_factory: GatewayFactory, database_url_factory: UrlFactory
) -> None:
    # A 0.6 s lease against a provider that takes 2 s: without renewal the sweep would hand the
    # message back to the queue mid-send and it would go out twice.
    gw = await gateway_factory(
        database_url_factory, dispatch=FAST_DISPATCH.model_copy(update={"lease_seconds": 0.6})
    )
    await _channel(gw, "slow", latency_ms=2000)
    before = LEASES_RECLAIMED._value.get()
    sent = await gw.call("POST", "/v1/messages", {"to": "+14155550212", "body": "slow", "channel": "slow"})
    message = await gw.wait_for_status(sent.body["message_ids"][0], {"delivered"}, timeout=10)
    assert message["attempts"] == 1
    assert ("queued", "lease_expired") not in await _statuses(gw, message["id"])
    assert LEASES_RECLAIMED._value.get() == before


async def test_two_dispatchers_never_claim_the_same_message(gw: RunningGateway) -> None:
    second = Dispatcher(gw.gateway.db, FAST_DISPATCH.model_copy(update={"claim_batch_size": 50}))
    await second.start()
    try:
        sent = await gw.call(
            "POST", "/v1/messages", {"to": [f"+1415556{n:04d}" for n in range(2000)], "body": "x"}
        )
        second.wake()
        await gw.wait_for_batch(sent.body["id"], timeout=60)
    finally:
        await second.stop()
    async with gw.gateway.db.read() as conn:
        per_message = (
            select(message_events.c.message_id, func.count().label("n"))
            .where(message_events.c.status == "sending")
            .group_by(message_events.c.message_id)
            .subquery()
        )
        counts = (await conn.execute(select(per_message.c.n, func.count()).group_by(per_message.c.n))).all()
    assert dict(counts) == {1: 2000}


async def test_receipt_before_send_result_is_kept_then_applied(gw: RunningGateway) -> None:
    await gw.gateway.dispatcher.stop()  # type: ignore[union-attr]
    sent = await gw.call("POST", "/v1/messages", {"to": "+14155550208", "body": "hi"})
    [message_id] = sent.body["message_ids"]
    channel_id = sent.body["channel_id"]
    db = gw.gateway.db
    early = [receipts.ReceiptUpdate(channel_id, "SBX-early", MessageStatus.DELIVERED)]
    assert await db.transact(lambda conn: receipts.apply_receipts(conn, early, now=now_ms())) == (0, 1)

    def send_and_reconcile(conn: Connection) -> int:
        [claimed] = queue.claim_due(
            conn,
            worker="w1",
            now=now_ms(),
            lease_until=now_ms() + 60_000,
            limit=1,
            skip_locked=not db.is_sqlite,
        )
        sent = queue.Outcome(claimed.id, MessageStatus.SENT, provider_message_id="SBX-early")
        queue.record_outcomes(conn, worker="w1", now=now_ms(), outcomes=[sent])
        return receipts.reconcile_pending_receipts(conn, now=now_ms())

    assert await db.transact(send_and_reconcile) == 1
    message = (await gw.call("GET", f"/v1/messages/{message_id}")).body
    assert message["status"] == "delivered"
    assert await db.transact(lambda conn: receipts.reconcile_pending_receipts(conn, now=now_ms())) == 0


async def test_a_kept_receipt_is_applied_with_its_sends_outcome(gw: RunningGateway) -> None:
    # A provider that calls back before the send's outcome is written: the outcome's write applies
    # the kept receipt at once, without waiting for a sweep.
    await gw.gateway.dispatcher.stop()  # type: ignore[union-attr]
    sent = await gw.call("POST", "/v1/messages", {"to": "+14155550213", "body": "hi"})
    [message_id] = sent.body["message_ids"]
    channel_id = sent.body["channel_id"]
    db = gw.gateway.db
    early = [receipts.ReceiptUpdate(channel_id, "SBX-early-2", MessageStatus.DELIVERED)]
    assert await db.transact(lambda conn: receipts.apply_receipts(conn, early, now=now_ms())) == (0, 1)

    def send(conn: Connection) -> None:
        [claimed] = queue.claim_due(
            conn,
            worker="w1",
            now=now_ms(),
            lease_until=now_ms() + 60_000,
            limit=1,
            skip_locked=not db.is_sqlite,
        )
        outcome = queue.Outcome(
            claimed.id, MessageStatus.SENT, provider_message_id="SBX-early-2", channel_id=channel_id
        )
        queue.record_outcomes(conn, worker="w1", now=now_ms(), outcomes=[outcome])

    await db.transact(send)
    message = (await gw.call("GET", f"/v1/messages/{message_id}")).body
    assert message["status"] == "delivered"
    assert [status for status, _ in await _statuses(gw, message_id)][-2:] == ["sent", "delivered"]
    assert await db.transact(lambda conn: receipts.reconcile_pending_receipts(conn, now=now_ms())) == 0


async def test_late_receipt_never_moves_a_status_backwards(gw: RunningGateway) -> None:
    sent = await gw.call("POST", "/v1/messages", {"to": "+14155550209", "body": "hi"})
    message = await gw.wait_for_status(sent.body["message_ids"][0], {"delivered"})
    late = [
        receipts.ReceiptUpdate(
            message["channel_id"], message["provider_message_id"], MessageStatus.UNDELIVERED
        )
    ]
    assert await gw.gateway.db.transact(lambda conn: receipts.apply_receipts(conn, late, now=now_ms())) == (
        0,
        0,
    )
    assert (await gw.call("GET", f"/v1/messages/{message['id']}")).body["status"] == "delivered"


async def test_scheduled_messages_survive_a_restart(
    gateway_factory: GatewayFactory, database_url_factory: UrlFactory
) -> None:
    url = await database_url_factory()

    async def same_database() -> str:
        return url

    first = await gateway_factory(same_database)
    send_at = (datetime.now(UTC) + timedelta(seconds=2)).isoformat()
    sent = await first.call(
        "POST", "/v1/messages", {"to": "+14155550210", "body": "later", "send_at": send_at}
    )
    await first.gateway.dispatcher.stop()  # type: ignore[union-attr]
    second = await gateway_factory(same_database)
    message = await second.wait_for_status(sent.body["message_ids"][0], {"delivered"}, timeout=10)
    assert message["body"] == "later"


async def test_slow_channel_does_not_hold_up_a_fast_one(
    gateway_factory: GatewayFactory, database_url_factory: UrlFactory
) -> None:
    gw = await gateway_factory(
        database_url_factory, dispatch=FAST_DISPATCH.model_copy(update={"channel_concurrency": 4})
    )
    await _channel(gw, "slow", latency_ms=1000)
    slow = await gw.call(
        "POST",
        "/v1/messages",
        {"to": [f"+1415557{n:04d}" for n in range(8)], "body": "s", "channel": "slow"},
    )
    fast = await gw.call("POST", "/v1/messages", {"to": "+14155550211", "body": "f"})
    await gw.wait_for_status(fast.body["message_ids"][0], {"delivered"}, timeout=5)
    # The slow channel's sends are all still in flight, yet the fast channel's went through.
    batch = await gw.call("GET", f"/v1/batches/{slow.body['id']}")
    assert batch.body["done"] == 0
