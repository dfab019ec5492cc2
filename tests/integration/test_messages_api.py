"""The messages API end to end on each backend: accept, dispatch, receipts, read back."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from support.gateway import RunningGateway


async def test_single_message_is_sent_and_delivered(gw: RunningGateway) -> None:
    sent = await gw.call("POST", "/v1/messages", {"to": "+27 83 000 0001", "body": "hello"})
    assert sent.status == 202, sent.body
    batch = sent.body
    assert batch["accepted"] == 1
    assert batch["invalid"] == [] and batch["duplicates"] == 0
    assert batch["encoding"] == "GSM-7" and batch["segments"] == 1
    [message_id] = batch["message_ids"]
    assert message_id.startswith("msg_") and batch["id"].startswith("bat_")

    message = await gw.wait_for_status(message_id, {"delivered"})
    assert message["to"] == "+27830000001"
    assert message["direction"] == "outbound"
    assert message["provider_message_id"].startswith("SBX")
    assert message["attempts"] == 1
    events = await gw.call("GET", f"/v1/messages/{message_id}/events")
    assert [e["status"] for e in events.body["data"]] == ["queued", "sending", "sent", "delivered"]
    assert all(e["at"].endswith("Z") for e in events.body["data"])


async def test_bulk_reports_invalid_and_duplicates_and_sends_the_rest(gw: RunningGateway) -> None:
    numbers = [f"+2783{n:07d}" for n in range(1, 1201)]
    inputs = [*numbers, "+27830000001", "0830000002", "not a number", "+999123"]
    sent = await gw.call(
        "POST",
        "/v1/messages",
        {"to": inputs, "body": "campaign", "default_country": "ZA", "priority": "bulk"},
    )
    assert sent.status == 202, sent.body
    assert sent.body["accepted"] == 1200
    assert sent.body["duplicates"] == 2
    assert {i["input"] for i in sent.body["invalid"]} == {"not a number", "+999123"}
    assert sent.body["message_ids"] is None  # over 1,000: paged instead
    done = await gw.wait_for_batch(sent.body["id"], timeout=60)
    assert done["status_counts"] == {"delivered": 1200}
    assert done["progress"] == 1.0

    seen: list[str] = []
    cursor = None
    while True:
        path = f"/v1/messages?batch_id={sent.body['id']}&limit=500" + (f"&cursor={cursor}" if cursor else "")
        page = await gw.call("GET", path)
        assert page.status == 200
        seen += [m["to"] for m in page.body["data"]]
        cursor = page.body["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(numbers)


async def test_personalised_messages_each_get_their_own_encoding(gw: RunningGateway) -> None:
    sent = await gw.call(
        "POST",
        "/v1/messages",
        {
            "body": "Hi {{name}}, your code is {{code}}",
            "recipients": [
                {"to": "+14155550101", "vars": {"name": "Ann", "code": 1234}},
                {"to": "+14155550102", "vars": {"name": "Zoë 😀", "code": 99}},
            ],
        },
    )
    assert sent.status == 202, sent.body
    assert sent.body["segments"] is None and sent.body["encoding"] is None
    first, second = sent.body["message_ids"]
    one = await gw.wait_for_status(first, {"delivered"})
    two = await gw.wait_for_status(second, {"delivered"})
    assert one["body"] == "Hi Ann, your code is 1234" and one["encoding"] == "GSM-7"
    assert two["body"] == "Hi Zoë 😀, your code is 99" and two["encoding"] == "UCS-2"

    explicit = await gw.call(
        "POST",
        "/v1/messages",
        {
            "messages": [
                {"to": "+14155550103", "body": "one"},
                {"to": "+14155550104", "body": "two"},
            ]
        },
    )
    assert explicit.status == 202 and explicit.body["accepted"] == 2


async def test_scheduled_message_waits_then_leaves_on_time(gw: RunningGateway) -> None:
    send_at = datetime.now(UTC) + timedelta(seconds=1.5)
    sent = await gw.call(
        "POST",
        "/v1/messages",
        {"to": "+14155550111", "body": "later", "send_at": send_at.isoformat()},
    )
    assert sent.status == 202, sent.body
    [message_id] = sent.body["message_ids"]
    assert sent.body["status_counts"] == {"scheduled": 1}
    listed = await gw.call("GET", "/v1/messages?status=scheduled")
    assert [m["id"] for m in listed.body["data"]] == [message_id]
    message = await gw.wait_for_status(message_id, {"sent", "delivered"}, timeout=5)
    events = await gw.call("GET", f"/v1/messages/{message_id}/events")
    sending = next(e for e in events.body["data"] if e["status"] == "sending")
    left = datetime.fromisoformat(sending["at"].replace("Z", "+00:00"))
    assert send_at <= left < send_at + timedelta(seconds=1), (send_at, left)
    assert message["send_at"] is not None


async def test_cancel_scheduled_message_and_batch(gw: RunningGateway) -> None:
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    sent = await gw.call(
        "POST",
        "/v1/messages",
        {"to": ["+14155550121", "+14155550122", "+14155550123"], "body": "x", "send_at": later},
    )
    first, *_ = sent.body["message_ids"]
    canceled = await gw.call("DELETE", f"/v1/messages/{first}")
    assert canceled.status == 200 and canceled.body["status"] == "canceled"
    again = await gw.call("DELETE", f"/v1/messages/{first}")
    assert again.status == 409 and again.body["error"]["code"] == "not_cancelable"
    rest = await gw.call("DELETE", f"/v1/batches/{sent.body['id']}")
    assert rest.body == {"id": sent.body["id"], "canceled": 2}
    batch = await gw.call("GET", f"/v1/batches/{sent.body['id']}")
    assert batch.body["status_counts"] == {"canceled": 3} and batch.body["done"] == 3


async def test_cancel_after_sending_is_a_conflict(gw: RunningGateway) -> None:
    sent = await gw.call("POST", "/v1/messages", {"to": "+14155550131", "body": "now"})
    [message_id] = sent.body["message_ids"]
    await gw.wait_for_status(message_id, {"delivered"})
    refused = await gw.call("DELETE", f"/v1/messages/{message_id}")
    assert refused.status == 409
    assert (await gw.call("GET", f"/v1/messages/{message_id}")).body["status"] == "delivered"


async def test_number_status_and_list_filters(gw: RunningGateway) -> None:
    sent = await gw.call("POST", "/v1/messages", {"to": "+14155550141", "body": "status me"})
    [message_id] = sent.body["message_ids"]
    await gw.wait_for_status(message_id, {"delivered"})
    status = await gw.call("GET", "/v1/numbers/+14155550141/status")
    assert status.status == 200
    assert status.body["status"] == "delivered" and status.body["message_id"] == message_id
    assert (await gw.call("GET", "/v1/numbers/+14155550199/status")).status == 404
    by_to = await gw.call("GET", "/v1/messages?to=%2B14155550141&direction=outbound&status=delivered")
    assert [m["id"] for m in by_to.body["data"]] == [message_id]
    future = (datetime.now(UTC) + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert (await gw.call("GET", f"/v1/messages?since={future}")).body["data"] == []


async def test_idempotency_key_replays_the_first_answer(gw: RunningGateway) -> None:
    request = {"to": "+14155550151", "body": "once"}
    headers = {"Idempotency-Key": "order-42"}
    first = await gw.call("POST", "/v1/messages", request, headers=headers)
    second = await gw.call("POST", "/v1/messages", request, headers=headers)
    assert first.status == second.status == 202
    assert first.body == second.body
    listed = await gw.call("GET", "/v1/messages?to=%2B14155550151")
    assert len(listed.body["data"]) == 1
    reused = await gw.call("POST", "/v1/messages", {"to": "+14155550152", "body": "other"}, headers=headers)
    assert reused.status == 422 and reused.body["error"]["code"] == "idempotency_key_reused"


async def test_concurrent_requests_with_one_idempotency_key_send_once(gw: RunningGateway) -> None:
    request = {"to": "+14155550161", "body": "race"}
    answers = await asyncio.gather(
        *(gw.call("POST", "/v1/messages", request, headers={"Idempotency-Key": "race-1"}) for _ in range(8))
    )
    assert {a.status for a in answers} == {202}
    assert len({a.body["id"] for a in answers}) == 1
    listed = await gw.call("GET", "/v1/messages?to=%2B14155550161")
    assert len(listed.body["data"]) == 1


async def test_high_priority_is_claimed_before_bulk(gw: RunningGateway) -> None:
    later = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
    bulk = await gw.call(
        "POST",
        "/v1/messages",
        {
            "to": [f"+1415555{n:04d}" for n in range(2000, 3200)],
            "body": "bulk",
            "priority": "bulk",
            "send_at": later,
        },
    )
    code = await gw.call(
        "POST",
        "/v1/messages",
        {"to": "+14155550171", "body": "code 1234", "priority": "high", "send_at": later},
    )
    [code_id] = code.body["message_ids"]
    await gw.wait_for_batch(bulk.body["id"], timeout=30)
    # The code left in the first claim: no bulk message was claimed before it.
    query = text(
        "SELECT min(e.at) FROM message_events e JOIN messages m ON m.id = e.message_id "
        "WHERE e.status = 'sending' AND m.batch_id = :batch"
    )
    async with gw.gateway.db.read() as conn:
        first_bulk = (await conn.execute(query, {"batch": bulk.body["id"]})).scalar_one()
        code_event = (
            await conn.execute(
                text("SELECT at FROM message_events WHERE status = 'sending' AND message_id = :m"),
                {"m": code_id},
            )
        ).scalar_one()
    assert code_event <= first_bulk


@pytest.mark.postgres
async def test_large_intake_refreshes_planner_statistics_on_postgres(
    gateway_factory: Callable[..., Awaitable[RunningGateway]], make_postgres_url: Callable[[], Awaitable[str]]
) -> None:
    gw = await gateway_factory(make_postgres_url)
    sent = await gw.call(
        "POST", "/v1/messages", {"to": [f"+2783{n:07d}" for n in range(10_000)], "body": "x"}
    )
    assert sent.status == 202 and sent.body["accepted"] == 10_000
    query = text("SELECT last_analyze FROM pg_stat_user_tables WHERE relname = 'messages'")
    deadline = asyncio.get_running_loop().time() + 20
    analyzed = None
    while analyzed is None and asyncio.get_running_loop().time() < deadline:
        async with gw.gateway.db.read() as conn:
            analyzed = (await conn.execute(query)).scalar_one()
        await asyncio.sleep(0.1)
    assert analyzed is not None


async def test_an_idempotency_key_can_be_reused_after_its_window(gw: RunningGateway) -> None:
    headers = {"Idempotency-Key": "daily-report"}
    first = await gw.call("POST", "/v1/messages", {"to": "+14155550181", "body": "monday"}, headers=headers)
    key_first = await gw.call("POST", "/v1/keys", {"name": "k"}, headers={"Idempotency-Key": "key-daily"})
    # Both answers age past the 24 h window.
    async with gw.gateway.db.write() as conn:
        await conn.execute(text("UPDATE idempotency_keys SET created_at = created_at - 90000000"))
    second = await gw.call("POST", "/v1/messages", {"to": "+14155550182", "body": "tuesday"}, headers=headers)
    assert second.status == 202, second.body
    assert second.body["id"] != first.body["id"]
    key_second = await gw.call("POST", "/v1/keys", {"name": "k2"}, headers={"Idempotency-Key": "key-daily"})
    assert key_second.status == 201 and key_second.body["id"] != key_first.body["id"]


async def test_the_sweeper_drops_expired_idempotency_keys(gw: RunningGateway) -> None:
    await gw.call(
        "POST", "/v1/messages", {"to": "+14155550183", "body": "x"}, headers={"Idempotency-Key": "old"}
    )
    async with gw.gateway.db.write() as conn:
        await conn.execute(text("UPDATE idempotency_keys SET created_at = created_at - 90000000"))
    deadline = asyncio.get_running_loop().time() + 5
    remaining = 1
    while remaining and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.2)
        async with gw.gateway.db.read() as conn:
            remaining = (await conn.execute(text("SELECT count(*) FROM idempotency_keys"))).scalar_one()
    assert remaining == 0
