"""Twilio Proxy v1 at ``/twilio/proxy/v1`` through the official SDK, unmodified, and raw HTTP:
a service, its phone numbers, a session whose participants arrive one by one, a relayed
message masked behind the pool number, closing; refusals that change nothing."""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import quote

import pytest
from twilio.base.exceptions import TwilioRestException

from support.gateway import RunningGateway
from support.twilio import TwilioClients, admin_credentials, sdk

P1, P2, P3 = "+14155557101", "+14155557102", "+14155557103"
ALICE, BOB, WANDA = "+14155552101", "+14155552102", "whatsapp:+14155552103"
V1 = "/twilio/proxy/v1/Services"


async def _senders(gw: RunningGateway, *numbers: str) -> None:
    """Make ``numbers`` senders of the primary account's sandbox channel (a pool number must be)."""
    listed = await gw.call("GET", "/v1/channels")
    [sandbox] = [c for c in listed.body["data"] if c["name"] == "sandbox"]
    patched = await gw.call("PATCH", f"/v1/channels/{sandbox['id']}", {"senders": list(numbers)})
    assert patched.status == 200, patched.body


async def _inbox(
    gw: RunningGateway, handset: str, count: int, timeout: float = 15.0
) -> list[tuple[str, str]]:
    """``(from, body)`` of what a handset received, oldest first, once it holds ``count``."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        got = await gw.call("GET", f"/v1/sandbox/handsets/{quote(handset)}/messages")
        seen = [(m["from"], m["body"]) for m in reversed(got.body["data"])]
        if len(seen) >= count:
            return seen
        assert asyncio.get_running_loop().time() < deadline, f"{handset} got {seen}"
        await asyncio.sleep(0.05)


async def _write(gw: RunningGateway, handset: str, to: str, body: str) -> None:
    sent = await gw.call("POST", f"/v1/sandbox/handsets/{quote(handset)}/messages", {"to": to, "body": body})
    assert sent.status == 201, sent.body


async def test_a_session_built_participant_by_participant_relays_masked_and_closes(
    gw: RunningGateway, twilio_clients: TwilioClients
) -> None:
    await _senders(gw, P1, P2)
    admin = await admin_credentials(gw)
    client = twilio_clients(gw, admin.account_sid, admin.auth_token)
    service = await sdk(client.proxy.v1.services.create, unique_name="rides", default_ttl=3600)
    assert service.sid.startswith("KS") and (service.unique_name, service.default_ttl) == ("rides", 3600)
    assert service.url == f"{gw.url}{V1}/{service.sid}"
    assert service.date_created is not None and service.date_created.tzinfo is not None
    rides = client.proxy.v1.services(service.sid)

    number = await sdk(rides.phone_numbers.create, phone_number=P1)
    assert number.sid.startswith("PN") and (number.phone_number, number.is_reserved, number.in_use) == (
        P1,
        False,
        0,
    )
    reserved = await sdk(rides.phone_numbers.create, phone_number=P2, is_reserved=True)
    assert reserved.is_reserved is True
    assert {n.sid for n in await sdk(rides.phone_numbers.list)} == {number.sid, reserved.sid}
    assert (await sdk(rides.phone_numbers(number.sid).fetch)).phone_number == P1

    session = await sdk(rides.sessions.create, unique_name="ride-1", mode="message-only")
    assert session.sid.startswith("KC") and (session.status, session.mode) == ("open", "message-only")
    assert session.ttl == 3600 and session.date_expiry is not None  # the service's DefaultTtl
    ride = rides.sessions(session.sid)
    alice = await sdk(ride.participants.create, identifier=ALICE, friendly_name="Alice")
    assert alice.sid.startswith("KP") and (alice.identifier, alice.friendly_name) == (ALICE, "Alice")
    assert alice.proxy_identifier is None  # the native session starts with the second participant
    assert alice.links["message_interactions"] == f"{alice.url}/MessageInteractions"
    bob = await sdk(ride.participants.create, identifier=BOB)
    assert (bob.proxy_identifier, bob.proxy_identifier_sid) == (P1, number.sid)  # not the reserved P2
    assert (await sdk(ride.fetch)).status == "in-progress"
    shown = {p.sid: p for p in await sdk(ride.participants.list)}
    assert set(shown) == {alice.sid, bob.sid} and shown[alice.sid].proxy_identifier == P1
    assert (await sdk(rides.phone_numbers(number.sid).fetch)).in_use == 1
    with pytest.raises(TwilioRestException) as third:
        await sdk(ride.participants.create, identifier="+14155552109")
    assert third.value.status == 400

    # Alice writes to the proxy number: Bob gets it from the proxy number, never from Alice.
    await _write(gw, ALICE, P1, "I'm outside")
    assert await _inbox(gw, BOB, 1) == [(P1, "I'm outside")]
    await _write(gw, BOB, P1, "Coming")
    assert await _inbox(gw, ALICE, 1) == [(P1, "Coming")]

    # The relays are the session's interactions, newest first; a message sent into the session
    # reaches the participant from the proxy number too.
    coming, outside = await sdk(ride.interactions.list)
    assert coming.sid.startswith("KI") and json.loads(coming.data) == {"body": "Coming"}
    assert (coming.inbound_participant_sid, coming.outbound_participant_sid) == (bob.sid, alice.sid)
    assert (outside.inbound_participant_sid, outside.outbound_participant_sid) == (alice.sid, bob.sid)
    assert (
        coming.inbound_resource_sid.startswith("SM") and coming.outbound_resource_sid == "SM" + coming.sid[2:]
    )
    assert coming.outbound_resource_status in {"queued", "sending", "sent", "delivered"}
    sent = await sdk(ride.participants(alice.sid).message_interactions.create, body="Your driver is here")
    assert sent.outbound_participant_sid == alice.sid and sent.inbound_resource_sid is None
    assert await _inbox(gw, ALICE, 2) == [(P1, "Coming"), (P1, "Your driver is here")]
    to_alice = await sdk(ride.participants(alice.sid).message_interactions.list)
    assert [i.sid for i in to_alice] == [sent.sid, coming.sid]
    fetched = await sdk(ride.participants(alice.sid).message_interactions(sent.sid).fetch)
    assert json.loads(fetched.data) == {"body": "Your driver is here"}
    assert (await sdk(ride.interactions(outside.sid).fetch)).outbound_participant_sid == bob.sid

    closed = await sdk(ride.update, status="closed")
    assert closed.status == "closed" and closed.closed_reason == "deleted" and closed.date_ended is not None
    assert (await sdk(rides.phone_numbers(number.sid).fetch)).in_use == 0
    await _write(gw, ALICE, P1, "hello?")
    await asyncio.sleep(0.5)
    assert await _inbox(gw, BOB, 1) == [(P1, "I'm outside")]  # nothing more is relayed
    assert [s.sid for s in await sdk(rides.sessions.list)] == [session.sid]

    # A session with both participants at once, WhatsApp on one side, on the reserved number
    # because a participant asks for it.
    both = await sdk(
        rides.sessions.create,
        ttl=600,
        participants=[
            json.dumps({"Identifier": ALICE}),
            json.dumps({"Identifier": WANDA, "ProxyIdentifier": P2}),
        ],
    )
    assert both.status == "in-progress" and both.ttl == 600
    people = await sdk(rides.sessions(both.sid).participants.list)
    assert sorted(p.proxy_identifier for p in people) == [P2, f"whatsapp:{P2}"]
    await _write(gw, WANDA, f"whatsapp:{P2}", "hola")
    assert (P2, "hola") in await _inbox(gw, ALICE, 3)
    assert await sdk(rides.sessions(both.sid).participants(people[1].sid).delete) is True
    assert (await sdk(rides.sessions(both.sid).fetch)).status == "closed"

    assert await sdk(ride.delete) is True
    with pytest.raises(TwilioRestException) as gone:
        await sdk(ride.fetch)
    assert (gone.value.status, gone.value.code) == (404, 20404)
    assert await sdk(rides.phone_numbers(reserved.sid).delete) is True
    assert [n.sid for n in await sdk(rides.phone_numbers.list)] == [number.sid]
    assert await sdk(rides.delete) is True
    pool = await gw.call("GET", "/v1/proxy/numbers")
    assert pool.body["data"] == []  # the service's numbers left the native pool with it


async def test_services_are_per_account_and_pages_follow_absolute_links(
    gw_sqlite: RunningGateway, twilio_clients: TwilioClients
) -> None:
    admin = await admin_credentials(gw_sqlite)
    client = twilio_clients(gw_sqlite, admin.account_sid, admin.auth_token)
    made = [(await sdk(client.proxy.v1.services.create, unique_name=f"s{i}")).sid for i in range(3)]
    auth = gw_sqlite.basic(admin.account_sid, admin.auth_token)
    first = await gw_sqlite.call("GET", f"{V1}?PageSize=2", headers=auth)
    assert first.status == 200 and set(first.body) == {"services", "meta"}
    assert first.body["meta"]["key"] == "services" and len(first.body["services"]) == 2
    assert first.body["meta"]["next_page_url"].startswith(
        f"{gw_sqlite.url}{V1}?PageSize=2&Page=1&PageToken=PA"
    )
    assert [s.sid for s in await sdk(client.proxy.v1.services.list, page_size=2)] == made
    renamed = await sdk(client.proxy.v1.services(made[0]).update, unique_name="renamed", default_ttl=0)
    assert (renamed.unique_name, renamed.default_ttl) == ("renamed", 0)

    sub = await sdk(client.api.v2010.accounts.create, friendly_name="tenant")
    tenant = twilio_clients(gw_sqlite, sub.sid, sub.auth_token)
    assert await sdk(tenant.proxy.v1.services.list) == []
    with pytest.raises(TwilioRestException) as hidden:
        await sdk(tenant.proxy.v1.services(made[0]).fetch)
    assert (hidden.value.status, hidden.value.code) == (404, 20404)
    with pytest.raises(TwilioRestException) as taken:
        await sdk(client.proxy.v1.services.create, unique_name="s1")
    assert taken.value.status == 400


async def _state(gw: RunningGateway, auth: dict[str, str], service: str) -> tuple[Any, ...]:
    sessions = await gw.call("GET", f"{V1}/{service}/Sessions", headers=auth)
    numbers = await gw.call("GET", f"{V1}/{service}/PhoneNumbers", headers=auth)
    services = await gw.call("GET", V1, headers=auth)
    pool = await gw.call("GET", "/v1/proxy/numbers")
    return (
        sessions.body["sessions"],
        numbers.body["phone_numbers"],
        services.body["services"],
        pool.body["data"],
    )


async def test_unsupported_and_bad_parameters_are_400s_that_change_nothing(gw_sqlite: RunningGateway) -> None:
    await _senders(gw_sqlite, P1)
    admin = await admin_credentials(gw_sqlite)
    auth = gw_sqlite.basic(admin.account_sid, admin.auth_token)
    made = await gw_sqlite.call("POST", V1, headers=auth, data={"UniqueName": "svc"})
    assert made.status == 201, made.body
    service = made.body["sid"]
    added = await gw_sqlite.call(
        "POST", f"{V1}/{service}/PhoneNumbers", headers=auth, data={"PhoneNumber": P1}
    )
    assert added.status == 201, added.body
    open_session = await gw_sqlite.call("POST", f"{V1}/{service}/Sessions", headers=auth, data={})
    assert open_session.status == 201 and open_session.body["status"] == "open"
    session = open_session.body["sid"]
    before = await _state(gw_sqlite, auth, service)

    sessions = f"{V1}/{service}/Sessions"
    refused = [
        (V1, {}, 21200),
        (V1, {"UniqueName": "svc"}, 21200),
        (V1, {"UniqueName": "x", "CallbackUrl": "https://example.com/cb"}, 20001),
        (V1, {"UniqueName": "x", "GeoMatchLevel": "country"}, 20001),
        (V1, {"UniqueName": "x", "DefaultTtl": "soon"}, 21200),
        (V1, {"UniqueName": "x", "Colour": "blue"}, 20001),
        (f"{V1}/{service}/PhoneNumbers", {"PhoneNumber": "+14155557199"}, 21200),  # not a sender
        (f"{V1}/{service}/PhoneNumbers", {"PhoneNumber": P1}, 21200),  # in the pool already
        (f"{V1}/{service}/PhoneNumbers", {}, 21200),
        (f"{V1}/{service}/PhoneNumbers", {"PhoneNumber": P2, "IsReserved": "maybe"}, 21200),
        (sessions, {"Mode": "voice-and-message"}, 20001),
        (sessions, {"Mode": "video"}, 21200),
        (sessions, {"Status": "in-progress"}, 20001),
        (sessions, {"Ttl": "-5"}, 21200),
        (sessions, {"DateExpiry": "2001-01-01T00:00:00Z"}, 21200),
        (sessions, {"Participants": "+14155552101"}, 21200),
        (sessions, {"Participants": '{"Identifier": "telegram:123"}'}, 21200),
        (sessions, {"Participants": '{"Identifier": "+14155552101", "Role": "x"}'}, 21200),
        (
            sessions,
            {"Participants": ['{"Identifier": "+14155552101"}', '{"Identifier": "+14155552101"}']},
            21200,
        ),
        (f"{sessions}/{session}", {"Status": "in-progress"}, 21200),
        (f"{sessions}/{session}", {"Ttl": "60"}, 20001),
        (f"{sessions}/{session}/Participants", {}, 21200),
        (f"{sessions}/{session}/Participants", {"Identifier": "nobody"}, 21200),
        (f"{sessions}/{session}/Participants", {"Identifier": ALICE, "ProxyIdentifier": P2}, 21200),
    ]
    waiting = await gw_sqlite.call(
        "POST", f"{sessions}/{session}/Participants", headers=auth, data={"Identifier": ALICE}
    )
    assert waiting.status == 201, waiting.body
    before = await _state(gw_sqlite, auth, service)
    interactions = f"{sessions}/{session}/Participants/{waiting.body['sid']}/MessageInteractions"
    refused += [
        (interactions, {"Body": "no number yet"}, 21200),
        (interactions, {}, 21602),
        (interactions, {"Body": "hi", "MediaUrl": "https://example.com/a.png"}, 20001),
    ]
    for path, data, code in refused:
        answer = await gw_sqlite.call("POST", path, headers=auth, data=data)
        assert (answer.status, answer.body["code"]) == (400, code), (path, data, answer.body)
        assert set(answer.body) == {"code", "message", "more_info", "status"}
    for method, path in [
        ("GET", f"{V1}/KS{'0' * 32}"),
        ("GET", f"{sessions}/KC{'0' * 32}"),
        ("DELETE", f"{V1}/{service}/PhoneNumbers/PN{'0' * 32}"),
        ("GET", f"{sessions}/{session}/Participants/KP{'0' * 32}"),
        ("GET", f"{sessions}/{session}/Interactions/KI{'0' * 32}"),
    ]:
        answer = await gw_sqlite.call(method, path, headers=auth)
        assert (answer.status, answer.body["code"]) == (404, 20404), (method, path, answer.body)
    assert await _state(gw_sqlite, auth, service) == before
    listed = await gw_sqlite.call("GET", f"{sessions}/{session}/Interactions", headers=auth)
    assert listed.status == 200 and listed.body["interactions"] == []


async def test_an_api_key_runs_sessions_but_not_the_pool(
    gw_sqlite: RunningGateway, twilio_clients: TwilioClients
) -> None:
    """An SK key (a native sender key) creates sessions and participants; services and phone
    numbers are pool configuration, for admins (403 20003)."""
    await _senders(gw_sqlite, P1)
    admin = await admin_credentials(gw_sqlite)
    owner = twilio_clients(gw_sqlite, admin.account_sid, admin.auth_token)
    service = await sdk(owner.proxy.v1.services.create, unique_name="keyed")
    await sdk(owner.proxy.v1.services(service.sid).phone_numbers.create, phone_number=P1)
    key = await sdk(owner.api.v2010.accounts(admin.account_sid).new_keys.create, friendly_name="app")
    by_key = twilio_clients(gw_sqlite, key.sid, key.secret, account_sid=admin.account_sid)
    keyed = by_key.proxy.v1.services(service.sid)
    session = await sdk(
        keyed.sessions.create,
        participants=[json.dumps({"Identifier": ALICE}), json.dumps({"Identifier": BOB})],
    )
    assert session.status == "in-progress"
    conversation = await sdk(by_key.conversations.v1.conversations.create, friendly_name="by key")
    assert conversation.account_sid == admin.account_sid
    for call, kwargs in (
        (by_key.proxy.v1.services.create, {"unique_name": "mine"}),
        (keyed.phone_numbers.create, {"phone_number": P2}),
        (keyed.delete, {}),
    ):
        with pytest.raises(TwilioRestException) as denied:
            await sdk(call, **kwargs)
        assert (denied.value.status, denied.value.code) == (403, 20003)
    assert [s.sid for s in await sdk(owner.proxy.v1.services.list)] == [service.sid]
