"""Signed event webhooks from the outbox, on each backend: signatures, status callbacks, retries in
per-message order, giving up, restarts, and nothing queued when nobody listens."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from support.gateway import (
    ADMIN_KEY,
    FAST_WEBHOOKS,
    GatewayFactory,
    RunningGateway,
    UrlFactory,
    start_gateway,
)
from support.receiver import Received, Receiver
from tidings.config import Settings
from tidings.core.clock import now_ms
from tidings.features.messages.schemas import SendMessagesRequest
from tidings.metrics import WEBHOOK_DELIVERIES
from tidings.runtime import Gateway
from tidings.store import outbox
from tidings.store.migrate import upgrade
from tidings.store.schema import account_webhooks, webhook_deliveries
from tidings.webhooks import verify_signature


async def _set_webhook(gw: RunningGateway, url: str, account: str = "me", key: str | None = None) -> str:
    """Point the account's webhook at ``url``; return its signing secret (shown this once)."""
    patched = await gw.call("PATCH", f"/v1/accounts/{account}", {"webhook_url": url}, key=key)
    assert patched.status == 200, patched.body
    assert patched.body["webhook_url"] == url
    secret = patched.body["webhook_secret"]
    assert secret.startswith("whsec_")
    return str(secret)


async def _send(gw: RunningGateway, to: str | list[str], **extra: Any) -> list[str]:
    sent = await gw.call("POST", "/v1/messages", {"to": to, "body": "hello", **extra})
    assert sent.status == 202, sent.body
    return list(sent.body["message_ids"])


def _tomorrow() -> str:
    return (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _statuses_by_message(requests: list[Received]) -> dict[str, list[str]]:
    seen: dict[str, list[str]] = {}
    for request in requests:
        message = request.json["data"]["message"]
        seen.setdefault(message["id"], []).append(message["status"])
    return seen


async def _delivery_rows(gw: RunningGateway) -> list[dict[str, Any]]:
    async with gw.gateway.db.read() as conn:
        rows = await conn.execute(select(webhook_deliveries).order_by(webhook_deliveries.c.id))
        return [dict(r._mapping) for r in rows]


async def _wait_rows(
    gw: RunningGateway, done: Callable[[list[dict[str, Any]]], bool], *, timeout: float = 15.0
) -> list[dict[str, Any]]:
    """The outbox rows once ``done(rows)`` holds (results are written a moment after the POST)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        rows = await _delivery_rows(gw)
        if done(rows):
            return rows
        assert asyncio.get_running_loop().time() < deadline, rows
        await asyncio.sleep(0.05)


async def test_status_events_arrive_signed_and_verifiable(
    gateway_factory: GatewayFactory, database_url_factory: UrlFactory, receiver: Receiver
) -> None:
    gw = await gateway_factory(database_url_factory, webhooks=FAST_WEBHOOKS)
    secret = await _set_webhook(gw, receiver.url + "/hooks")
    [message_id] = await _send(gw, "+14155550100", metadata={"order": 7})

    await receiver.wait_until(lambda: len(receiver.delivered()) >= 2)

    first, second = receiver.delivered()
    for request in (first, second):
        assert verify_signature(secret, request.headers["Tidings-Signature"], request.body)
        assert not verify_signature(secret, request.headers["Tidings-Signature"], request.body + b" ")
        assert not verify_signature("whsec_wrong", request.headers["Tidings-Signature"], request.body)
        assert request.headers["Content-Type"] == "application/json"
        assert request.headers["Tidings-Event-Id"] == request.json["id"]
        assert request.headers["Tidings-Event-Type"] == "message.status"
        assert request.path == "/hooks"
    assert first.json["type"] == "message.status"
    assert first.json["id"].startswith("evt_") and first.json["id"] != second.json["id"]
    sent, delivered = first.json["data"]["message"], second.json["data"]["message"]
    assert (sent["id"], sent["status"]) == (message_id, "sent")
    assert (delivered["id"], delivered["status"]) == (message_id, "delivered")
    assert sent["to"] == "+14155550100" and sent["metadata"] == {"order": 7}
    assert sent["error"] is None and sent["provider_message_id"]
    # The message as the API shows it, at the time of each event.
    fetched = (await gw.call("GET", f"/v1/messages/{message_id}")).body
    assert delivered == fetched
    assert first.json["created_at"] == sent["updated_at"]


async def test_inbound_messages_are_announced_as_received(
    gateway_factory: GatewayFactory, database_url_factory: UrlFactory, receiver: Receiver
) -> None:
    gw = await gateway_factory(database_url_factory, webhooks=FAST_WEBHOOKS)
    secret = await _set_webhook(gw, receiver.url + "/in")
    replied = await gw.call(
        "POST", "/v1/sandbox/handsets/+14155550111/messages", {"to": "+14155550999", "body": "STOPPING BY"}
    )
    assert replied.status in (200, 201, 202), replied.body

    await receiver.wait_until(lambda: len(receiver.delivered()) >= 1)

    [event] = receiver.delivered()
    assert verify_signature(secret, event.headers["Tidings-Signature"], event.body)
    assert event.json["type"] == "message.received"
    message = event.json["data"]["message"]
    assert message["direction"] == "inbound" and message["status"] == "received"
    assert (message["from"], message["body"]) == ("+14155550111", "STOPPING BY")


async def test_status_callback_receives_events_signed_with_the_account_secret(
    gateway_factory: GatewayFactory, database_url_factory: UrlFactory, receiver: Receiver
) -> None:
    gw = await gateway_factory(database_url_factory, webhooks=FAST_WEBHOOKS)
    rotated = await gw.call("POST", "/v1/accounts/me/webhook-secret")
    assert rotated.status == 200 and rotated.body["webhook_url"] is None
    secret = rotated.body["webhook_secret"]
    [only_callback] = await _send(gw, "+14155550101", status_callback=receiver.url + "/cb")
    await receiver.wait_until(lambda: len(receiver.delivered("/cb")) >= 2)

    assert _statuses_by_message(receiver.delivered()) == {only_callback: ["sent", "delivered"]}
    for request in receiver.delivered():
        assert verify_signature(secret, request.headers["Tidings-Signature"], request.body)

    # With an account webhook too, both URLs hear every event; the same URL twice hears it once.
    await gw.call("PATCH", "/v1/accounts/me", {"webhook_url": receiver.url + "/account"})
    [both] = await _send(gw, "+14155550102", status_callback=receiver.url + "/cb")
    [same] = await _send(gw, "+14155550103", status_callback=receiver.url + "/account")
    await receiver.wait_until(
        lambda: len(receiver.delivered("/cb")) >= 4 and len(receiver.delivered("/account")) >= 4
    )
    await asyncio.sleep(0.3)  # a duplicate, if any were queued, would have arrived by now
    assert _statuses_by_message(receiver.delivered("/cb")) == {
        only_callback: ["sent", "delivered"],
        both: ["sent", "delivered"],
    }
    assert _statuses_by_message(receiver.delivered("/account")) == {
        both: ["sent", "delivered"],
        same: ["sent", "delivered"],
    }


async def test_a_failing_receiver_gets_retries_and_every_event_in_order(
    gateway_factory: GatewayFactory, database_url_factory: UrlFactory, receiver: Receiver
) -> None:
    gw = await gateway_factory(database_url_factory, webhooks=FAST_WEBHOOKS)
    await _set_webhook(gw, receiver.url + "/flaky")
    receiver.fail_first = 7
    retried_before = WEBHOOK_DELIVERIES.labels("retried")._value.get()
    ids = await _send(gw, [f"+1415555{n:04d}" for n in range(120, 126)])

    await receiver.wait_until(lambda: len(receiver.delivered()) >= 2 * len(ids), timeout=30)

    assert _statuses_by_message(receiver.delivered()) == {i: ["sent", "delivered"] for i in ids}
    assert len(receiver.requests) == 2 * len(ids) + 7
    assert WEBHOOK_DELIVERIES.labels("retried")._value.get() - retried_before >= 7
    # In order per message: the delivered event was never even tried before sent had landed.
    for message_id in ids:
        attempts = [r for r in receiver.requests if r.json["data"]["message"]["id"] == message_id]
        first_delivered_try = next(
            n for n, r in enumerate(attempts) if r.json["data"]["message"]["status"] == "delivered"
        )
        sent_tries = [r for r in attempts if r.json["data"]["message"]["status"] == "sent"]
        assert sent_tries[-1].answered == 204
        assert all(r.json["data"]["message"]["status"] == "sent" for r in attempts[:first_delivered_try])
        # A retry resends the same event with the same body; only the signature's time moves.
        assert len({r.body for r in sent_tries}) == 1
    rows = await _wait_rows(gw, lambda rows: {r["status"] for r in rows} == {"delivered"})
    assert len(rows) == 2 * len(ids)
    assert sum(r["attempts"] for r in rows) == 2 * len(ids) + 7


async def test_deliveries_fail_for_good_after_the_retry_window(
    gateway_factory: GatewayFactory, database_url_factory: UrlFactory, receiver: Receiver
) -> None:
    # Long enough for the first delivery's retries on a loaded machine (at 0.4 s one CI run saw the
    # window close after a single, late first attempt), short enough to end the test quickly.
    window = FAST_WEBHOOKS.model_copy(update={"give_up_after_seconds": 1.5})
    gw = await gateway_factory(database_url_factory, webhooks=window)
    await _set_webhook(gw, receiver.url + "/down")
    receiver.fail_all = True
    failed_before = WEBHOOK_DELIVERIES.labels("failed")._value.get()
    await _send(gw, "+14155550130")

    rows = await _wait_rows(gw, lambda rows: len(rows) == 2 and all(r["status"] == "failed" for r in rows))

    # The second event waited behind the first, so it may have had a single try before the window closed.
    assert rows[0]["attempts"] >= 2 and rows[1]["attempts"] >= 1
    assert all(r["last_error"] == "HTTP 500: receiver says no" for r in rows)
    assert WEBHOOK_DELIVERIES.labels("failed")._value.get() - failed_before == 2
    attempts_then = len(receiver.requests)
    await asyncio.sleep(0.3)
    assert len(receiver.requests) == attempts_then


async def test_pending_deliveries_survive_a_restart(
    database_url_factory: UrlFactory, receiver: Receiver, tmp_path: Path
) -> None:
    url = await database_url_factory()
    options: dict[str, Any] = {"webhooks": FAST_WEBHOOKS, "secret_key": "the-same-instance-secret"}
    server, task, first = await start_gateway(url, tmp_path / "first", **options)
    try:
        secret = await _set_webhook(first, receiver.url + "/later")
        receiver.fail_all = True
        ids = await _send(first, [f"+1415555{n:04d}" for n in range(140, 145)])
        # Every message reaches its final status here; only their webhooks are left pending.
        for message_id in ids:
            await first.wait_for_status(message_id, {"delivered"})
        await receiver.wait_until(lambda: len(receiver.requests) >= 3)
    finally:
        await first.session.close()
        server.should_exit = True
        await asyncio.wait_for(task, 30)

    receiver.fail_all = False
    server, task, second = await start_gateway(url, tmp_path / "second", **options)
    try:
        await receiver.wait_until(lambda: len(receiver.delivered()) >= 2 * len(ids), timeout=30)
        assert _statuses_by_message(receiver.delivered()) == {i: ["sent", "delivered"] for i in ids}
        assert len({r.event_id for r in receiver.delivered()}) == 2 * len(ids)
        for request in receiver.delivered():
            assert verify_signature(secret, request.headers["Tidings-Signature"], request.body)
        await _wait_rows(second, lambda rows: {r["status"] for r in rows} == {"delivered"})
    finally:
        await second.session.close()
        server.should_exit = True
        await asyncio.wait_for(task, 30)


async def test_nothing_is_queued_when_no_webhook_is_configured(
    gateway_factory: GatewayFactory, database_url_factory: UrlFactory
) -> None:
    gw = await gateway_factory(database_url_factory, webhooks=FAST_WEBHOOKS)
    sent = await gw.call(
        "POST", "/v1/messages", {"to": [f"+1415555{n:04d}" for n in range(150, 250)], "body": "x"}
    )
    await gw.wait_for_batch(sent.body["id"])
    scheduled = await _send(gw, "+14155550251", send_at=_tomorrow())
    assert (await gw.call("DELETE", f"/v1/messages/{scheduled[0]}")).status == 200

    async with gw.gateway.db.read() as conn:
        count = (await conn.execute(select(func.count()).select_from(webhook_deliveries))).scalar_one()
        settings = (await conn.execute(select(func.count()).select_from(account_webhooks))).scalar_one()
    assert (count, settings) == (0, 0)


async def test_cancel_is_announced(
    gateway_factory: GatewayFactory, database_url_factory: UrlFactory, receiver: Receiver
) -> None:
    gw = await gateway_factory(database_url_factory, webhooks=FAST_WEBHOOKS)
    await _set_webhook(gw, receiver.url + "/cancel")
    [message_id] = await _send(gw, "+14155550260", send_at=_tomorrow())
    assert (await gw.call("DELETE", f"/v1/messages/{message_id}")).status == 200
    await receiver.wait_until(lambda: len(receiver.delivered()) >= 1)
    assert _statuses_by_message(receiver.delivered()) == {message_id: ["canceled"]}


async def test_webhook_secret_is_shown_only_when_made_and_never_logged(
    gw: RunningGateway, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    patched = await gw.call("PATCH", "/v1/accounts/me", {"webhook_url": receiver.url + "/a"}, headers={})
    first_secret = patched.body["webhook_secret"]
    again = await gw.call("PATCH", "/v1/accounts/me", {"webhook_url": receiver.url + "/b"})
    assert again.status == 200 and "webhook_secret" not in again.body
    rotated = await gw.call("POST", "/v1/accounts/me/webhook-secret", headers={"Idempotency-Key": "rot-1"})
    replayed = await gw.call("POST", "/v1/accounts/me/webhook-secret", headers={"Idempotency-Key": "rot-1"})
    second_secret = rotated.body["webhook_secret"]
    assert second_secret != first_secret and replayed.body["webhook_secret"] == second_secret
    await _send(gw, "+14155550270")
    await receiver.wait_until(lambda: len(receiver.delivered()) >= 2)

    shown = [
        (await gw.call("GET", "/v1/accounts/me")).body,
        (await gw.call("GET", f"/v1/accounts/{patched.body['id']}")).body,
        (await gw.call("GET", "/v1/accounts")).body,
    ]
    for body in shown:
        assert first_secret not in str(body) and second_secret not in str(body)
    assert shown[0]["webhook_url"] == receiver.url + "/b"
    async with gw.gateway.db.read() as conn:
        stored = [tuple(r) for r in await conn.execute(select(account_webhooks))]
        from tidings.store.schema import idempotency_keys

        answers = [r[0] for r in await conn.execute(select(idempotency_keys.c.response_body))]
    assert second_secret not in str(stored) and second_secret not in str(answers)
    for request in receiver.delivered():
        assert second_secret not in str(request.headers) and second_secret.encode() not in request.body
    logged = caplog.text + str([r.__dict__ for r in caplog.records])
    assert first_secret not in logged and second_secret not in logged


async def test_a_dead_workers_lease_runs_out_and_its_delivery_goes_out(
    database_url_factory: UrlFactory, receiver: Receiver, tmp_path: Path
) -> None:
    url = await database_url_factory()
    await upgrade(url)
    settings = Settings(
        database_url=url,
        bootstrap_key=ADMIN_KEY,
        data_dir=tmp_path / "data",
        number_workers=0,
        secret_key="the-same-instance-secret",
        webhooks=FAST_WEBHOOKS,
    )
    # An API-only process: it writes the outbox row but delivers nothing.
    api = Gateway(settings, run_dispatcher=False)
    await api.start()
    try:
        assert api.deliverer is None
        admin = await api.accounts.authenticate_key(ADMIN_KEY)
        await api.accounts.update_account(
            admin, admin.account_id, name=None, webhook_url=receiver.url + "/lease", set_url=True
        )
        batch = await api.messages.send(
            admin,
            SendMessagesRequest(to="+14155550280", body="x", send_at=datetime.now(UTC) + timedelta(days=1)),
        )
        [message_id] = batch["message_ids"]
        await api.messages.cancel(admin, message_id)
        # A worker claims it and dies before posting: its lease is all that is left of it.
        now = now_ms()
        [claimed] = await api.db.transact(
            lambda conn: outbox.claim_due(
                conn,
                worker="dead",
                now=now,
                lease_until=now + 400,
                limit=10,
                skip_locked=not api.db.is_sqlite,
            )
        )
    finally:
        await api.stop()

    server, task, worker = await start_gateway(
        url, tmp_path / "worker", **{"webhooks": FAST_WEBHOOKS, "secret_key": "the-same-instance-secret"}
    )
    try:
        await receiver.wait_until(lambda: len(receiver.delivered()) >= 1)
        assert _statuses_by_message(receiver.delivered()) == {message_id: ["canceled"]}
        [row] = await _wait_rows(worker, lambda rows: rows[0]["status"] == "delivered")
        assert row["id"] == claimed.id and row["attempts"] == 2
    finally:
        await worker.session.close()
        server.should_exit = True
        await asyncio.wait_for(task, 30)
