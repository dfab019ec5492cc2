"""Messages addressed to contacts, and inbound messages linked to the contact that sent them."""

from __future__ import annotations

from typing import Any

from support.gateway import RunningGateway


async def _contact(gw: RunningGateway, external_id: str, key: str | None = None, **addresses: str) -> str:
    made = await gw.call(
        "POST", "/v1/contacts", {"external_id": external_id, "addresses": addresses}, key=key
    )
    assert made.status == 201, made.body
    contact_id: str = made.body["id"]
    return contact_id


def _to(external_id: str, channel_type: str) -> dict[str, str]:
    return {"contact": external_id, "channel_type": channel_type}


async def test_a_message_to_a_contact_reaches_its_telegram_handset_and_its_reply_is_linked(
    gw: RunningGateway,
) -> None:
    thandi = await _contact(gw, "thandi", telegram="555000111", sms="+14155550500")
    sent = await gw.call(
        "POST", "/v1/messages", {"to": _to("thandi", "telegram"), "body": "Your order shipped"}
    )
    assert sent.status == 202, sent.body
    assert sent.body["accepted"] == 1 and sent.body["invalid"] == []
    [message_id] = sent.body["message_ids"]
    message = await gw.wait_for_status(message_id, {"delivered"})
    assert message["to"] == "telegram:555000111" and message["contact"] == thandi

    inbox = await gw.call("GET", "/v1/sandbox/handsets/telegram:555000111/messages")
    assert [m["body"] for m in inbox.body["data"]] == ["Your order shipped"]
    assert (await gw.call("GET", "/v1/sandbox/handsets/+14155550500/messages")).body["data"] == []

    reply = await gw.call(
        "POST", "/v1/sandbox/handsets/telegram:555000111/messages", {"to": "telegram:1", "body": "thanks"}
    )
    assert reply.status == 201, reply.body
    assert reply.body["contact"] == thandi
    stranger = await gw.call(
        "POST", "/v1/sandbox/handsets/telegram:999/messages", {"to": "telegram:1", "body": "who?"}
    )
    assert stranger.body["contact"] is None
    other = await gw.call("POST", "/v1/messages", {"to": "+14155550501", "body": "not hers"})
    assert other.status == 202

    for ref in ("thandi", thandi):
        listed = await gw.call("GET", f"/v1/messages?contact={ref}")
        assert listed.status == 200
        assert [m["id"] for m in listed.body["data"]] == [reply.body["id"], message_id]
    inbound = await gw.call("GET", "/v1/messages?contact=thandi&direction=inbound")
    assert [m["id"] for m in inbound.body["data"]] == [reply.body["id"]]
    assert (await gw.call("GET", "/v1/messages?contact=nobody")).body["data"] == []
    fetched = await gw.call("GET", f"/v1/messages/{reply.body['id']}")
    assert fetched.body["contact"] == thandi and fetched.body["from"] == "telegram:555000111"


async def test_an_unresolvable_single_contact_is_a_422_naming_it(gw: RunningGateway) -> None:
    await _contact(gw, "sms-only", sms="+14155550510")
    cases: list[tuple[Any, str, str]] = [
        (_to("sms-only", "telegram"), "no_address_for_channel_type", "to"),
        (_to("ghost", "sms"), "unknown_contact", "to"),
        (_to("sms-only", "fax"), "invalid_channel_type", "to.channel_type"),
        ([_to("ghost", "sms"), _to("sms-only", "viber")], "unknown_contact", "to[0]"),
    ]
    for to, code, field in cases:
        got = await gw.call("POST", "/v1/messages", {"to": to, "body": "hi"})
        assert got.status == 422, got.body
        assert (got.body["error"]["code"], got.body["error"]["field"]) == (code, field)
    personal = await gw.call(
        "POST", "/v1/messages", {"messages": [{"to": _to("sms-only", "whatsapp"), "body": "x"}]}
    )
    assert personal.status == 422
    assert personal.body["error"]["code"] == "no_address_for_channel_type"
    assert personal.body["error"]["field"] == "messages[0].to"
    malformed = await gw.call("POST", "/v1/messages", {"to": {"contact": "sms-only"}, "body": "hi"})
    assert malformed.status == 400 and malformed.body["error"]["field"] == "to"
    assert (await gw.call("GET", "/v1/messages")).body["data"] == []


async def test_a_bulk_send_mixes_contacts_and_numbers(gw: RunningGateway) -> None:
    ana = await _contact(gw, "ana", whatsapp="+14155550520", telegram="4242")
    ben = await _contact(gw, "ben", sms="+14155550521")
    sent = await gw.call(
        "POST",
        "/v1/messages",
        {
            "to": [
                "+14155550522",
                _to("ana", "whatsapp"),
                _to("ben", "sms"),
                "+1 415 555 0521",  # ben's number again, given raw: a duplicate
                _to("ben", "telegram"),
                _to("ghost", "sms"),
                "not a number",
                _to("ana", "telegram"),
            ],
            "body": "Sale starts now",
        },
    )
    assert sent.status == 202, sent.body
    assert sent.body["accepted"] == 4 and sent.body["duplicates"] == 1
    assert sent.body["invalid"] == [
        {"input": "contact:ben/telegram", "reason": "no_address_for_channel_type"},
        {"input": "contact:ghost/sms", "reason": "unknown_contact"},
        {"input": "not a number", "reason": "not_a_number"},
    ]
    batch = await gw.wait_for_batch(sent.body["id"])
    assert batch["status_counts"] == {"delivered": 4}
    shown = {}
    for message_id in sent.body["message_ids"]:
        message = (await gw.call("GET", f"/v1/messages/{message_id}")).body
        shown[message["to"]] = message["contact"]
    assert shown == {
        "+14155550522": None,
        "whatsapp:+14155550520": ana,
        "+14155550521": ben,
        "telegram:4242": ana,
    }
    to_ana = await gw.call("GET", "/v1/messages?contact=ana")
    assert {m["to"] for m in to_ana.body["data"]} == {"whatsapp:+14155550520", "telegram:4242"}

    personal = await gw.call(
        "POST",
        "/v1/messages",
        {
            "body": "Hi {{name}}",
            "recipients": [
                {"to": _to("ben", "sms"), "vars": {"name": "Ben"}},
                {"to": "+14155550523", "vars": {"name": "Cy"}},
                {"to": _to("ghost", "viber"), "vars": {"name": "Nobody"}},
            ],
        },
    )
    assert personal.status == 202, personal.body
    assert personal.body["accepted"] == 2
    assert personal.body["invalid"] == [{"input": "contact:ghost/viber", "reason": "unknown_contact"}]
    ids = personal.body["message_ids"]
    first = (await gw.call("GET", f"/v1/messages/{ids[0]}")).body
    assert (first["to"], first["body"], first["contact"]) == ("+14155550521", "Hi Ben", ben)
    assert (await gw.call("GET", f"/v1/messages/{ids[1]}")).body["contact"] is None


async def test_a_subaccount_addresses_only_its_own_contacts(gw: RunningGateway) -> None:
    await _contact(gw, "parents", sms="+14155550530")
    child = await gw.call("POST", "/v1/accounts", {"name": "child"})
    key = (await gw.call("POST", "/v1/keys", {"name": "c", "account_id": child.body["id"]})).body["secret"]
    refused = await gw.call("POST", "/v1/messages", {"to": _to("parents", "sms"), "body": "x"}, key=key)
    assert refused.status == 422 and refused.body["error"]["code"] == "unknown_contact"
    own = await _contact(gw, "parents", key=key, sms="+14155550531")
    sent = await gw.call("POST", "/v1/messages", {"to": _to("parents", "sms"), "body": "x"}, key=key)
    assert sent.status == 202
    message = (await gw.call("GET", f"/v1/messages/{sent.body['message_ids'][0]}", key=key)).body
    assert (message["to"], message["contact"]) == ("+14155550531", own)
