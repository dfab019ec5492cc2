"""Twilio Conversations v1 at ``/twilio/conversations/v1`` through the official SDK, unmodified,
and raw HTTP: a group over SMS and WhatsApp on the sandbox, seed 002's flows with one client
per subaccount, the v1 envelope, and refusals that change nothing."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from support.gateway import RunningGateway
from support.twilio import TwilioClients, admin_credentials, sdk

ANA, BEN, WAL = "+14155550701", "+14155550702", "whatsapp:+14155550703"
SMS_PROXY, WA_PROXY = "+14155550990", "whatsapp:+14155550990"
V1 = "/twilio/conversations/v1/Conversations"


async def _eventually(check: Callable[[], Awaitable[bool]], what: str, timeout: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def _inbox(gw: RunningGateway, address: str) -> list[str]:
    got = await gw.call("GET", f"/v1/sandbox/handsets/{quote(address)}/messages")
    assert got.status == 200, got.body
    return [m["body"] for m in got.body["data"]]


async def _wait_inbox(gw: RunningGateway, address: str, body: str) -> None:
    async def arrived() -> bool:
        return body in await _inbox(gw, address)

    await _eventually(arrived, f"{body!r} at {address}")


async def _client(gw: RunningGateway, twilio_clients: TwilioClients) -> Client:
    admin = await admin_credentials(gw)
    return twilio_clients(gw, admin.account_sid, admin.auth_token)


async def test_a_group_over_sms_and_whatsapp_fans_out_relays_closes_and_deletes(
    gw: RunningGateway, twilio_clients: TwilioClients
) -> None:
    client = await _client(gw, twilio_clients)
    conversations = client.conversations.v1.conversations
    created = await sdk(
        conversations.create,
        friendly_name="Booking 42",
        attributes='{"booking": 42}',
        timers_inactive="PT30M",
        timers_closed="P1D",
    )
    assert created.sid.startswith("CH") and len(created.sid) == 34
    assert (created.friendly_name, created.state, created.attributes) == (
        "Booking 42",
        "active",
        '{"booking":42}',
    )
    assert created.date_created is not None and created.date_created.tzinfo is not None  # parsed: no fraction
    assert set(created.timers) == {"date_inactive", "date_closed"}
    assert created.url == f"{gw.url}{V1}/{created.sid}"
    assert created.links["messages"] == f"{gw.url}{V1}/{created.sid}/Messages"

    thread = conversations(created.sid)
    ana = await sdk(
        thread.participants.create,
        messaging_binding_address=ANA,
        messaging_binding_proxy_address=SMS_PROXY,
        identity="ana",
    )
    ben = await sdk(
        thread.participants.create, messaging_binding_address=BEN, messaging_binding_proxy_address=SMS_PROXY
    )
    wal = await sdk(
        thread.participants.create, messaging_binding_address=WAL, messaging_binding_proxy_address=WA_PROXY
    )
    assert ana.sid.startswith("MB") and ana.conversation_sid == created.sid and ana.identity == "ana"
    assert ben.messaging_binding == {"type": "sms", "address": BEN, "proxy_address": SMS_PROXY}
    assert wal.messaging_binding == {"type": "whatsapp", "address": WAL, "proxy_address": WA_PROXY}
    listed = await sdk(thread.participants.list)
    assert [p.sid for p in listed] == [ana.sid, ben.sid, wal.sid]
    assert (await sdk(thread.participants(wal.sid).fetch)).messaging_binding["address"] == WAL

    # An authored message reaches every participant's handset from their proxy address.
    sent = await sdk(thread.messages.create, author="Front desk", body="Welcome to booking 42")
    assert sent.sid.startswith("IM") and sent.index == 0 and sent.participant_sid is None
    assert sent.author == "Front desk" and sent.delivery["total"] == 3
    for handset in (ANA, BEN, WAL):
        await _wait_inbox(gw, handset, "Welcome to booking 42")

    # Ben answers his handset to the proxy number: it lands in the conversation and reaches
    # the others (Ana by SMS, Wal on WhatsApp), and not Ben himself.
    reply = await gw.call(
        "POST", f"/v1/sandbox/handsets/{quote(BEN)}/messages", {"to": SMS_PROXY, "body": "See you at 6"}
    )
    assert reply.status == 201, reply.body
    await _wait_inbox(gw, ANA, "See you at 6")
    await _wait_inbox(gw, WAL, "See you at 6")
    assert await _inbox(gw, BEN) == ["Welcome to booking 42"]

    async def delivered() -> bool:
        shown = await sdk(thread.messages.list)
        return len(shown) == 2 and all(m.delivery["delivered"] == "all" for m in shown)

    await _eventually(delivered, "every copy delivered")
    first, relayed = await sdk(thread.messages.list)  # Order=asc by default, as Twilio lists
    assert (first.sid, first.index, relayed.index) == (sent.sid, 0, 1)
    assert (relayed.author, relayed.body, relayed.participant_sid) == (BEN, "See you at 6", ben.sid)
    assert relayed.delivery == {
        "total": 2,
        "sent": "all",
        "delivered": "all",
        "read": "none",
        "undelivered": "none",
        "failed": "none",
    }
    newest = await sdk(thread.messages.list, order="desc")
    assert [(m.sid, m.index) for m in newest] == [(relayed.sid, 1), (sent.sid, 0)]
    fetched = await sdk(thread.messages(relayed.sid).fetch)
    assert (fetched.index, fetched.body) == (1, "See you at 6")

    # The WhatsApp participant answers on the WhatsApp proxy address: both SMS handsets get it.
    whatsapp = await gw.call(
        "POST", f"/v1/sandbox/handsets/{quote(WAL)}/messages", {"to": WA_PROXY, "body": "Running late"}
    )
    assert whatsapp.status == 201, whatsapp.body
    await _wait_inbox(gw, ANA, "Running late")
    await _wait_inbox(gw, BEN, "Running late")
    latest = (await sdk(thread.messages.list, order="desc", limit=1))[0]
    assert (latest.index, latest.author, latest.participant_sid) == (2, WAL, wal.sid)

    closed = await sdk(thread.update, state="closed")
    assert closed.state == "closed" and closed.timers == {}
    with pytest.raises(TwilioRestException) as refused:
        await sdk(thread.messages.create, body="anyone?")
    assert refused.value.status == 400
    assert len(await sdk(thread.messages.list)) == 3

    assert await sdk(thread.delete) is True
    with pytest.raises(TwilioRestException) as gone:
        await sdk(thread.fetch)
    assert (gone.value.status, gone.value.code) == (404, 20404)


async def test_seed_002_flows_with_one_client_per_subaccount(
    gw: RunningGateway, twilio_clients: TwilioClients
) -> None:
    """Seed 002's ClientFactory: a primary (global) client and one per subaccount, each with its
    own SID and token; create, fetch, state updates, messages, participants added and removed."""
    primary = await _client(gw, twilio_clients)
    made = await sdk(primary.api.v2010.accounts.create, friendly_name="user 7")
    user = twilio_clients(gw, made.sid, made.auth_token)
    other = await sdk(primary.api.v2010.accounts.create, friendly_name="user 8")
    sibling = twilio_clients(gw, other.sid, other.auth_token)

    conversation = await sdk(user.conversations.v1.conversations.create, friendly_name="Ruby Code Sample")
    assert conversation.account_sid == made.sid
    twilio_conversation = user.conversations.v1.conversations(conversation.sid)
    assert (await sdk(twilio_conversation.fetch)).friendly_name == "Ruby Code Sample"
    for state in ("inactive", "active", "inactive"):
        assert (await sdk(twilio_conversation.update, state=state)).state == state

    charles = await sdk(
        twilio_conversation.participants.create,
        messaging_binding_address="+14155550711",
        messaging_binding_proxy_address=SMS_PROXY,
    )
    whats_app = await sdk(
        twilio_conversation.participants.create,
        messaging_binding_address="whatsapp:+14155550712",
        messaging_binding_proxy_address=WA_PROXY,
    )
    message = await sdk(twilio_conversation.messages.create, body="Hi Charles", author="Organization Name")
    assert message.author == "Organization Name" and message.delivery["total"] == 2
    assert (await sdk(twilio_conversation.fetch)).state == "active"  # a message reactivates
    await _wait_inbox(gw, "+14155550711", "Hi Charles")
    await _wait_inbox(gw, "whatsapp:+14155550712", "Hi Charles")
    assert await sdk(twilio_conversation.participants(whats_app.sid).delete) is True
    assert [p.sid for p in await sdk(twilio_conversation.participants.list)] == [charles.sid]

    # Each account sees its own conversations only: not the parent, not a sibling, and the
    # parent's credentials not its subaccount's (Twilio's v1 APIs act for the credential's account).
    for outsider in (primary, sibling):
        with pytest.raises(TwilioRestException) as hidden:
            await sdk(outsider.conversations.v1.conversations(conversation.sid).fetch)
        assert (hidden.value.status, hidden.value.code) == (404, 20404)
        assert conversation.sid not in [
            c.sid for c in await sdk(outsider.conversations.v1.conversations.list)
        ]
    mine = await sdk(primary.conversations.v1.conversations.create, friendly_name="global")
    with pytest.raises(TwilioRestException) as parents:
        await sdk(user.conversations.v1.conversations(mine.sid).update, state="closed")
    assert parents.value.code == 20404
    assert (await sdk(primary.conversations.v1.conversations(mine.sid).fetch)).state == "active"

    # ConversationService.close: a last message, then closed; then deleted.
    await sdk(
        twilio_conversation.messages.create, body="This conversation is closed", author="Organization Name"
    )
    assert (await sdk(twilio_conversation.update, state="closed")).state == "closed"
    with pytest.raises(TwilioRestException) as final:
        await sdk(twilio_conversation.update, state="active")
    assert final.value.status == 400
    assert await sdk(twilio_conversation.delete) is True
    assert conversation.sid not in [c.sid for c in await sdk(user.conversations.v1.conversations.list)]


async def test_v1_envelope_with_absolute_links_the_sdk_follows(
    gw_sqlite: RunningGateway, twilio_clients: TwilioClients
) -> None:
    admin = await admin_credentials(gw_sqlite)
    auth = gw_sqlite.basic(admin.account_sid, admin.auth_token)
    client = twilio_clients(gw_sqlite, admin.account_sid, admin.auth_token)
    sids = [
        (await sdk(client.conversations.v1.conversations.create, friendly_name=f"c{i}")).sid for i in range(5)
    ]
    first = await gw_sqlite.call("GET", f"{V1}?PageSize=2", headers=auth)
    assert first.status == 200, first.body
    assert set(first.body) == {"conversations", "meta"}
    meta = first.body["meta"]
    assert {k: meta[k] for k in ("page", "page_size", "key", "previous_page_url")} == {
        "page": 0,
        "page_size": 2,
        "key": "conversations",
        "previous_page_url": None,
    }
    assert meta["url"] == meta["first_page_url"] == f"{gw_sqlite.url}{V1}?PageSize=2&Page=0"
    assert meta["next_page_url"].startswith(f"{gw_sqlite.url}{V1}?PageSize=2&Page=1&PageToken=PA")
    assert [c["sid"] for c in first.body["conversations"]] == sids[::-1][:2]  # newest first
    second = await gw_sqlite.call("GET", meta["next_page_url"][len(gw_sqlite.url) :], headers=auth)
    assert [c["sid"] for c in second.body["conversations"]] == sids[::-1][2:4]
    assert second.body["meta"]["page"] == 1

    # The SDK walks the pages by the absolute next_page_url.
    walked = await sdk(client.conversations.v1.conversations.list, page_size=2)
    assert [c.sid for c in walked] == sids[::-1]
    assert [c.sid for c in await sdk(client.conversations.v1.conversations.list, limit=3)] == sids[::-1][:3]
    await sdk(client.conversations.v1.conversations(sids[0]).update, state="closed")
    assert [c.sid for c in await sdk(client.conversations.v1.conversations.list, state="closed")] == [sids[0]]
    today = first.body["conversations"][0]["date_created"][:10]
    dated = await sdk(client.conversations.v1.conversations.list, start_date=today, end_date=today)
    assert len(dated) == 5
    assert await sdk(client.conversations.v1.conversations.list, end_date="2001-01-01") == []

    # Messages page by index too, in both orders.
    thread = f"{V1}/{sids[1]}"
    for n in range(3):
        posted = await gw_sqlite.call("POST", f"{thread}/Messages", headers=auth, data={"Body": f"m{n}"})
        assert posted.status == 201 and posted.body["index"] == n and posted.body["delivery"] is None
    page = await gw_sqlite.call("GET", f"{thread}/Messages?PageSize=2&Order=desc", headers=auth)
    assert [m["index"] for m in page.body["messages"]] == [2, 1]
    rest = await gw_sqlite.call("GET", page.body["meta"]["next_page_url"][len(gw_sqlite.url) :], headers=auth)
    assert [m["index"] for m in rest.body["messages"]] == [0] and rest.body["meta"]["next_page_url"] is None
    asc = await sdk(client.conversations.v1.conversations(sids[1]).messages.list, page_size=2)
    assert [(m.index, m.body) for m in asc] == [(0, "m0"), (1, "m1"), (2, "m2")]


async def _snapshot(gw: RunningGateway, auth: dict[str, str], sid: str) -> tuple[Any, ...]:
    shown = await gw.call("GET", f"{V1}/{sid}", headers=auth)
    people = await gw.call("GET", f"{V1}/{sid}/Participants", headers=auth)
    thread = await gw.call("GET", f"{V1}/{sid}/Messages", headers=auth)
    listed = await gw.call("GET", V1, headers=auth)
    return shown.body, people.body["participants"], thread.body["messages"], len(listed.body["conversations"])


async def test_unsupported_and_bad_parameters_are_400s_that_change_nothing(
    gw_sqlite: RunningGateway,
) -> None:
    admin = await admin_credentials(gw_sqlite)
    auth = gw_sqlite.basic(admin.account_sid, admin.auth_token)
    made = await gw_sqlite.call("POST", V1, headers=auth, data={"FriendlyName": "kept"})
    assert made.status == 201, made.body
    sid = made.body["sid"]
    joined = await gw_sqlite.call(
        "POST",
        f"{V1}/{sid}/Participants",
        headers=auth,
        data={"MessagingBinding.Address": ANA, "MessagingBinding.ProxyAddress": SMS_PROXY},
    )
    assert joined.status == 201, joined.body
    before = await _snapshot(gw_sqlite, auth, sid)

    refused = [
        ("POST", V1, {"FriendlyName": "x", "UniqueName": "u1"}, 20001),
        ("POST", V1, {"MessagingServiceSid": "MG" + "0" * 32}, 20001),
        ("POST", V1, {"Bindings.Email.Address": "a@example.com"}, 20001),
        ("POST", V1, {"FriendlyName": "x", "Colour": "blue"}, 20001),
        ("POST", V1, {"State": "closed"}, 21200),
        ("POST", V1, {"Attributes": "{not json"}, 21200),
        ("POST", V1, {"Attributes": "[1, 2]"}, 21200),
        ("POST", V1, {"Timers.Inactive": "P1M"}, 21200),
        ("POST", f"{V1}/{sid}", {"State": "initializing"}, 21200),
        ("POST", f"{V1}/{sid}", {"FriendlyName": "changed", "UniqueName": "u"}, 20001),
        ("POST", f"{V1}/{sid}", {"FriendlyName": "changed", "Timers.Closed": "soon"}, 21200),
        ("POST", f"{V1}/{sid}/Participants", {"Identity": "chat-user"}, 20001),
        (
            "POST",
            f"{V1}/{sid}/Participants",
            {"MessagingBinding.Address": BEN, "RoleSid": "RL" + "0" * 32},
            20001,
        ),
        ("POST", f"{V1}/{sid}/Participants", {"MessagingBinding.Address": "not a number"}, 21200),
        (
            "POST",
            f"{V1}/{sid}/Participants",
            {"MessagingBinding.Address": ANA, "MessagingBinding.ProxyAddress": SMS_PROXY},
            21200,
        ),
        ("POST", f"{V1}/{sid}/Messages", {"Author": "x"}, 21602),
        ("POST", f"{V1}/{sid}/Messages", {"Body": "x" * 1601}, 21617),
        ("POST", f"{V1}/{sid}/Messages", {"Body": "hi", "MediaSid": "ME" + "0" * 32}, 20001),
        ("POST", f"{V1}/{sid}/Messages", {"Body": "hi", "Attributes": '{"a": 1}'}, 20001),
        ("GET", f"{V1}?State=open", None, 21200),
        ("GET", f"{V1}?StartDate=yesterday", None, 21200),
        ("GET", f"{V1}/{sid}/Messages?Order=random", None, 21200),
        ("GET", f"{V1}?Colour=blue", None, 20001),
    ]
    for method, path, data, code in refused:
        answer = await gw_sqlite.call(method, path, headers=auth, data=data)
        assert (answer.status, answer.body["code"]) == (400, code), (path, data, answer.body)
        assert set(answer.body) == {"code", "message", "more_info", "status"}
    missing = [
        ("GET", f"{V1}/CH{'0' * 32}"),
        ("GET", f"{V1}/not-a-sid"),
        ("POST", f"{V1}/{'MB' + sid[2:]}"),
        ("DELETE", f"{V1}/{sid}/Participants/MB{'0' * 32}"),
        ("GET", f"{V1}/{sid}/Messages/IM{'0' * 32}"),
    ]
    for method, path in missing:
        answer = await gw_sqlite.call(method, path, headers=auth, data={} if method == "POST" else None)
        assert (answer.status, answer.body["code"]) == (404, 20404), (method, path, answer.body)
    unauthenticated = await gw_sqlite.call("GET", V1, auth=False)
    assert (unauthenticated.status, unauthenticated.body["code"]) == (401, 20003)
    assert await _snapshot(gw_sqlite, auth, sid) == before
