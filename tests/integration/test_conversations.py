"""``/v1/conversations`` end to end on the sandbox, on each backend: participants on three channel
types exchange messages both ways, conflicts, closing, refused deliveries, timers, tenancy."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from sqlalchemy import func, select

from support.gateway import FAST_WEBHOOKS, GatewayFactory, RunningGateway, UrlFactory
from support.receiver import Receiver
from tidings.store.schema import conversation_messages, messages, webhook_deliveries

ANA, BEN, CAL = "+14155550501", "whatsapp:+14155550502", "telegram:5550503"
SMS_PROXY, WA_PROXY, TG_PROXY = "+14155550900", "whatsapp:+14155550900", "telegram:900900"


async def _conversation(gw: RunningGateway, key: str | None = None, **fields: Any) -> dict[str, Any]:
    created = await gw.call("POST", "/v1/conversations", fields, key=key)
    assert created.status == 201, created.body
    return dict(created.body)


async def _join(
    gw: RunningGateway,
    cid: str,
    address: str,
    proxy: str,
    identity: str | None = None,
    key: str | None = None,
) -> dict[str, Any]:
    body = {"address": address, "proxy_address": proxy, **({"identity": identity} if identity else {})}
    added = await gw.call("POST", f"/v1/conversations/{cid}/participants", body, key=key)
    assert added.status == 201, added.body
    return dict(added.body)


async def _trio(
    gw: RunningGateway, key: str | None = None, **fields: Any
) -> tuple[str, list[dict[str, Any]]]:
    """A conversation of Ana (SMS), Ben (WhatsApp) and Cal (Telegram), each with an identity."""
    cid = (await _conversation(gw, key, friendly_name="trip", **fields))["id"]
    people = [
        await _join(gw, cid, ANA, SMS_PROXY, "ana", key),
        await _join(gw, cid, BEN, WA_PROXY, "ben", key),
        await _join(gw, cid, CAL, TG_PROXY, "cal", key),
    ]
    return cid, people


async def _inbox(gw: RunningGateway, address: str, key: str | None = None) -> list[str]:
    got = await gw.call("GET", f"/v1/sandbox/handsets/{quote(address)}/messages", key=key)
    assert got.status == 200, got.body
    return [m["body"] for m in got.body["data"]]


async def _eventually(check: Callable[[], Awaitable[bool]], what: str, timeout: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def _wait_inbox(gw: RunningGateway, address: str, body: str, key: str | None = None) -> None:
    async def arrived() -> bool:
        return body in await _inbox(gw, address, key)

    await _eventually(arrived, f"{body!r} at {address}")


async def _thread(gw: RunningGateway, cid: str, key: str | None = None) -> list[dict[str, Any]]:
    got = await gw.call("GET", f"/v1/conversations/{cid}/messages", key=key)
    assert got.status == 200, got.body
    return list(got.body["data"])


async def _count(gw: RunningGateway, table: Any, *where: Any) -> int:
    async with gw.gateway.db.read() as conn:
        return int((await conn.execute(select(func.count()).select_from(table).where(*where))).scalar_one())


async def test_three_participants_on_three_channel_types_talk_both_ways(
    gateway_factory: GatewayFactory, database_url_factory: UrlFactory, receiver: Receiver
) -> None:
    gw = await gateway_factory(database_url_factory, webhooks=FAST_WEBHOOKS)
    webhook = await gw.call("PATCH", "/v1/accounts/me", {"webhook_url": receiver.url + "/hooks"})
    assert webhook.status == 200, webhook.body
    cid, (ana, ben, cal) = await _trio(gw, attributes={"booking": 42})
    assert [p["kind"] for p in (ana, ben, cal)] == ["sms", "whatsapp", "telegram"]
    assert ben["proxy_address"] == WA_PROXY and cal["address"] == CAL

    authored = await gw.call("POST", f"/v1/conversations/{cid}/messages", {"author": "ana", "body": "Hi all"})
    assert authored.status == 201, authored.body
    assert authored.body["participant_id"] == ana["id"] and authored.body["direction"] == "outbound"
    assert {d["participant_id"] for d in authored.body["deliveries"]} == {ben["id"], cal["id"]}
    await _wait_inbox(gw, BEN, "ana: Hi all")
    await _wait_inbox(gw, CAL, "ana: Hi all")
    assert await _inbox(gw, ANA) == []  # the author is not sent her own message

    # Ben answers from his handset to the WhatsApp proxy address.
    reply = await gw.call(
        "POST", f"/v1/sandbox/handsets/{quote(BEN)}/messages", {"to": WA_PROXY, "body": "On my way"}
    )
    assert reply.status == 201, reply.body
    await _wait_inbox(gw, ANA, "ben: On my way")
    await _wait_inbox(gw, CAL, "ben: On my way")
    assert await _inbox(gw, BEN) == ["ana: Hi all"]
    newest, first = await _thread(gw, cid)
    assert first["id"] == authored.body["id"]
    assert (newest["direction"], newest["author"], newest["body"]) == ("inbound", "ben", "On my way")
    assert newest["participant_id"] == ben["id"] and newest["inbound_message_id"] == reply.body["id"]
    assert {d["to"] for d in newest["deliveries"]} == {ANA, CAL}

    async def delivered() -> bool:
        thread = await _thread(gw, cid)
        return all(d["status"] == "delivered" for m in thread for d in m["deliveries"])

    await _eventually(delivered, "every copy delivered")

    # The account hears of both messages as conversation.message, never as message.received.
    await receiver.wait_until(
        lambda: sum(r.json["type"] == "conversation.message" for r in receiver.delivered()) >= 2
    )
    events = [r for r in receiver.delivered() if r.json["type"] == "conversation.message"]
    inbound_event = next(e for e in events if e.json["data"]["message"]["direction"] == "inbound")
    assert inbound_event.json["data"]["conversation"]["attributes"] == {"booking": 42}
    assert inbound_event.json["data"]["message"]["body"] == "On my way"
    assert inbound_event.headers["Tidings-Event-Id"] == inbound_event.json["id"]
    assert not [r for r in receiver.delivered() if r.json["type"] == "message.received"]
    assert await _count(gw, webhook_deliveries, webhook_deliveries.c.event_type == "message.received") == 0

    # A reply from someone who is no participant still reaches the webhook as message.received.
    stranger = await gw.call(
        "POST", "/v1/sandbox/handsets/+14155550599/messages", {"to": SMS_PROXY, "body": "who is this"}
    )
    assert stranger.status == 201
    await receiver.wait_until(lambda: any(r.json["type"] == "message.received" for r in receiver.delivered()))
    assert len(await _thread(gw, cid)) == 2


async def test_a_removed_participant_gets_nothing_more_and_can_join_elsewhere(gw: RunningGateway) -> None:
    cid, (ana, ben, cal) = await _trio(gw)
    removed = await gw.call("DELETE", f"/v1/conversations/{cid}/participants/{cal['id']}")
    assert removed.status == 204, removed.body
    listed = await gw.call("GET", f"/v1/conversations/{cid}/participants")
    assert {p["id"] for p in listed.body["data"]} == {ana["id"], ben["id"]}

    posted = await gw.call(
        "POST", f"/v1/conversations/{cid}/messages", {"author": "ana", "body": "without cal"}
    )
    assert {d["participant_id"] for d in posted.body["deliveries"]} == {ben["id"]}
    await _wait_inbox(gw, BEN, "ana: without cal")
    assert await _inbox(gw, CAL) == []
    # Free again on that proxy address: another conversation may take Cal.
    other = (await _conversation(gw, None, friendly_name="other"))["id"]
    assert (await _join(gw, other, CAL, TG_PROXY, "cal", None))["address"] == CAL


async def test_an_address_is_in_one_open_conversation_per_proxy_address(gw: RunningGateway) -> None:
    first = (await _conversation(gw))["id"]
    second = (await _conversation(gw))["id"]
    await _join(gw, first, ANA, SMS_PROXY)

    taken = await gw.call(
        "POST", f"/v1/conversations/{second}/participants", {"address": ANA, "proxy_address": SMS_PROXY}
    )
    assert taken.status == 409 and taken.body["error"]["code"] == "participant_in_use"
    twice = await gw.call(
        "POST",
        f"/v1/conversations/{first}/participants",
        {"address": "+1 415 555 0501", "proxy_address": "+14155550901"},
    )
    assert twice.status == 409 and twice.body["error"]["code"] == "participant_exists"
    await _join(gw, second, ANA, "+14155550901")  # another proxy address is another thread

    closed = await gw.call("PATCH", f"/v1/conversations/{first}", {"state": "closed"})
    assert closed.status == 200 and closed.body["state"] == "closed"
    await _join(gw, second, "+14155550502", SMS_PROXY)
    third = (await _conversation(gw))["id"]
    await _join(gw, third, ANA, SMS_PROXY)  # free again once the first conversation closed


async def test_closing_sends_the_close_message_then_nothing_more(gw: RunningGateway) -> None:
    cid, _ = await _trio(gw, close_message="This chat is closed")
    closed = await gw.call("PATCH", f"/v1/conversations/{cid}", {"state": "closed"})
    assert closed.status == 200 and closed.body["state"] == "closed"
    for address in (ANA, BEN, CAL):
        await _wait_inbox(gw, address, "This chat is closed")
    sent_before = await _count(gw, messages)
    thread_before = await _count(gw, conversation_messages)

    refused = await gw.call("POST", f"/v1/conversations/{cid}/messages", {"body": "anyone?"})
    assert refused.status == 409 and refused.body["error"]["code"] == "conversation_closed"
    reopened = await gw.call("PATCH", f"/v1/conversations/{cid}", {"state": "active"})
    assert reopened.status == 409 and reopened.body["error"]["code"] == "conversation_closed"
    joined = await gw.call(
        "POST",
        f"/v1/conversations/{cid}/participants",
        {"address": "+14155550504", "proxy_address": SMS_PROXY},
    )
    assert joined.status == 409
    # A participant writing after the close is not relayed: the message is an ordinary inbound one.
    late = await gw.call("POST", f"/v1/sandbox/handsets/{ANA}/messages", {"to": SMS_PROXY, "body": "hello?"})
    assert late.status == 201
    assert await _count(gw, messages) == sent_before + 1
    assert await _count(gw, conversation_messages) == thread_before


async def test_a_refused_delivery_shows_its_error_on_the_conversation_message(
    gateway_factory: GatewayFactory, database_url_factory: UrlFactory
) -> None:
    gw = await gateway_factory(database_url_factory, sandbox={"reject_numbers": ["+14155550666"]})
    cid = (await _conversation(gw))["id"]
    ok = await _join(gw, cid, ANA, SMS_PROXY)
    refused = await _join(gw, cid, "+14155550666", SMS_PROXY)
    posted = await gw.call(
        "POST", f"/v1/conversations/{cid}/messages", {"author": "Front desk", "body": "Ready"}
    )
    assert posted.status == 201 and posted.body["author"] == "Front desk"

    async def settled() -> bool:
        [message] = await _thread(gw, cid)
        return {d["status"] for d in message["deliveries"]} == {"delivered", "failed"}

    await _eventually(settled, "one delivered, one failed")
    [message] = await _thread(gw, cid)
    by_participant = {d["participant_id"]: d for d in message["deliveries"]}
    assert by_participant[ok["id"]]["error"] is None
    assert by_participant[refused["id"]]["error"]["code"] == "sandbox_rejected"
    assert message["failed"] == 1
    failed = await gw.call("GET", f"/v1/messages/{by_participant[refused['id']]['message_id']}")
    assert failed.body["status"] == "failed" and failed.body["metadata"]["conversation_id"] == cid
    await _wait_inbox(gw, ANA, "Ready")  # no prefix: the author is not a participant


async def test_timers_move_an_idle_conversation_to_inactive_then_closed(gw: RunningGateway) -> None:
    cid = (
        await _conversation(
            gw, timers={"inactive_after": 1, "closed_after": "PT4S"}, close_message="Closed for inactivity"
        )
    )["id"]
    await _join(gw, cid, ANA, SMS_PROXY, "ana")
    await _join(gw, cid, BEN, WA_PROXY, "ben")

    async def in_state(state: str) -> bool:
        got = await gw.call("GET", f"/v1/conversations/{cid}")
        return bool(got.body["state"] == state)

    await _eventually(lambda: in_state("inactive"), "inactive")
    # A message from a participant makes it active again and restarts the timers.
    reply = await gw.call(
        "POST", f"/v1/sandbox/handsets/{ANA}/messages", {"to": SMS_PROXY, "body": "still here"}
    )
    assert reply.status == 201
    assert await in_state("active")
    await _wait_inbox(gw, BEN, "ana: still here")
    await _eventually(lambda: in_state("closed"), "closed", timeout=20)
    await _wait_inbox(gw, ANA, "Closed for inactivity")
    await _wait_inbox(gw, BEN, "Closed for inactivity")
    shown = (await gw.call("GET", f"/v1/conversations/{cid}")).body
    assert shown["timers"]["inactive_after"] == 1 and shown["timers"]["closed_after"] == 4
    assert shown["timers"]["closes_at"] is None


async def _subaccount(gw: RunningGateway, name: str) -> tuple[str, str]:
    created = await gw.call("POST", "/v1/accounts", {"name": name})
    assert created.status == 201, created.body
    key = await gw.call("POST", "/v1/keys", {"name": name, "role": "admin", "account_id": created.body["id"]})
    assert key.status == 201, key.body
    return created.body["id"], key.body["secret"]


async def test_subaccounts_see_only_their_own_conversations_and_use_their_own_channels(
    gw: RunningGateway,
) -> None:
    a_id, a_key = await _subaccount(gw, "tenant A")
    b_id, b_key = await _subaccount(gw, "tenant B")
    own = await gw.call("POST", "/v1/channels", {"type": "sandbox", "name": "sandbox"}, key=a_key)
    assert own.status == 201, own.body
    a_conv = await _conversation(gw, a_key, friendly_name="A's")
    b_conv = await _conversation(gw, b_key, friendly_name="B's")
    assert (a_conv["account_id"], b_conv["account_id"]) == (a_id, b_id)
    a_ana = await _join(gw, a_conv["id"], ANA, SMS_PROXY, "ana", a_key)
    await _join(gw, a_conv["id"], BEN, WA_PROXY, "ben", a_key)
    b_ana = await _join(gw, b_conv["id"], ANA, SMS_PROXY, key=b_key)
    assert a_ana["channel_id"] == own.body["id"]  # A's own channel
    parent_sandbox = (await gw.call("GET", "/v1/channels")).body["data"][0]["id"]
    assert b_ana["channel_id"] == parent_sandbox  # B has none: its parent's

    a_path = f"/v1/conversations/{a_conv['id']}"
    for method, path, body in [
        ("GET", a_path, None),
        ("PATCH", a_path, {"friendly_name": "mine now"}),
        ("GET", a_path + "/participants", None),
        ("POST", a_path + "/participants", {"address": "+14155550505", "proxy_address": SMS_PROXY}),
        ("DELETE", f"{a_path}/participants/{a_ana['id']}", None),
        ("GET", a_path + "/messages", None),
        ("POST", a_path + "/messages", {"body": "hi"}),
        ("DELETE", a_path, None),
    ]:
        answer = await gw.call(method, path, body, key=b_key)
        assert answer.status == 404, (method, path, answer.body)
    assert (await gw.call("GET", f"/v1/conversations?account_id={a_id}", key=b_key)).status == 404
    assert [c["id"] for c in (await gw.call("GET", "/v1/conversations", key=b_key)).body["data"]] == [
        b_conv["id"]
    ]

    # The parent reads both, by id and by listing a subaccount.
    for conv in (a_conv, b_conv):
        assert (await gw.call("GET", f"/v1/conversations/{conv['id']}")).status == 200
    listed = await gw.call("GET", f"/v1/conversations?account_id={a_id}")
    assert [c["id"] for c in listed.body["data"]] == [a_conv["id"]]
    assert (await gw.call("GET", "/v1/conversations")).body["data"] == []

    # A's message goes out on A's own channel, and A's handset reply comes back into A's thread.
    posted = await gw.call("POST", a_path + "/messages", {"author": "ben", "body": "A only"}, key=a_key)
    assert posted.status == 201, posted.body
    [delivery] = posted.body["deliveries"]
    sent = await gw.call("GET", f"/v1/messages/{delivery['message_id']}", key=a_key)
    assert sent.body["channel_id"] == own.body["id"] and sent.body["account_id"] == a_id
    await _wait_inbox(gw, ANA, "ben: A only", key=a_key)
    reply = await gw.call(
        "POST", f"/v1/sandbox/handsets/{ANA}/messages", {"to": SMS_PROXY, "body": "yes"}, key=a_key
    )
    assert reply.status == 201
    assert [m["body"] for m in await _thread(gw, a_conv["id"], a_key)] == ["yes", "A only"]
    assert await _thread(gw, b_conv["id"], b_key) == []
    assert (await gw.call("DELETE", a_path, key=a_key)).status == 204
    assert (await gw.call("GET", a_path)).status == 404


async def test_bad_input_names_the_field_and_changes_nothing(gw_sqlite: RunningGateway) -> None:
    gw = gw_sqlite
    bad_timer = await gw.call("POST", "/v1/conversations", {"timers": {"inactive_after": "P1M"}})
    assert bad_timer.status == 422 and bad_timer.body["error"]["field"] == "timers.inactive_after"
    unknown = await gw.call("POST", "/v1/conversations", {"name": "x"})
    assert unknown.status == 400 and unknown.body["error"]["field"] == "name"
    bad_state = await gw.call("GET", "/v1/conversations?state=open")
    assert bad_state.status == 400
    cid = (await _conversation(gw))["id"]
    for body, field in [
        ({"address": "hello", "proxy_address": SMS_PROXY}, "address"),
        ({"address": ANA, "proxy_address": "whatsapp:+14155550900"}, "proxy_address"),
        ({"address": ANA}, "proxy_address"),  # the sandbox lists no sender to default to
        ({"address": ANA, "proxy_address": SMS_PROXY, "identity": ""}, "identity"),
    ]:
        answer = await gw.call("POST", f"/v1/conversations/{cid}/participants", body)
        assert answer.status in (400, 422) and answer.body["error"]["field"] == field, answer.body
    empty = await gw.call("POST", f"/v1/conversations/{cid}/messages", {"body": "  "})
    assert empty.status == 422 and empty.body["error"]["code"] == "empty_body"
    assert (await gw.call("GET", f"/v1/conversations/{cid}/participants")).body["data"] == []
    assert await _thread(gw, cid) == []
    assert (await gw.call("GET", "/v1/conversations/con_01JAAAAAAAAAAAAAAAAAAAAAAA")).status == 404

    viewer = await gw.call("POST", "/v1/keys", {"name": "read", "role": "viewer"})
    refused = await gw.call(
        "POST", f"/v1/conversations/{cid}/messages", {"body": "x"}, key=viewer.body["secret"]
    )
    assert refused.status == 403
    cleared = await gw.call("PATCH", f"/v1/conversations/{cid}", {"timers": {"closed_after": 60}})
    assert cleared.status == 200 and cleared.body["timers"]["closed_after"] == 60
    assert cleared.body["timers"]["closes_at"] is not None
