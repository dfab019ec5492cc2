"""Twilio's webhooks from the native outbox, on each backend: status callbacks and SmsUrl posts in
Twilio's form, verified with the official SDK's ``RequestValidator`` (docs/twilio-compat.md).

The Twilio format is asked for by code only (``MessageService.send(callback_format=)``): the
Twilio surface's Messages create does it for a ``StatusCallback`` (the last test, through the
official SDK); the others call the service in the gateway's process, the rest over loopback HTTP.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from support.gateway import ADMIN_KEY, FAST_WEBHOOKS, GatewayFactory, RunningGateway, UrlFactory
from support.receiver import Received, Receiver
from support.twilio import TwilioClients, admin_credentials, sdk
from tidings.core.events import TWILIO_FORMAT
from tidings.core.tenancy import Principal
from tidings.features.compat.twilio.callbacks import message_sid
from tidings.features.messages.schemas import SendMessagesRequest
from tidings.store.schema import webhook_deliveries
from tidings.webhooks import verify_signature

FORM = "application/x-www-form-urlencoded"


async def _admin(gw: RunningGateway) -> tuple[Principal, str]:
    """The bootstrap admin as the service sees it, and its account's auth token."""
    me = await gw.call("GET", "/v1/accounts/me")
    assert me.status == 200, me.body
    return await gw.gateway.accounts.authenticate_key(ADMIN_KEY), str(me.body["auth_token"])


async def _send_twilio(gw: RunningGateway, principal: Principal, to: str, callback: str, **extra: Any) -> str:
    batch = await gw.gateway.messages.send(
        principal,
        SendMessagesRequest(to=to, body="hello", status_callback=callback, **extra),
        callback_format=TWILIO_FORMAT,
    )
    [message_id] = batch["message_ids"]
    return str(message_id)


def _form(request: Received) -> dict[str, str]:
    assert request.headers["Content-Type"] == FORM
    pairs = parse_qsl(request.body.decode(), keep_blank_values=True, strict_parsing=True)
    assert len({name for name, _ in pairs}) == len(pairs), pairs  # no repeated names
    return dict(pairs)


def _assert_signed(request: Received, url: str, token: str) -> dict[str, str]:
    """The request's form, after checking its X-Twilio-Signature as a Twilio handler would."""
    params = _form(request)
    signature = request.headers["X-Twilio-Signature"]
    assert RequestValidator(token).validate(url, params, signature)
    assert not RequestValidator(token + "x").validate(url, params, signature)
    assert not RequestValidator(token).validate(url + "&y=2", params, signature)
    assert not RequestValidator(token).validate(url, {**params, "To": "+10000000000"}, signature)
    return params


async def test_status_callbacks_are_twilio_forms_in_order_signed_with_the_auth_token(
    gateway_factory: GatewayFactory, database_url_factory: UrlFactory, receiver: Receiver
) -> None:
    gw = await gateway_factory(database_url_factory, webhooks=FAST_WEBHOOKS)
    admin, token = await _admin(gw)
    # A query string and a path, as handlers are often configured: both are signed as given.
    url = receiver.url + "/twilio/status?tenant=7"
    message_id = await _send_twilio(gw, admin, "+14155550101", url)

    await receiver.wait_until(lambda: len(receiver.delivered()) >= 3)
    await gw.wait_for_status(message_id, {"delivered"})

    requests = receiver.delivered()
    forms = [_assert_signed(r, url, token) for r in requests]
    # Not the initial `queued` (Twilio announces transitions); `sending` is, unlike natively.
    assert [f["MessageStatus"] for f in forms] == ["sending", "sent", "delivered"]
    sid = message_sid(message_id)
    sender = (await gw.call("GET", f"/v1/messages/{message_id}")).body["from"]
    for form in forms:
        expected = {
            "MessageSid": sid,
            "SmsSid": sid,
            "AccountSid": admin.account_id,
            "To": "+14155550101",
            "MessageStatus": form["MessageStatus"],
            "SmsStatus": form["MessageStatus"],
            "ApiVersion": "2010-04-01",
        }
        if sender is not None:
            expected["From"] = sender
        assert form == expected
    assert sid.startswith("SM") and len(sid) == 34 and int(sid[2:], 16) >= 0
    # Retries of one delivery keep its token; each delivery has its own.
    tokens = [r.headers["I-Twilio-Idempotency-Token"] for r in requests]
    assert len(set(tokens)) == 3
    assert all("Tidings-Signature" not in r.headers for r in requests)


async def test_failed_and_undelivered_carry_an_error_code_and_cancel_is_announced(
    gateway_factory: GatewayFactory, database_url_factory: UrlFactory, receiver: Receiver
) -> None:
    gw = await gateway_factory(
        database_url_factory,
        webhooks=FAST_WEBHOOKS,
        sandbox={"reject_numbers": ["+14155550666"], "undeliverable_numbers": ["+14155550777"]},
    )
    admin, token = await _admin(gw)
    failed_url = receiver.url + "/failed"
    undelivered_url = receiver.url + "/undelivered"
    canceled_url = receiver.url + "/canceled"
    failed = await _send_twilio(gw, admin, "+14155550666", failed_url)
    undelivered = await _send_twilio(gw, admin, "+14155550777", undelivered_url)
    later = datetime.now(UTC) + timedelta(days=1)
    scheduled = await _send_twilio(gw, admin, "+14155550101", canceled_url, send_at=later)
    canceled = await gw.call("DELETE", f"/v1/messages/{scheduled}")
    assert canceled.status == 200, canceled.body

    def arrived() -> bool:
        return (
            len(receiver.delivered("/failed")) >= 2
            and len(receiver.delivered("/undelivered")) >= 3
            and len(receiver.delivered("/canceled")) >= 1
        )

    await receiver.wait_until(arrived)

    failed_forms = [_assert_signed(r, failed_url, token) for r in receiver.delivered("/failed")]
    assert [f["MessageStatus"] for f in failed_forms] == ["sending", "failed"]
    assert "ErrorCode" not in failed_forms[0]
    assert failed_forms[1]["ErrorCode"] == "30005"  # the sandbox refuses it as an unknown handset
    assert failed_forms[1]["MessageSid"] == message_sid(failed)

    undelivered_forms = [
        _assert_signed(r, undelivered_url, token) for r in receiver.delivered("/undelivered")
    ]
    assert [f["MessageStatus"] for f in undelivered_forms] == ["sending", "sent", "undelivered"]
    assert ["ErrorCode" in f for f in undelivered_forms] == [False, False, True]
    assert undelivered_forms[2]["ErrorCode"] == "30003"  # unreachable handset
    assert undelivered_forms[2]["SmsStatus"] == "undelivered"
    assert undelivered_forms[2]["MessageSid"] == message_sid(undelivered)

    # A scheduled message is announced when canceled, never as `scheduled`.
    [canceled_form] = [_assert_signed(r, canceled_url, token) for r in receiver.delivered("/canceled")]
    assert canceled_form["MessageStatus"] == "canceled" and "ErrorCode" not in canceled_form
    assert canceled_form["MessageSid"] == message_sid(scheduled)


async def test_native_callbacks_and_the_account_webhook_stay_native_json(
    gateway_factory: GatewayFactory, database_url_factory: UrlFactory, receiver: Receiver
) -> None:
    gw = await gateway_factory(database_url_factory, webhooks=FAST_WEBHOOKS)
    admin, token = await _admin(gw)
    patched = await gw.call("PATCH", "/v1/accounts/me", {"webhook_url": receiver.url + "/account"})
    secret = patched.body["webhook_secret"]
    # A Twilio callback at the account's own URL is still posted (another contract), in its form.
    twilio_id = await _send_twilio(gw, admin, "+14155550102", receiver.url + "/account")
    native = await gw.call(
        "POST",
        "/v1/messages",
        {"to": "+14155550103", "body": "hi", "status_callback": receiver.url + "/native"},
    )
    assert native.status == 202, native.body
    [native_id] = native.body["message_ids"]

    def arrived() -> bool:
        account = receiver.delivered("/account")
        return len(receiver.delivered("/native")) >= 2 and len(account) >= 7

    await receiver.wait_until(arrived)

    native_posts = receiver.delivered("/native")
    assert [r.json["data"]["message"]["status"] for r in native_posts] == ["sent", "delivered"]
    for request in native_posts:
        assert request.headers["Content-Type"] == "application/json"
        assert verify_signature(secret, request.headers["Tidings-Signature"], request.body)
        assert "X-Twilio-Signature" not in request.headers
    at_account = receiver.delivered("/account")
    forms = [
        _assert_signed(r, receiver.url + "/account", token)
        for r in at_account
        if r.headers["Content-Type"] == FORM
    ]
    assert [f["MessageStatus"] for f in forms] == ["sending", "sent", "delivered"]
    assert {f["MessageSid"] for f in forms} == {message_sid(twilio_id)}
    events = [r.json for r in at_account if r.headers["Content-Type"] == "application/json"]
    assert sorted((e["data"]["message"]["id"], e["data"]["message"]["status"]) for e in events) == sorted(
        [(twilio_id, "sent"), (twilio_id, "delivered"), (native_id, "sent"), (native_id, "delivered")]
    )
    assert len(at_account) == 7


async def test_inbound_messages_are_posted_to_the_sms_url_in_twilio_form(
    gateway_factory: GatewayFactory, database_url_factory: UrlFactory, receiver: Receiver
) -> None:
    gw = await gateway_factory(database_url_factory, webhooks=FAST_WEBHOOKS)
    admin, token = await _admin(gw)
    sms_url = receiver.url + "/sms?from=tidings"
    patched = await gw.call("PATCH", "/v1/accounts/me", {"twilio_sms_url": sms_url})
    assert patched.status == 200, patched.body
    assert patched.body["twilio_sms_url"] == sms_url and patched.body["webhook_url"] is None
    assert "webhook_secret" not in patched.body  # the SmsUrl is signed with the auth token
    assert (await gw.call("GET", "/v1/accounts/me")).body["twilio_sms_url"] == sms_url
    bad = await gw.call("PATCH", "/v1/accounts/me", {"twilio_sms_url": "ftp://example.com/x"})
    assert bad.status == 422 and bad.body["error"]["field"] == "twilio_sms_url", bad.body

    replied = await gw.call(
        "POST", "/v1/sandbox/handsets/+14155550111/messages", {"to": "+14155550999", "body": "Hi there, é"}
    )
    assert replied.status in (200, 201, 202), replied.body
    await receiver.wait_until(lambda: len(receiver.delivered("/sms")) >= 1)

    [request] = receiver.delivered("/sms")
    form = _assert_signed(request, sms_url, token)
    listed = await gw.call("GET", "/v1/messages")
    [inbound] = [m for m in listed.body["data"] if m["from"] == "+14155550111"]
    sid = message_sid(inbound["id"])
    assert form == {
        "MessageSid": sid,
        "SmsSid": sid,
        "SmsMessageSid": sid,
        "AccountSid": admin.account_id,
        "From": "+14155550111",
        "To": "+14155550999",
        "Body": "Hi there, é",
        "NumMedia": "0",
        "NumSegments": "1",
        "SmsStatus": "received",
        "ApiVersion": "2010-04-01",
    }

    # Cleared: the next inbound message goes nowhere.
    cleared = await gw.call("PATCH", "/v1/accounts/me", {"twilio_sms_url": None})
    assert cleared.status == 200 and cleared.body["twilio_sms_url"] is None
    await gw.call(
        "POST", "/v1/sandbox/handsets/+14155550112/messages", {"to": "+14155550999", "body": "again"}
    )
    async with gw.gateway.db.read() as conn:
        count = (await conn.execute(select(func.count()).select_from(webhook_deliveries))).scalar_one()
    assert count == 1


async def test_a_subaccounts_callbacks_are_signed_with_its_own_token(
    gateway_factory: GatewayFactory, database_url_factory: UrlFactory, receiver: Receiver
) -> None:
    gw = await gateway_factory(database_url_factory, webhooks=FAST_WEBHOOKS)
    _, parent_token = await _admin(gw)
    created = await gw.call("POST", "/v1/accounts", {"name": "child"})
    assert created.status == 201, created.body
    child_id, child_token = created.body["id"], created.body["auth_token"]
    child = await gw.gateway.accounts.authenticate_basic(child_id, child_token)
    url = receiver.url + "/child"
    await _send_twilio(gw, child, "+14155550104", url)
    await receiver.wait_until(lambda: len(receiver.delivered()) >= 3)
    for request in receiver.delivered():
        params = _assert_signed(request, url, child_token)
        assert params["AccountSid"] == child_id
        assert not RequestValidator(parent_token).validate(url, params, request.headers["X-Twilio-Signature"])


async def test_the_sdks_status_callback_is_posted_in_twilio_form(
    gateway_factory: GatewayFactory,
    database_url_factory: UrlFactory,
    receiver: Receiver,
    twilio_clients: TwilioClients,
) -> None:
    gw = await gateway_factory(database_url_factory, webhooks=FAST_WEBHOOKS)
    admin = await admin_credentials(gw)
    client = twilio_clients(gw, admin.account_sid, admin.auth_token)
    url = receiver.url + "/sdk/status"
    sent = await sdk(
        client.messages.create, to="+14155550105", from_="+14155559999", body="hi", status_callback=url
    )
    scheduled = await sdk(
        client.messages.create,
        to="+14155550106",
        from_="+14155559999",
        body="later",
        status_callback=url,
        schedule_type="fixed",
        send_at=datetime.now(UTC) + timedelta(days=1),
    )
    assert scheduled.status == "scheduled"
    await sdk(client.messages(scheduled.sid).update, status="canceled")
    # Without a StatusCallback a Twilio-surface message queues no delivery.
    await sdk(client.messages.create, to="+14155550107", from_="+14155559999", body="quiet")

    await receiver.wait_until(lambda: len(receiver.delivered()) >= 4)

    forms = [_assert_signed(r, url, admin.auth_token) for r in receiver.delivered()]
    by_sid: dict[str, list[str]] = {}
    for form in forms:
        assert form["AccountSid"] == admin.account_sid and form["From"] == "+14155559999"
        by_sid.setdefault(form["MessageSid"], []).append(form["MessageStatus"])
    assert by_sid == {sent.sid: ["sending", "sent", "delivered"], scheduled.sid: ["canceled"]}
    async with gw.gateway.db.read() as conn:
        rows = (await conn.execute(select(webhook_deliveries.c.format, webhook_deliveries.c.url))).all()
    assert sorted(rows) == [("twilio", url)] * 4
