"""Twilio's Messages resource driven by the official ``twilio`` SDK, unmodified, against a running
gateway (and raw HTTP for the exact wire shapes): messages sent through it are native messages."""

from __future__ import annotations

import asyncio
import base64
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from support.gateway import RunningGateway
from support.twilio import Credentials, TwilioClients, admin_credentials, sdk
from tidings.features.compat.twilio.sids import from_sid, to_sid

API = "/twilio/api/2010-04-01"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def basic(creds: Credentials) -> dict[str, str]:
    token = base64.b64encode(f"{creds.account_sid}:{creds.auth_token}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


async def wait_for_status(client: Client, sid: str, statuses: set[str], timeout: float = 10) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        message = await sdk(client.messages(sid).fetch)
        if message.status in statuses:
            return message
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{sid} stayed {message.status}, wanted {statuses}")
        await asyncio.sleep(0.05)


async def refused(call: Any, *args: Any, **kwargs: Any) -> TwilioRestException:
    with pytest.raises(TwilioRestException) as caught:
        await sdk(call, *args, **kwargs)
    return caught.value


async def test_send_fetch_and_deliver(gw: RunningGateway, twilio_clients: TwilioClients) -> None:
    admin = await admin_credentials(gw)
    client = twilio_clients(gw, admin.account_sid, admin.auth_token)
    sent = await sdk(client.messages.create, to="+14155550100", from_="+14155559999", body="Hello there")
    assert sent.sid.startswith("SM") and len(sent.sid) == 34
    assert (sent.status, sent.direction, sent.to, sent.from_) == (
        "queued",
        "outbound-api",
        "+14155550100",
        "+14155559999",
    )
    assert sent.account_sid == admin.account_sid and sent.num_segments == "1" and sent.num_media == "0"
    assert sent.error_code is None and sent.messaging_service_sid is None and sent.api_version == "2010-04-01"
    assert sent.date_created is not None and sent.date_created.tzinfo is not None and sent.date_sent is None
    assert sent.uri == f"/2010-04-01/Accounts/{admin.account_sid}/Messages/{sent.sid}.json"

    delivered = await wait_for_status(client, sent.sid, {"delivered"})
    for field in ("sid", "account_sid", "from_", "to", "body", "num_segments", "date_created", "uri"):
        assert getattr(delivered, field) == getattr(sent, field), field  # create answered it as stored
    assert delivered.body == "Hello there" and delivered.date_sent is not None
    # The same message natively: the surface sent it through the native path.
    native = await gw.call("GET", f"/v1/messages/{from_sid(sent.sid, 'SM', 'msg')}")
    assert (
        native.status == 200 and native.body["status"] == "delivered" and native.body["body"] == "Hello there"
    )
    assert to_sid("SM", native.body["id"]) == sent.sid


async def test_list_pages_past_one_page_with_filters(
    gw: RunningGateway, twilio_clients: TwilioClients
) -> None:
    admin = await admin_credentials(gw)
    client = twilio_clients(gw, admin.account_sid, admin.auth_token)
    sids = []
    for n in range(5):
        sent = await sdk(client.messages.create, to="+14155550111", from_="+14155559998", body=f"number {n}")
        sids.append(sent.sid)
    other = await sdk(client.messages.create, to="+14155550112", body="someone else")

    listed = await sdk(client.messages.list, to="+14155550111", page_size=2)
    assert [m.sid for m in listed] == sids[::-1]  # newest first, across three pages
    assert [m.sid for m in await sdk(client.messages.list, to="+14155550111", limit=3, page_size=2)] == sids[
        :1:-1
    ]
    from_filter = await sdk(client.messages.list, from_="+14155559998")
    assert {m.sid for m in from_filter} == set(sids)
    today = datetime.now(UTC)
    assert other.sid in {m.sid for m in await sdk(client.messages.list, date_sent=today.date())}
    assert await sdk(client.messages.list, date_sent_before=today - timedelta(days=2)) == []
    assert len(await sdk(client.messages.list, date_sent_after=today - timedelta(days=1))) == 6


async def test_schedule_and_cancel(gw: RunningGateway, twilio_clients: TwilioClients) -> None:
    admin = await admin_credentials(gw)
    client = twilio_clients(gw, admin.account_sid, admin.auth_token)
    at = (datetime.now(UTC) + timedelta(hours=1)).replace(microsecond=0)
    scheduled = await sdk(
        client.messages.create,
        to="+14155550120",
        from_="+14155559997",
        body="later",
        send_at=at,
        schedule_type="fixed",
    )
    assert scheduled.status == "scheduled"
    native = await gw.call("GET", f"/v1/messages/{from_sid(scheduled.sid, 'SM', 'msg')}")
    assert native.body["status"] == "scheduled" and native.body["send_at"].startswith(
        at.strftime("%Y-%m-%dT%H:%M:%S")
    )
    canceled = await sdk(client.messages(scheduled.sid).update, status="canceled")
    assert canceled.status == "canceled"
    assert (await sdk(client.messages(scheduled.sid).fetch)).status == "canceled"
    again = await refused(client.messages(scheduled.sid).update, status="canceled")
    assert again.status == 400 and "canceled" in again.msg

    now = await sdk(client.messages.create, to="+14155550121", body="now")
    await wait_for_status(client, now.sid, {"delivered"})
    late = await refused(client.messages(now.sid).update, status="canceled")
    assert late.status == 400 and late.code == 21200
    assert (
        await refused(client.messages.create, to="+14155550122", body="x", schedule_type="fixed")
    ).code == 35111
    bad_type = await refused(
        client.messages.create, to="+14155550122", body="x", send_at=at, schedule_type="later"
    )
    assert bad_type.code == 35126
    past = await refused(
        client.messages.create,
        to="+14155550122",
        body="x",
        send_at=at - timedelta(days=1),
        schedule_type="fixed",
    )
    assert past.code == 35115 and past.status == 400
    too_far = await refused(
        client.messages.create,
        to="+14155550122",
        body="x",
        send_at=at + timedelta(days=40),
        schedule_type="fixed",
    )
    assert too_far.code == 35115


async def test_twilios_error_codes(gw: RunningGateway, twilio_clients: TwilioClients) -> None:
    admin = await admin_credentials(gw)
    client = twilio_clients(gw, admin.account_sid, admin.auth_token)
    # Before the first send: whether an account has opt-outs is remembered for a few seconds.
    opted = await gw.call("POST", "/v1/opt-outs", {"address": "+14155550131"})
    assert opted.status == 201, opted.body
    invalid_to = await refused(client.messages.create, to="not a number", from_="+14155559996", body="x")
    assert (invalid_to.status, invalid_to.code) == (400, 21211)
    assert (await refused(client.messages.create, to="+14155550130", from_="+14155559996")).code == 21602
    assert (await refused(client.messages.create, to="+14155550130", body="")).code == 21602
    assert (await refused(client.messages.create, to="+14155550130", body="x" * 1601)).code == 21617
    messaging_service = await refused(
        client.messages.create, to="+14155550130", body="x", messaging_service_sid="MG" + "0" * 32
    )
    assert messaging_service.code == 20001 and "MessagingServiceSid" in messaging_service.msg
    for option in ({"max_price": 0.5}, {"media_url": ["https://example.com/a.png"]}, {"attempt": 2}):
        unsupported = await refused(client.messages.create, to="+14155550130", body="x", **option)
        assert unsupported.status == 400 and unsupported.code == 20001, option

    stopped = await refused(client.messages.create, to="+14155550131", from_="+14155559996", body="x")
    assert (stopped.status, stopped.code) == (400, 21610)

    missing = await refused(client.messages("SM" + "0" * 32).fetch)
    assert (missing.status, missing.code) == (404, 20404)
    assert (await refused(client.messages("SMnot-a-sid").fetch)).code == 20404
    wrong = twilio_clients(gw, admin.account_sid, "not-the-token")
    denied = await refused(wrong.messages.create, to="+14155550130", body="x")
    assert (denied.status, denied.code) == (401, 20003)
    listed = await gw.call("GET", "/v1/messages?to=%2B14155550130")
    assert listed.body["data"] == []  # none of the refusals sent anything


async def test_subaccounts_send_with_their_own_credentials_and_see_only_their_own(
    gw: RunningGateway, twilio_clients: TwilioClients
) -> None:
    admin = await admin_credentials(gw)
    parent = twilio_clients(gw, admin.account_sid, admin.auth_token)
    a = await sdk(parent.api.accounts.create, friendly_name="A")
    b = await sdk(parent.api.accounts.create, friendly_name="B")
    tenant_a = twilio_clients(gw, a.sid, a.auth_token)
    tenant_b = twilio_clients(gw, b.sid, b.auth_token)
    from_parent = await sdk(parent.messages.create, to="+14155550140", body="parent's")
    from_a = await sdk(tenant_a.messages.create, to="+14155550141", body="A's")
    from_b = await sdk(tenant_b.messages.create, to="+14155550142", body="B's")
    assert from_a.account_sid == a.sid
    await wait_for_status(tenant_a, from_a.sid, {"delivered"})

    assert [m.sid for m in await sdk(tenant_a.messages.list)] == [from_a.sid]
    for hidden in (from_parent.sid, from_b.sid):
        assert (await refused(tenant_a.messages(hidden).fetch)).code == 20404
        assert (await refused(tenant_a.messages(hidden).update, status="canceled")).code == 20404
    for account in (admin.account_sid, b.sid):
        sneaky = await refused(tenant_a.api.accounts(account).messages.create, to="+14155550143", body="x")
        assert (sneaky.status, sneaky.code) == (404, 20404)
        assert (await refused(tenant_a.api.accounts(account).messages(from_b.sid).fetch)).code == 20404
    # The parent reaches its subaccount's messages through the subaccount's path, as on Twilio.
    via_parent = await sdk(parent.api.accounts(a.sid).messages(from_a.sid).fetch)
    assert via_parent.body == "A's"
    assert (await refused(parent.messages(from_a.sid).fetch)).code == 20404
    sent_for_a = await sdk(
        parent.api.accounts(a.sid).messages.create, to="+14155550144", body="on A's behalf"
    )
    assert sent_for_a.account_sid == a.sid


async def test_api_keys_authenticate_as_their_account(
    gw: RunningGateway, twilio_clients: TwilioClients
) -> None:
    admin = await admin_credentials(gw)
    made = await gw.call("POST", "/v1/keys", {"name": "twilio sdk", "role": "sender"})
    other = await gw.call("POST", "/v1/keys", {"name": "another", "role": "sender"})
    key_sid = to_sid("SK", made.body["id"])
    client = twilio_clients(gw, key_sid, made.body["secret"], account_sid=admin.account_sid)
    sent = await sdk(client.messages.create, to="+14155550150", body="by key")
    assert sent.account_sid == admin.account_sid
    assert (await sdk(client.messages(sent.sid).fetch)).body == "by key"
    for secret in ("wrong", other.body["secret"]):
        stranger = twilio_clients(gw, key_sid, secret, account_sid=admin.account_sid)
        assert (await refused(stranger.messages(sent.sid).fetch)).code == 20003
    await gw.call("DELETE", f"/v1/keys/{made.body['id']}")
    assert (await refused(client.messages(sent.sid).fetch)).code == 20003


async def test_wire_shapes_and_bad_input_changing_nothing(gw_sqlite: RunningGateway) -> None:
    admin = await admin_credentials(gw_sqlite)
    auth = basic(admin)
    path = f"{API}/Accounts/{admin.account_sid}/Messages.json"
    created = await gw_sqlite.call(
        "POST",
        path,
        headers={**auth, **FORM},
        data="To=%2B14155550160&Body=hello+world&StatusCallback=http%3A%2F%2F127.0.0.1%3A9%2Fcb",
    )
    assert created.status == 201
    assert set(created.body) == {
        "sid",
        "account_sid",
        "messaging_service_sid",
        "from",
        "to",
        "body",
        "direction",
        "status",
        "num_segments",
        "num_media",
        "date_created",
        "date_updated",
        "date_sent",
        "error_code",
        "error_message",
        "price",
        "price_unit",
        "api_version",
        "uri",
        "subresource_uris",
    }
    assert created.body["body"] == "hello world"
    sid = created.body["sid"]
    native = await gw_sqlite.call("GET", f"/v1/messages/{from_sid(sid, 'SM', 'msg')}")
    assert native.body["status_callback"] == "http://127.0.0.1:9/cb"
    await gw_sqlite.wait_for_status(native.body["id"], {"delivered"})

    listed = await gw_sqlite.call("GET", path + "?PageSize=1", headers={**auth, **FORM})
    assert listed.status == 200
    assert set(listed.body) == {
        "messages",
        "page",
        "page_size",
        "start",
        "end",
        "uri",
        "first_page_uri",
        "previous_page_uri",
        "next_page_uri",
    }
    assert listed.body["next_page_uri"] is None and [m["sid"] for m in listed.body["messages"]] == [sid]

    before = await gw_sqlite.call("GET", "/v1/messages")
    for form in (
        {"To": "+14155550161", "Body": "x", "SmartEncoded": "true"},
        {"To": "+14155550161", "Body": "x", "ValidityPeriod": "0"},
        {"To": "+14155550161", "Body": "x", "StatusCallback": "ftp://example.com"},
        {"To": "+14155550161", "Body": "x", "From": ""},
        {"Body": "x"},
    ):
        bad = await gw_sqlite.call("POST", path, headers=auth, data=form)
        assert bad.status == 400, (form, bad.body)
        assert set(bad.body) == {"code", "message", "more_info", "status"} and bad.body["status"] == 400
    for query in ("?Status=sent", "?DateSent=yesterday", "?PageToken=PA%21"):
        assert (await gw_sqlite.call("GET", path + query, headers=auth)).status == 400, query
    deleted = await gw_sqlite.call(
        "DELETE", f"{API}/Accounts/{admin.account_sid}/Messages/{sid}.json", headers=auth
    )
    assert deleted.status == 405 and deleted.body["code"] == 20004
    redacted = await gw_sqlite.call(
        "POST", f"{API}/Accounts/{admin.account_sid}/Messages/{sid}.json", headers=auth, data={"Body": ""}
    )
    assert redacted.status == 400 and "Body" in redacted.body["message"]
    assert (await gw_sqlite.call("GET", "/v1/messages")).body == before.body


async def test_an_idempotency_key_makes_a_create_safe_to_repeat(gw_sqlite: RunningGateway) -> None:
    admin = await admin_credentials(gw_sqlite)
    path = f"{API}/Accounts/{admin.account_sid}/Messages.json"
    headers = {**basic(admin), "Idempotency-Key": "order-1234"}
    form = {"To": "+14155550180", "Body": "once"}
    first = await gw_sqlite.call("POST", path, headers=headers, data=form)
    again = await gw_sqlite.call("POST", path, headers=headers, data=form)
    assert first.status == again.status == 201 and first.body["sid"] == again.body["sid"]
    native = await gw_sqlite.call("GET", "/v1/messages?to=%2B14155550180")
    assert [m["id"] for m in native.body["data"]] == [from_sid(first.body["sid"], "SM", "msg")]


async def test_an_opt_out_the_create_cannot_see_fails_the_message_with_21610(
    gw: RunningGateway, twilio_clients: TwilioClients
) -> None:
    admin = await admin_credentials(gw)
    parent = twilio_clients(gw, admin.account_sid, admin.auth_token)
    tenant = await sdk(parent.api.accounts.create, friendly_name="on the parent's number")
    # The parent's number received STOP from this address; the subaccount sends on that number.
    assert (await gw.call("POST", "/v1/opt-outs", {"address": "+14155550190"})).status == 201
    client = twilio_clients(gw, tenant.sid, tenant.auth_token)
    sent = await sdk(client.messages.create, to="+14155550190", from_="+14155559995", body="x")
    assert sent.status == "queued"  # the subaccount's own opt-outs have none for it
    failed = await wait_for_status(client, sent.sid, {"failed", "delivered"})
    assert (failed.status, failed.error_code) == ("failed", 21610)
    assert failed.error_message and failed.date_sent is None
