"""Opt-out end to end on the sandbox, on each backend: STOP/START/HELP texted from handsets, the
refusal at send, STOPALL's scope, the account's texts, and ``/v1/opt-outs``."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import quote

from sqlalchemy import func, select

from support.gateway import FAST_WEBHOOKS, GatewayFactory, RunningGateway, UrlFactory
from support.receiver import Receiver
from tidings.features.accounts.texts import DEFAULT_TEXTS, HELP, OPT_IN, OPT_OUT
from tidings.store.schema import messages, opt_outs

OURS = "+14155550999"  # what the handsets write to on the default sandbox channel


async def _text(gw: RunningGateway, handset: str, body: str, to: str = OURS, **extra: Any) -> dict[str, Any]:
    """``body`` typed on ``handset`` to our address ``to``."""
    sent = await gw.call(
        "POST", f"/v1/sandbox/handsets/{handset}/messages", {"to": to, "body": body, **extra}
    )
    assert sent.status == 201, sent.body
    return dict(sent.body)


async def _inbox(gw: RunningGateway, handset: str) -> list[str]:
    """What the handset received, oldest first."""
    got = await gw.call("GET", f"/v1/sandbox/handsets/{handset}/messages")
    assert got.status == 200, got.body
    return [m["body"] for m in reversed(got.body["data"])]


async def _wait_inbox(gw: RunningGateway, handset: str, count: int, *, timeout: float = 10.0) -> list[str]:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        bodies = await _inbox(gw, handset)
        if len(bodies) >= count:
            return bodies
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{handset} received {bodies}, wanted {count} messages")
        await asyncio.sleep(0.02)


async def _replies_queued(gw: RunningGateway, handset: str) -> int:
    """Outbound messages to the handset that no API send made (the keyword step's replies)."""
    async with gw.gateway.db.read() as conn:
        query = select(func.count()).where(
            messages.c.recipient == handset, messages.c.direction == "outbound", messages.c.batch_id.is_(None)
        )
        return int((await conn.execute(query)).scalar_one())


async def _send(gw: RunningGateway, to: str | list[str], key: str | None = None, **extra: Any) -> list[str]:
    sent = await gw.call("POST", "/v1/messages", {"to": to, "body": "news", **extra}, key=key)
    assert sent.status == 202, sent.body
    return list(sent.body["message_ids"])


async def _refused(gw: RunningGateway, message_id: str, key: str | None = None) -> None:
    message = await gw.wait_for_status(message_id, {"failed", "delivered"}, key=key)
    assert message["status"] == "failed", message
    assert message["error"]["code"] == "opted_out"
    events = await gw.call("GET", f"/v1/messages/{message_id}/events", key=key)
    assert events.body["data"][-1]["status"] == "failed"
    assert message["attempts"] == 0  # the provider was never called
    assert message["provider_message_id"] is None


async def _delivered(gw: RunningGateway, message_id: str, key: str | None = None) -> None:
    message = await gw.wait_for_status(message_id, {"failed", "delivered"}, key=key)
    assert message["status"] == "delivered", message


async def _opt_out_rows(gw: RunningGateway) -> list[tuple[str, str, str]]:
    async with gw.gateway.db.read() as conn:
        rows = await conn.execute(select(opt_outs.c.account_id, opt_outs.c.sender, opt_outs.c.address))
        return sorted((r[0], r[1], r[2]) for r in rows)


async def test_stop_start_help_round_trip(
    gateway_factory: GatewayFactory, database_url_factory: UrlFactory, receiver: Receiver
) -> None:
    gw = await gateway_factory(database_url_factory, webhooks=FAST_WEBHOOKS)
    patched = await gw.call("PATCH", "/v1/accounts/me", {"webhook_url": receiver.url + "/hook"})
    assert patched.status == 200, patched.body
    handset = "+14155550500"

    stop = await _text(gw, handset, " stop ")
    assert await _wait_inbox(gw, handset, 1) == [DEFAULT_TEXTS[OPT_OUT]]
    listed = await gw.call("GET", "/v1/opt-outs")
    [opt_out] = listed.body["data"]
    assert (opt_out["sender"], opt_out["address"]) == (OURS, handset)
    assert (opt_out["keyword"], opt_out["source"]) == ("STOP", "keyword")
    confirmation = (await gw.call("GET", f"/v1/messages?to={quote(handset)}")).body["data"][0]
    assert confirmation["metadata"] == {"system": "opt_out_confirmation"}
    assert confirmation["from"] == OURS

    # A later send fails without reaching the (simulated) carrier.
    [blocked] = await _send(gw, handset)
    await _refused(gw, blocked)
    assert await _inbox(gw, handset) == [DEFAULT_TEXTS[OPT_OUT]]

    # STOP again (another synonym): still opted out, no second confirmation.
    again = await _text(gw, handset, "Unsubscribe")
    await asyncio.sleep(0.3)
    assert await _replies_queued(gw, handset) == 1
    assert len((await gw.call("GET", "/v1/opt-outs")).body["data"]) == 1

    # The customer's webhook still sees both STOPs as ordinary inbound messages.
    def received() -> list[str]:
        return [
            r.json["data"]["message"]["id"]
            for r in receiver.delivered("/hook")
            if r.json["type"] == "message.received"
        ]

    await receiver.wait_until(lambda: len(received()) >= 2)
    assert received() == [stop["id"], again["id"]]

    await _text(gw, handset, "START")
    assert (await _wait_inbox(gw, handset, 2))[1] == DEFAULT_TEXTS[OPT_IN]
    assert (await gw.call("GET", "/v1/opt-outs")).body["data"] == []
    [allowed] = await _send(gw, handset)
    await _delivered(gw, allowed)

    await _text(gw, handset, "help")
    assert (await _wait_inbox(gw, handset, 4))[3] == DEFAULT_TEXTS[HELP]
    # Not keywords: a sentence holding one, or a keyword with other words.
    await _text(gw, handset, "stop please")
    await _text(gw, handset, "please stop")
    await asyncio.sleep(0.3)
    assert await _opt_out_rows(gw) == []
    assert await _replies_queued(gw, handset) == 3


async def test_help_is_answered_while_opted_out(gw: RunningGateway) -> None:
    handset = "+14155550501"
    await _text(gw, handset, "QUIT")
    await _wait_inbox(gw, handset, 1)
    await _text(gw, handset, "HELP")
    assert await _wait_inbox(gw, handset, 2) == [DEFAULT_TEXTS[OPT_OUT], DEFAULT_TEXTS[HELP]]
    assert len(await _opt_out_rows(gw)) == 1


async def test_stop_applies_to_the_number_written_to_and_stopall_to_every_number(gw: RunningGateway) -> None:
    made = await gw.call(
        "POST",
        "/v1/channels",
        {"type": "sandbox", "name": "two", "senders": ["+14155550901", "+14155550902"]},
    )
    assert made.status == 201, made.body
    handset, first, second = "+14155550502", "+14155550901", "+14155550902"

    await _text(gw, handset, "STOP", to=first, channel="two")
    await _wait_inbox(gw, handset, 1)
    [from_first] = await _send(gw, handset, channel="two", **{"from": first})
    [from_second] = await _send(gw, handset, channel="two", **{"from": second})
    await _refused(gw, from_first)
    await _delivered(gw, from_second)

    await _text(gw, handset, "Stop All", to=second, channel="two")
    assert (await _wait_inbox(gw, handset, 3))[2] == DEFAULT_TEXTS[OPT_OUT]
    [stopall] = (await gw.call("GET", "/v1/opt-outs?sender=*")).body["data"]
    assert stopall["keyword"] == "STOPALL"
    [from_second_again] = await _send(gw, handset, channel="two", **{"from": second})
    await _refused(gw, from_second_again)
    # STOPALL again: nothing new, no second confirmation.
    await _text(gw, handset, "stopall", to=first, channel="two")
    await asyncio.sleep(0.3)
    assert await _replies_queued(gw, handset) == 2

    # START to one number lifts its own opt-out and the account-wide one.
    await _text(gw, handset, "unstop", to=first, channel="two")
    assert (await _wait_inbox(gw, handset, 4))[3] == DEFAULT_TEXTS[OPT_IN]
    assert await _opt_out_rows(gw) == []
    for sender in (first, second):
        [sent] = await _send(gw, handset, channel="two", **{"from": sender})
        await _delivered(gw, sent)


async def test_the_accounts_texts_are_sent_and_can_be_reset(gw: RunningGateway) -> None:
    me = await gw.call("GET", "/v1/accounts/me")
    assert me.body["texts"] == dict(DEFAULT_TEXTS)
    changed = await gw.call(
        "PATCH", "/v1/accounts/me", {"texts": {"help": " Acme alerts: call 555-0100 ", "opt_out": "Bye!"}}
    )
    assert changed.status == 200, changed.body
    assert changed.body["texts"] == {**DEFAULT_TEXTS, "help": "Acme alerts: call 555-0100", "opt_out": "Bye!"}
    handset = "+14155550503"
    await _text(gw, handset, "HELP")
    await _text(gw, handset, "END")
    assert await _wait_inbox(gw, handset, 2) == ["Acme alerts: call 555-0100", "Bye!"]

    reset = await gw.call("PATCH", "/v1/accounts/me", {"texts": {"help": None}})
    assert reset.body["texts"] == {**DEFAULT_TEXTS, "opt_out": "Bye!"}
    for bad in ({"texts": {"stop": "x"}}, {"texts": {"help": "  "}}, {"texts": "hi"}):
        refused = await gw.call("PATCH", "/v1/accounts/me", bad)
        assert refused.status in (400, 422), (bad, refused.body)
    assert (await gw.call("GET", "/v1/accounts/me")).body["texts"] == reset.body["texts"]
    sender_key = (await gw.call("POST", "/v1/keys", {"name": "s", "role": "sender"})).body["secret"]
    forbidden = await gw.call("PATCH", "/v1/accounts/me", {"texts": {"help": "x"}}, key=sender_key)
    assert forbidden.status == 403


async def test_opt_outs_api_add_list_delete_and_bad_input(gw: RunningGateway) -> None:
    added = await gw.call("POST", "/v1/opt-outs", {"address": "083 000 0001", "default_country": "ZA"})
    assert added.status == 201, added.body
    opt_out = added.body
    assert opt_out["id"].startswith("opt_")
    assert (opt_out["address"], opt_out["sender"], opt_out["source"]) == ("+27830000001", "*", "api")
    assert opt_out["keyword"] is None
    again = await gw.call("POST", "/v1/opt-outs", {"address": "+27830000001", "sender": "*"})
    assert again.status == 200 and again.body == opt_out
    whatsapp = await gw.call(
        "POST", "/v1/opt-outs", {"address": "whatsapp:+14155550504", "sender": "whatsapp:+14155550999"}
    )
    assert whatsapp.status == 201, whatsapp.body

    listed = await gw.call("GET", "/v1/opt-outs?limit=1")
    assert [o["id"] for o in listed.body["data"]] == [whatsapp.body["id"]]
    rest = await gw.call("GET", f"/v1/opt-outs?limit=1&cursor={listed.body['next_cursor']}")
    assert [o["id"] for o in rest.body["data"]] == [opt_out["id"]] and rest.body["next_cursor"] is None
    by_address = await gw.call("GET", "/v1/opt-outs?address=%2B27830000001")
    assert [o["id"] for o in by_address.body["data"]] == [opt_out["id"]]
    by_sender = await gw.call("GET", "/v1/opt-outs?sender=whatsapp:%2B14155550999")
    assert [o["id"] for o in by_sender.body["data"]] == [whatsapp.body["id"]]

    before = await _opt_out_rows(gw)
    for bad, status, code in (
        ({"address": "hello"}, 422, "invalid_address"),
        ({"address": "+14155550100", "sender": "nope"}, 422, "invalid_address"),
        ({"address": "+14155550100", "default_country": "XX"}, 422, "invalid_value"),
        ({"address": "+14155550100", "extra": 1}, 400, None),
        ({}, 400, None),
    ):
        refused = await gw.call("POST", "/v1/opt-outs", bad)
        assert refused.status == status, (bad, refused.body)
        if code is not None:
            assert refused.body["error"]["code"] == code
    assert (await gw.call("GET", "/v1/opt-outs?address=hello")).status == 422
    assert (await gw.call("GET", "/v1/opt-outs?cursor=nonsense")).status == 400
    assert await _opt_out_rows(gw) == before

    assert (await gw.call("DELETE", f"/v1/opt-outs/{opt_out['id']}")).status == 204
    assert (await gw.call("DELETE", f"/v1/opt-outs/{opt_out['id']}")).status == 404
    assert [o["id"] for o in (await gw.call("GET", "/v1/opt-outs")).body["data"]] == [whatsapp.body["id"]]


async def test_roles_and_tenancy(gw: RunningGateway) -> None:
    viewer = (await gw.call("POST", "/v1/keys", {"name": "v", "role": "viewer"})).body["secret"]
    sender = (await gw.call("POST", "/v1/keys", {"name": "s", "role": "sender"})).body["secret"]
    added = await gw.call("POST", "/v1/opt-outs", {"address": "+14155550505"})
    for key in (viewer, sender):
        assert (await gw.call("GET", "/v1/opt-outs", key=key)).status == 200
        refused = await gw.call("POST", "/v1/opt-outs", {"address": "+14155550506"}, key=key)
        assert refused.status == 403
        assert (await gw.call("DELETE", f"/v1/opt-outs/{added.body['id']}", key=key)).status == 403

    accounts = []
    for name in ("a", "b"):
        made = await gw.call("POST", "/v1/accounts", {"name": name})
        key = await gw.call(
            "POST", "/v1/keys", {"name": name, "role": "admin", "account_id": made.body["id"]}
        )
        accounts.append((made.body["id"], key.body["secret"]))
    (a_id, a_key), (b_id, b_key) = accounts
    of_a = await gw.call("POST", "/v1/opt-outs", {"address": "+14155550507"}, key=a_key)
    assert of_a.status == 201 and of_a.body["account_id"] == a_id
    # The parent reads and changes its subaccount's; siblings and children see nothing of others.
    assert [o["id"] for o in (await gw.call("GET", f"/v1/opt-outs?account_id={a_id}")).body["data"]] == [
        of_a.body["id"]
    ]
    assert (await gw.call("GET", f"/v1/opt-outs?account_id={a_id}", key=b_key)).status == 404
    assert (await gw.call("GET", "/v1/opt-outs", key=b_key)).body["data"] == []
    assert (await gw.call("DELETE", f"/v1/opt-outs/{of_a.body['id']}", key=b_key)).status == 404
    assert (await gw.call("DELETE", f"/v1/opt-outs/{added.body['id']}", key=a_key)).status == 404
    made_for_b = await gw.call("POST", f"/v1/opt-outs?account_id={b_id}", {"address": "+14155550508"})
    assert made_for_b.status == 201 and made_for_b.body["account_id"] == b_id
    sibling = await gw.call("POST", f"/v1/opt-outs?account_id={b_id}", {"address": "+14155550509"}, key=a_key)
    assert sibling.status == 404
    assert (await gw.call("DELETE", f"/v1/opt-outs/{of_a.body['id']}")).status == 204


async def test_opt_outs_added_by_api_block_sends_and_bulk_fails_only_those(gw: RunningGateway) -> None:
    people = ["+14155550510", "+14155550511", "+14155550512"]
    assert (await gw.call("POST", "/v1/opt-outs", {"address": people[1]})).status == 201
    ids = await _send(gw, people)
    await _delivered(gw, ids[0])
    await _refused(gw, ids[1])
    await _delivered(gw, ids[2])
    assert await _inbox(gw, people[1]) == []
    assert await _inbox(gw, people[0]) == ["news"]


async def test_a_subaccount_on_its_parents_channel_honours_the_parents_opt_outs(gw: RunningGateway) -> None:
    made = await gw.call("POST", "/v1/accounts", {"name": "child"})
    child_key = (
        await gw.call("POST", "/v1/keys", {"name": "c", "role": "admin", "account_id": made.body["id"]})
    ).body["secret"]
    handset = "+14155550513"
    await _text(gw, handset, "STOP")  # to the parent's default sandbox channel
    await _wait_inbox(gw, handset, 1)
    [blocked] = await _send(gw, handset, key=child_key)
    await _refused(gw, blocked, key=child_key)
