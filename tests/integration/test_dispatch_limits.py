"""Dispatch on a real gateway: channel rate limits, provider batches and circuit breakers.

On PostgreSQL the gateway runs in scaled mode (limits in the real Redis, under a key prefix of
its own); on SQLite in embedded mode (limits in memory).
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from support.gateway import FAST_DISPATCH, GatewayFactory, RunningGateway, UrlFactory
from tidings.store.schema import message_events, messages


async def _gateway(factory: GatewayFactory, urls: UrlFactory, **overrides: Any) -> RunningGateway:
    url = await urls()

    async def same() -> str:
        return url

    if not url.startswith("sqlite"):
        overrides |= {"redis_url": "redis://127.0.0.1:6379/0", "redis_key_prefix": f"t-{uuid.uuid4().hex}"}
    return await factory(same, **overrides)


async def _channel(gw: RunningGateway, name: str, settings: dict[str, Any], **options: Any) -> str:
    row = await gw.create_channel(type="sandbox", name=name, settings=settings, **options)
    return str(row["id"])


async def _metric(gw: RunningGateway, name: str, labels: dict[str, str]) -> float:
    text = (await gw.call("GET", "/metrics", auth=False)).body
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return 0.0


@pytest.mark.alone  # a lower bound on the rate achieved
async def test_a_channel_is_held_to_its_rate_across_the_run(
    gateway_factory: GatewayFactory, database_url_factory: UrlFactory
) -> None:
    gw = await _gateway(gateway_factory, database_url_factory)
    await _channel(gw, "slow", {}, mps=10)
    sent = await gw.call(
        "POST",
        "/v1/messages",
        {"to": [f"+1415555{n:04d}" for n in range(400, 430)], "body": "hi", "channel": "slow"},
    )
    await gw.wait_for_batch(sent.body["id"], timeout=20)
    async with gw.gateway.db.read() as conn:
        rows = await conn.execute(
            select(message_events.c.at)
            .join(messages, messages.c.id == message_events.c.message_id)
            .where(messages.c.batch_id == sent.body["id"], message_events.c.status == "sent")
            .order_by(message_events.c.at)
        )
        sent_at = [row[0] for row in rows]
    assert len(sent_at) == 30
    busiest = max(sum(1 for t in sent_at if start <= t < start + 1000) for start in sent_at)
    assert busiest <= 11  # 10 per second, 10 % allowance for timestamp jitter
    rate = (len(sent_at) - 1) / ((sent_at[-1] - sent_at[0]) / 1000)
    assert 8 <= rate <= 11


async def test_messages_with_one_body_leave_in_provider_batches(
    gateway_factory: GatewayFactory, database_url_factory: UrlFactory
) -> None:
    gw = await _gateway(gateway_factory, database_url_factory)
    channel_id = await _channel(gw, "bulk", {}, max_batch_size=4)
    sent = await gw.call(
        "POST",
        "/v1/messages",
        {"to": [f"+1415555{n:04d}" for n in range(500, 510)], "body": "hi", "channel": "bulk"},
    )
    done = await gw.wait_for_batch(sent.body["id"])
    assert done["status_counts"] == {"delivered": 10}
    calls = "tidings_sandbox_provider_calls_total"
    assert await _metric(gw, calls, {"channel_id": channel_id, "call": "send_many"}) == 3  # 4 + 4 + 2
    assert await _metric(gw, calls, {"channel_id": channel_id, "call": "send"}) == 0
    page = await gw.call("GET", f"/v1/messages?batch_id={sent.body['id']}&limit=100")
    assert len({m["provider_message_id"] for m in page.body["data"]}) == 10


async def test_a_failing_channel_opens_its_circuit_and_its_messages_wait_queued(
    gateway_factory: GatewayFactory, database_url_factory: UrlFactory
) -> None:
    dispatch = FAST_DISPATCH.model_copy(
        update={"circuit_failure_threshold": 3, "circuit_cooldown_seconds": 60, "max_attempts": 10}
    )
    gw = await _gateway(gateway_factory, database_url_factory, dispatch=dispatch)
    channel_id = await _channel(gw, "down", {"failure_rate": 1.0})
    sent = await gw.call(
        "POST",
        "/v1/messages",
        {"to": [f"+1415555{n:04d}" for n in range(600, 606)], "body": "hi", "channel": "down"},
    )
    ids = sent.body["message_ids"]
    deadline = asyncio.get_running_loop().time() + 10
    while True:
        async with gw.gateway.db.read() as conn:
            waiting = set(
                (
                    await conn.execute(
                        select(message_events.c.message_id).where(
                            message_events.c.message_id.in_(ids), message_events.c.code == "circuit_open"
                        )
                    )
                ).scalars()
            )
        if waiting == set(ids):
            break
        assert asyncio.get_running_loop().time() < deadline, f"{len(waiting)} of 6 deferred"
        await asyncio.sleep(0.05)
    assert gw.gateway.dispatcher is not None and gw.gateway.dispatcher.is_open(channel_id)
    assert await _metric(gw, "tidings_channel_circuit_state", {"channel_id": channel_id}) == 2
    attempts = []
    for message_id in ids:
        message = (await gw.call("GET", f"/v1/messages/{message_id}")).body
        assert message["status"] == "queued"
        assert message["error"]["code"] == "circuit_open"
        attempts.append(message["attempts"])
    # Three sends failed and opened the circuit; waiting on it used no attempt of any message.
    assert max(attempts) == 1
    assert sum(attempts) >= 3


@pytest.mark.alone  # latency must not grow with a busy CPU
async def test_a_slow_provider_gets_more_calls_in_flight_than_the_floor(
    gateway_factory: GatewayFactory, database_url_factory: UrlFactory
) -> None:
    limits = {"channel_min_concurrency": 8, "channel_concurrency": 64}
    dispatch = FAST_DISPATCH.model_copy(update=limits)
    gw = await _gateway(gateway_factory, database_url_factory, dispatch=dispatch)
    channel_id = await _channel(gw, "far", {"latency_ms": 100})
    gauge = "tidings_channel_concurrency_limit"
    sent = await gw.call(
        "POST",
        "/v1/messages",
        {"to": [f"+1415556{n:04d}" for n in range(400)], "body": "hi", "channel": "far"},
    )
    done = await gw.wait_for_batch(sent.body["id"], timeout=60)
    assert done["status_counts"] == {"delivered": 400}
    # 8 at a time would have taken 5 s; the calls took 100 ms whatever their number, so the
    # limit doubled round by round up to the ceiling.
    assert await _metric(gw, gauge, {"channel_id": channel_id}) == 64
