"""``/compat/smsproxy`` (seed 003, Flowroute SMS Proxy): every request of the seed's README
replayed as written (host and prefix changed) with its documented answer, the no-TN refusal, a
Flowroute inbound callback relayed through native routing to the other participant's handset,
the seed's system messages, bad input, auth, tenancy, and the surface switched off."""

from __future__ import annotations

import asyncio
import re
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import func, select, update

from support.gateway import GatewayFactory, RunningGateway, UrlFactory
from tidings.core.clock import now_ms
from tidings.features.compat.smsproxy.ids import native_session_id
from tidings.store.schema import proxy_numbers, proxy_sessions

PREFIX = "/compat/smsproxy"
# The seed's own numbers: its TN, and the participants of its sample responses.
TN, TN2 = "12062992129", "12062992130"
A, B = "12065551212", "12065551213"
STRANGER = "12065550100"
JSON = {"Content-Type": "application/json"}
SEED_TIME = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")
SESSION_ID = re.compile(r"^[0-9a-f]{32}$")
# The seed's settings.py defaults, as its system messages carry them.
START = "[YOUR ORG NAME]: Your new session has started, send a message!"
END = "[YOUR ORG NAME]: This session has ended, talk to you again soon!"
NO_SESSION = "[YOUR ORG NAME]: An active session was not found. Please contact support@yourorg.com"


async def _seed(
    gw: RunningGateway, method: str, path: str, data: str | None = None, *, key: str | None = None
) -> tuple[int, Any]:
    """A seed curl: ``-H "Content-Type: application/json" -X METHOD -d 'DATA' …/path``."""
    got = await gw.call(method, PREFIX + path, data=data, headers=JSON, key=key)
    return got.status, got.body


async def _senders(gw: RunningGateway, *numbers: str) -> None:
    """Make these seed numbers senders of the primary account's sandbox channel (a virtual TN
    must be a number of the account's channels)."""
    listed = await gw.call("GET", "/v1/channels")
    [sandbox] = [c for c in listed.body["data"] if c["name"] == "sandbox"]
    patched = await gw.call("PATCH", f"/v1/channels/{sandbox['id']}", {"senders": [f"+{n}" for n in numbers]})
    assert patched.status == 200, patched.body


async def _inbox(
    gw: RunningGateway, handset: str, count: int, *, key: str | None = None
) -> list[tuple[str, str]]:
    """``(from, body)`` of what a sandbox handset received, oldest first, once it holds ``count``."""
    deadline = asyncio.get_running_loop().time() + 10
    while True:
        got = await gw.call("GET", f"/v1/sandbox/handsets/+{handset}/messages", key=key)
        assert got.status == 200, got.body
        seen = [(m["from"], m["body"]) for m in reversed(got.body["data"])]
        if len(seen) >= count:
            return seen
        assert asyncio.get_running_loop().time() < deadline, f"{handset} got {seen}"
        await asyncio.sleep(0.05)


async def _quiet(gw: RunningGateway) -> None:
    """Wait until nothing queued is left to send (so an inbox is complete)."""
    deadline = asyncio.get_running_loop().time() + 10
    while True:
        pending = await gw.call("GET", "/v1/messages?status=queued")
        sending = await gw.call("GET", "/v1/messages?status=sending")
        if not pending.body["data"] and not sending.body["data"]:
            return
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.05)


async def _callback_path(gw: RunningGateway, key: str | None = None) -> str:
    """The path and query of the account's Flowroute callback URL."""
    got = await gw.call("GET", f"{PREFIX}/callback_url", key=key)
    assert got.status == 200, got.body
    url = urlsplit(got.body["callback_url"])
    assert url.path == f"{PREFIX}/" and gw.url.endswith(url.netloc)
    return f"{url.path}?{url.query}"


def _flowroute_sms(sender: str, to: str, body: str) -> dict[str, Any]:
    """Flowroute's inbound SMS callback body (Messaging API v2.1, numbers without ``+``)."""
    return {
        "data": {
            "type": "message",
            "id": "mdr2-39cadeace66e11e7aff806cd7f24ba2d",
            "attributes": {
                "from": sender,
                "to": to,
                "body": body,
                "is_mms": False,
                "direction": "inbound",
                "status": "delivered",
                "timestamp": "2017-12-22T01:52:39.39Z",
                "message_encoding": 0,
                "message_type": "longcode",
                "amount_display": "$0.00",
                "amount_nanodollars": 0,
            },
        }
    }


async def _counts(gw: RunningGateway) -> tuple[int, int]:
    async with gw.gateway.db.read() as conn:
        numbers = (await conn.execute(select(func.count()).select_from(proxy_numbers))).scalar_one()
        sessions = (await conn.execute(select(func.count()).select_from(proxy_sessions))).scalar_one()
    return numbers, sessions


async def _subaccount(gw: RunningGateway, name: str) -> tuple[str, str]:
    created = await gw.call("POST", "/v1/accounts", {"name": name})
    assert created.status == 201, created.body
    key = await gw.call("POST", "/v1/keys", {"name": name, "role": "admin", "account_id": created.body["id"]})
    assert key.status == 201, key.body
    return created.body["id"], key.body["secret"]


async def test_every_seed_request_answers_as_documented(gw: RunningGateway) -> None:
    await _senders(gw, TN)

    # POST /tn
    status, body = await _seed(gw, "POST", "/tn", '{"value":"12062992129"}')
    assert (status, body) == (200, {"message": "successfully added TN to pool", "value": "12062992129"})

    # POST /session, with the seed's expiry window of 10 minutes
    status, created = await _seed(
        gw, "POST", "/session", f'{{"participant_a":"{A}", "participant_b":"{B}", "expiry_window": 10}}'
    )
    assert status == 200, created
    assert set(created) == {
        "virtual_tn",
        "session_id",
        "expiry_date",
        "participant_a",
        "participant_b",
        "message",
    }
    assert created["message"] == "created session" and created["virtual_tn"] == TN
    assert (created["participant_a"], created["participant_b"]) == (A, B)
    assert SESSION_ID.match(created["session_id"]) and SEED_TIME.match(created["expiry_date"])
    session_id = created["session_id"]

    # GET /tn: the sample's in-use pool of one
    status, pool = await _seed(gw, "GET", "/tn")
    assert (status, pool) == (
        200,
        {
            "available": 0,
            "in_use": 1,
            "pool_size": 1,
            "virtual_tns": [{"session_id": session_id, "value": TN}],
        },
    )

    # GET /session
    status, listed = await _seed(gw, "GET", "/session")
    assert status == 200 and listed["total_sessions"] == 1
    [shown] = listed["sessions"]
    assert shown == {
        "id": session_id,
        "virtual_tn": TN,
        "participant_a": A,
        "participant_b": B,
        "date_created": shown["date_created"],
        "expiry_date": created["expiry_date"],
    }
    created_at = datetime.strptime(shown["date_created"], "%Y-%m-%d %H:%M:%S")
    expires_at = datetime.strptime(shown["expiry_date"], "%Y-%m-%d %H:%M:%S")
    assert (expires_at - created_at).total_seconds() in (600, 601)  # the window, to the second

    # The native session behind it is the same one: the seed id is the native id's 128 bits.
    native = await gw.call("GET", "/v1/proxy/sessions")
    [row] = native.body["data"]
    assert row["proxy_number"] == f"+{TN}" and row["participant_a"] == f"+{A}" and row["status"] == "active"

    # The seed's first DELETE /session example is not JSON (a quote is missing): refused, 400.
    status, body = await _seed(gw, "DELETE", "/session", '{"session_id":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx}')
    assert status == 400 and set(body) == {"message"}
    # Its placeholder id, well formed: no such session.
    status, body = await _seed(gw, "DELETE", "/session", '{"session_id":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}')
    assert (status, body) == (404, {"message": "Session could not be deleted because it does not exist"})

    # DELETE /session
    status, body = await _seed(gw, "DELETE", "/session", f'{{"session_id":"{session_id}"}}')
    assert (status, body) == (200, {"message": "successfully ended session", "session_id": session_id})
    status, listed = await _seed(gw, "GET", "/session")
    assert (status, listed) == (200, {"total_sessions": 0, "sessions": []})
    status, body = await _seed(gw, "DELETE", "/session", f'{{"session_id":"{session_id}"}}')
    assert status == 404, body  # ended: the seed deleted it

    # DELETE /tn
    status, body = await _seed(gw, "DELETE", "/tn", '{"value":"12062992129"}')
    assert (status, body) == (200, {"message": "successfully removed TN from pool", "value": "12062992129"})
    status, pool = await _seed(gw, "GET", "/tn")
    assert (status, pool) == (200, {"available": 0, "in_use": 0, "pool_size": 0, "virtual_tns": []})
    status, body = await _seed(gw, "DELETE", "/tn", '{"value":"12062992129"}')
    assert (status, body) == (404, {"message": "Virtual TN could not be deleted because it does not exist"})


async def test_one_session_per_tn_then_no_virtual_tns_available(gw: RunningGateway) -> None:
    no_tn = {"message": "Could not create session -- No virtual TNs available"}
    status, body = await _seed(gw, "POST", "/session", f'{{"participant_a":"{A}", "participant_b":"{B}"}}')
    assert (status, body) == (400, no_tn)  # an empty pool

    await _senders(gw, TN, TN2)
    for tn in (TN, TN2):
        status, body = await _seed(gw, "POST", "/tn", f'{{"value":"{tn}"}}')
        assert status == 200, body
    status, first = await _seed(gw, "POST", "/session", f'{{"participant_a":"{A}", "participant_b":"{B}"}}')
    assert status == 200 and first["expiry_date"] is None  # no window: until deleted
    # Other people, and the native reuse rule would share a number: the seed takes a free TN.
    status, second = await _seed(
        gw, "POST", "/session", f'{{"participant_a":"{STRANGER}", "participant_b":"12065550101"}}'
    )
    assert status == 200 and {first["virtual_tn"], second["virtual_tn"]} == {TN, TN2}
    status, pool = await _seed(gw, "GET", "/tn")
    assert pool["available"] == 0 and pool["in_use"] == 2 and pool["pool_size"] == 2
    assert sorted(tn["session_id"] for tn in pool["virtual_tns"]) == sorted(
        [first["session_id"], second["session_id"]]
    )
    before = await _counts(gw)
    status, body = await _seed(
        gw, "POST", "/session", '{"participant_a":"12065550102", "participant_b":"12065550103"}'
    )
    assert (status, body) == (400, no_tn)
    assert await _counts(gw) == before

    # Ending one frees its TN for the next session.
    status, _ = await _seed(gw, "DELETE", "/session", f'{{"session_id":"{first["session_id"]}"}}')
    assert status == 200
    status, third = await _seed(
        gw, "POST", "/session", '{"participant_a":"12065550102", "participant_b":"12065550103"}'
    )
    assert status == 200 and third["virtual_tn"] == first["virtual_tn"]


async def test_an_inbound_callback_is_relayed_from_the_tn_with_the_seed_system_messages(
    gw: RunningGateway,
) -> None:
    await _senders(gw, TN)
    status, _ = await _seed(gw, "POST", "/tn", f'{{"value":"{TN}"}}')
    assert status == 200
    status, created = await _seed(gw, "POST", "/session", f'{{"participant_a":"{A}", "participant_b":"{B}"}}')
    assert status == 200
    # The start message, from the TN, to both (the seed's settings.py default, with ORG_NAME).
    assert await _inbox(gw, A, 1) == [(f"+{TN}", START)]
    assert await _inbox(gw, B, 1) == [(f"+{TN}", START)]

    # Flowroute posts A's message to the callback URL: no credentials, the URL's token.
    callback = await _callback_path(gw)
    posted = await gw.call("POST", callback, _flowroute_sms(A, TN, "hello from a"), auth=False)
    assert posted.status == 200, posted.body
    assert await _inbox(gw, B, 2) == [(f"+{TN}", START), (f"+{TN}", "hello from a")]
    # B answers; the older flat callback body is read too.
    flat = {"to": TN, "from": B, "body": "hello from b", "id": "mdr2-flat"}
    posted = await gw.call("POST", callback, flat, auth=False)
    assert posted.status == 200, posted.body
    assert await _inbox(gw, A, 2) == [(f"+{TN}", START), (f"+{TN}", "hello from b")]

    # Someone outside the session writing to the TN gets the no-session message.
    posted = await gw.call("POST", callback, _flowroute_sms(STRANGER, TN, "hi?"), auth=False)
    assert posted.status == 200, posted.body
    assert await _inbox(gw, STRANGER, 1) == [(f"+{TN}", NO_SESSION)]

    # The inbound messages are native ones: stored as received on the sandbox channel.
    received = await gw.call("GET", "/v1/messages?direction=inbound")
    assert {(m["from"], m["to"], m["body"]) for m in received.body["data"]} == {
        (f"+{A}", f"+{TN}", "hello from a"),
        (f"+{B}", f"+{TN}", "hello from b"),
        (f"+{STRANGER}", f"+{TN}", "hi?"),
    }

    # DELETE sends the end message to both.
    status, _ = await _seed(gw, "DELETE", "/session", f'{{"session_id":"{created["session_id"]}"}}')
    assert status == 200
    assert (await _inbox(gw, A, 3))[-1] == (f"+{TN}", END)
    assert (await _inbox(gw, B, 3))[-1] == (f"+{TN}", END)
    await _quiet(gw)
    # Nobody saw the other's number.
    outbound = await gw.call("GET", "/v1/messages?direction=outbound")
    assert {m["from"] for m in outbound.body["data"]} == {f"+{TN}"}

    # The account's credentials authenticate POST / as well (another relay of our own).
    status, _ = await _seed(gw, "POST", "/session", f'{{"participant_a":"{A}", "participant_b":"{B}"}}')
    assert status == 200
    posted = await gw.call("POST", f"{PREFIX}/", _flowroute_sms(B, TN, "again"))
    assert posted.status == 200, posted.body
    assert (await _inbox(gw, A, 5))[-1] == (f"+{TN}", "again")


async def test_the_seed_settings_word_the_system_messages(
    gateway_factory: GatewayFactory, sqlite_url_factory: UrlFactory
) -> None:
    gw = await gateway_factory(
        sqlite_url_factory,
        compat={
            "smsproxy": {
                "ORG_NAME": "Acme",
                "session_start_msg": "Say hi!",
                "SESSION_END_MSG": None,
                "no_session_msg": "No session here.",
            }
        },
    )
    await _senders(gw, TN)
    status, _ = await _seed(gw, "POST", "/tn", f'{{"value":"{TN}"}}')
    assert status == 200
    # They became the account's native proxy texts; the one set to null is not sent.
    texts = await gw.call("GET", "/v1/proxy/settings")
    assert texts.body == {
        "session_start": "[ACME]: Say hi!",
        "session_end": None,
        "no_session": "[ACME]: No session here.",
    }
    status, created = await _seed(gw, "POST", "/session", f'{{"participant_a":"{A}", "participant_b":"{B}"}}')
    assert status == 200
    assert await _inbox(gw, A, 1) == [(f"+{TN}", "[ACME]: Say hi!")]
    # Texts an account chose itself are kept: the settings fill only an account with none.
    await gw.call("PATCH", "/v1/proxy/settings", {"session_start": "Our own", "no_session": None})
    status, _ = await _seed(gw, "DELETE", "/session", f'{{"session_id":"{created["session_id"]}"}}')
    assert status == 200
    await _senders(gw, TN, TN2)
    status, _ = await _seed(gw, "POST", "/tn", f'{{"value":"{TN2}"}}')
    assert status == 200
    texts = await gw.call("GET", "/v1/proxy/settings")
    assert texts.body == {"session_start": "Our own", "session_end": None, "no_session": None}


async def test_bad_input_gets_the_seed_shape_and_changes_nothing(gw_sqlite: RunningGateway) -> None:
    gw = gw_sqlite
    await _senders(gw, TN)
    status, _ = await _seed(gw, "POST", "/tn", f'{{"value":"{TN}"}}')
    assert status == 200
    before = await _counts(gw)
    bad = [
        ("POST", "/tn", '{"value":"2062992129"}'),  # ten digits
        ("POST", "/tn", '{"value":"+12062992129"}'),  # native form, not the seed's
        ("POST", "/tn", '{"value":"1XXXXXXXXXX"}'),  # the README's placeholder
        ("POST", "/tn", '{"value":"11234567890"}'),  # no such area code
        ("POST", "/tn", '{"value": true}'),
        ("POST", "/tn", '{"number":"12062992129"}'),
        ("POST", "/tn", "not json"),
        ("POST", "/tn", '["12062992129"]'),
        ("POST", "/tn", '{"value":"12062992129"}'),  # already in the pool
        ("POST", "/tn", '{"value":"12062992131"}'),  # no channel sends from it
        ("DELETE", "/tn", '{"value":"1206"}'),
        ("POST", "/session", f'{{"participant_a":"{A}"}}'),
        ("POST", "/session", f'{{"participant_a":"{A}", "participant_b":"206555121"}}'),
        ("POST", "/session", f'{{"participant_a":"{A}", "participant_b":"{A}"}}'),
        ("POST", "/session", f'{{"participant_a":"{A}", "participant_b":"{B}", "expiry_window":"10"}}'),
        ("POST", "/session", f'{{"participant_a":"{A}", "participant_b":"{B}", "expiry_window":0}}'),
        ("POST", "/session", f'{{"participant_a":"{A}", "participant_b":"{B}", "expiry_window":1.5}}'),
        ("DELETE", "/session", "{}"),
        ("DELETE", "/session", '{"session_id": 7}'),
    ]
    for method, path, data in bad:
        status, body = await _seed(gw, method, path, data)
        assert status == 400, (path, data, status, body)
        assert set(body) == {"message"} and body["message"], (path, data, body)
    assert await _counts(gw) == before
    assert (await _seed(gw, "POST", "/tn", '{"value":"12062992129"}'))[1] == {
        "message": "Virtual TN already exists"
    }
    # A 32-hex id of no session, and an unknown path or method: the seed's shape too.
    status, body = await _seed(gw, "DELETE", "/session", '{"session_id":"366910827c8e4a6593943a28e4931668"}')
    assert (status, body) == (404, {"message": "Session could not be deleted because it does not exist"})
    status, body = await _seed(gw, "GET", "/nowhere")
    assert (status, body) == (404, {"message": "Not found"})
    status, body = await _seed(gw, "PUT", "/tn", '{"value":"12062992129"}')
    assert (status, body) == (405, {"message": "Method not allowed"})
    # A callback that is not Flowroute's, or for a number outside the pool: nothing stored.
    callback = await _callback_path(gw)
    posted = await gw.call("POST", callback, {"text": "hi"}, auth=False)
    assert posted.status == 400 and set(posted.body) == {"message"}
    posted = await gw.call("POST", callback, _flowroute_sms(A, "12062992199", "hi"), auth=False)
    assert (posted.status, posted.body) == (
        404,
        {"message": "12062992199 is not a virtual TN of this account"},
    )
    received = await gw.call("GET", "/v1/messages?direction=inbound")
    assert received.body["data"] == []


async def test_auth_roles_and_callback_tokens(gw_sqlite: RunningGateway) -> None:
    gw = gw_sqlite
    await _senders(gw, TN)
    for method, path, data in (
        ("POST", "/tn", '{"value":"12062992129"}'),
        ("GET", "/tn", None),
        ("DELETE", "/tn", '{"value":"12062992129"}'),
        ("POST", "/session", f'{{"participant_a":"{A}", "participant_b":"{B}"}}'),
        ("GET", "/session", None),
        ("DELETE", "/session", '{"session_id":"366910827c8e4a6593943a28e4931668"}'),
        ("GET", "/callback_url", None),
        ("POST", "/", None),
    ):
        got = await gw.call(method, PREFIX + path, data=data, headers=JSON, auth=False)
        assert got.status == 401 and set(got.body) == {"message"}, (method, path, got.body)
        assert "WWW-Authenticate" in got.headers
        wrong = await gw.call(
            method, PREFIX + path, data=data, headers={**JSON, "Authorization": "Bearer nope"}
        )
        assert wrong.status == 401 and set(wrong.body) == {"message"}, (method, path, wrong.body)

    # HTTP Basic with the account id and auth token works as the API key does.
    me = (await gw.call("GET", "/v1/accounts/me")).body
    basic = gw.basic(me["id"], me["auth_token"])
    got = await gw.call(
        "POST", f"{PREFIX}/tn", data=f'{{"value":"{TN}"}}', headers={**JSON, **basic}, auth=False
    )
    assert got.status == 200, got.body

    # A viewer reads the pool but changes nothing; a sender starts sessions, not TNs.
    viewer = (await gw.call("POST", "/v1/keys", {"name": "v", "role": "viewer"})).body["secret"]
    sender = (await gw.call("POST", "/v1/keys", {"name": "s", "role": "sender"})).body["secret"]
    assert (await _seed(gw, "GET", "/tn", key=viewer))[0] == 200
    status, body = await _seed(
        gw, "POST", "/session", f'{{"participant_a":"{A}", "participant_b":"{B}"}}', key=viewer
    )
    assert status == 403 and set(body) == {"message"}
    status, body = await _seed(gw, "DELETE", "/tn", f'{{"value":"{TN}"}}', key=sender)
    assert status == 403 and set(body) == {"message"}
    assert (await _seed(gw, "GET", "/callback_url", key=sender))[0] == 403
    status, _ = await _seed(
        gw, "POST", "/session", f'{{"participant_a":"{A}", "participant_b":"{B}"}}', key=sender
    )
    assert status == 200
    # Posting an inbound message with credentials takes the sender role.
    viewed = await gw.call("POST", f"{PREFIX}/", _flowroute_sms(B, TN, "from a viewer"), key=viewer)
    assert viewed.status == 403 and set(viewed.body) == {"message"}

    # The callback URL's token is the account's: changed, or moved to another account, it fails.
    callback = await _callback_path(gw)
    path, _, query = callback.partition("?")
    token = re.search(r"token=([0-9a-f]+)", query)
    assert token is not None
    forged = query.replace(token.group(1), "0" * len(token.group(1)))
    sub_id, _ = await _subaccount(gw, "other")
    moved = query.replace(me["id"], sub_id)
    for attempt in (f"{path}?{forged}", f"{path}?{moved}", f"{path}?account_id={me['id']}", path):
        posted = await gw.call("POST", attempt, _flowroute_sms(A, TN, "forged"), auth=False)
        assert posted.status == 401 and set(posted.body) == {"message"}, (attempt, posted.body)
    received = await gw.call("GET", "/v1/messages?direction=inbound")
    assert received.body["data"] == []


async def test_an_account_sees_and_reaches_only_its_own_pool_and_sessions(gw: RunningGateway) -> None:
    await _senders(gw, TN, TN2)
    status, _ = await _seed(gw, "POST", "/tn", f'{{"value":"{TN}"}}')
    assert status == 200
    status, mine = await _seed(gw, "POST", "/session", f'{{"participant_a":"{A}", "participant_b":"{B}"}}')
    assert status == 200

    # A subaccount (with its own key) uses the parent's sandbox channel for its own TN.
    _, sub_key = await _subaccount(gw, "tenant")
    assert (await _seed(gw, "GET", "/tn", key=sub_key))[1] == {
        "available": 0,
        "in_use": 0,
        "pool_size": 0,
        "virtual_tns": [],
    }
    assert (await _seed(gw, "GET", "/session", key=sub_key))[1] == {"total_sessions": 0, "sessions": []}
    status, body = await _seed(
        gw, "DELETE", "/session", f'{{"session_id":"{mine["session_id"]}"}}', key=sub_key
    )
    assert (status, body) == (404, {"message": "Session could not be deleted because it does not exist"})
    status, body = await _seed(gw, "DELETE", "/tn", f'{{"value":"{TN}"}}', key=sub_key)
    assert status == 404, body
    # The parent's TN is the parent's: a subaccount cannot add it on the same channel.
    assert (await _seed(gw, "POST", "/tn", f'{{"value":"{TN}"}}', key=sub_key))[0] == 400

    status, _ = await _seed(gw, "POST", "/tn", f'{{"value":"{TN2}"}}', key=sub_key)
    assert status == 200
    status, theirs = await _seed(
        gw, "POST", "/session", f'{{"participant_a":"{A}", "participant_b":"{STRANGER}"}}', key=sub_key
    )
    assert status == 200 and theirs["virtual_tn"] == TN2
    status, pool = await _seed(gw, "GET", "/tn")
    assert [tn["value"] for tn in pool["virtual_tns"]] == [TN]
    status, listed = await _seed(gw, "GET", "/session")
    assert [s["id"] for s in listed["sessions"]] == [mine["session_id"]]

    # The parent's callback token reaches only the parent's TNs: the subaccount's is not found.
    parent_callback = await _callback_path(gw)
    posted = await gw.call("POST", parent_callback, _flowroute_sms(A, TN2, "sneaky"), auth=False)
    assert posted.status == 404 and set(posted.body) == {"message"}
    # The subaccount's own callback relays into its own session.
    sub_callback = await _callback_path(gw, key=sub_key)
    posted = await gw.call("POST", sub_callback, _flowroute_sms(STRANGER, TN2, "for a"), auth=False)
    assert posted.status == 200, posted.body
    assert (await _inbox(gw, A, 2, key=sub_key))[-1] == (f"+{TN2}", "for a")


async def test_the_surface_switched_off_answers_404(
    gateway_factory: GatewayFactory, sqlite_url_factory: UrlFactory
) -> None:
    gw = await gateway_factory(sqlite_url_factory, compat={"smsproxy": {"enabled": False}})
    await _senders(gw, TN)
    for method, path, data in (
        ("POST", "/tn", '{"value":"12062992129"}'),
        ("GET", "/tn", None),
        ("GET", "/session", None),
        ("POST", "/", "{}"),
    ):
        status, _ = await _seed(gw, method, path, data)
        assert status == 404, (method, path)
    assert await _counts(gw) == (0, 0)


async def test_native_sessions_on_a_tn_show_in_the_seed_lists(gw_sqlite: RunningGateway) -> None:
    gw = gw_sqlite
    await _senders(gw, TN)
    status, _ = await _seed(gw, "POST", "/tn", f'{{"value":"{TN}"}}')
    assert status == 200
    # Two native sessions share the TN (the native reuse rule); the seed's lists show both
    # sessions, and the TN with its newest one, each under the native id's hex form.
    made = []
    for a, b in ((A, B), (STRANGER, "12065550101")):
        native = await gw.call(
            "POST", "/v1/proxy/sessions", {"participant_a": f"+{a}", "participant_b": f"+{b}"}
        )
        assert native.status == 201, native.body
        made.append(native.body["id"])
    status, listed = await _seed(gw, "GET", "/session")
    assert listed["total_sessions"] == 2
    ids = [s["id"] for s in listed["sessions"]]
    assert [native_session_id(i) for i in ids] == made  # oldest first
    status, pool = await _seed(gw, "GET", "/tn")
    assert pool["virtual_tns"] == [{"session_id": ids[1], "value": TN}] and pool["in_use"] == 1
    # The seed's id ends the native session.
    status, body = await _seed(gw, "DELETE", "/session", f'{{"session_id":"{ids[1]}"}}')
    assert status == 200, body
    ended = await gw.call("GET", f"/v1/proxy/sessions/{made[1]}")
    assert ended.body["status"] == "ended" and ended.body["ended_reason"] == "deleted"
    status, pool = await _seed(gw, "GET", "/tn")
    assert pool["virtual_tns"] == [{"session_id": ids[0], "value": TN}]


async def test_after_the_expiry_window_both_hear_the_end_then_writers_get_no_session(
    gw: RunningGateway,
) -> None:
    await _senders(gw, TN)
    status, _ = await _seed(gw, "POST", "/tn", f'{{"value":"{TN}"}}')
    assert status == 200
    status, created = await _seed(
        gw, "POST", "/session", f'{{"participant_a":"{A}", "participant_b":"{B}", "expiry_window": 1}}'
    )
    assert status == 200
    # Time travel: the window ran out a moment ago.
    native_id = native_session_id(created["session_id"])
    async with gw.gateway.db.write() as conn:
        await conn.execute(
            update(proxy_sessions).where(proxy_sessions.c.id == native_id).values(expires_at=now_ms() - 1)
        )
    assert (await _seed(gw, "GET", "/session"))[1] == {"total_sessions": 0, "sessions": []}
    # The native sweep ends it (a message to it would too, with the same end message): the
    # end message reaches both, from the TN.
    deadline = asyncio.get_running_loop().time() + 10
    while (await gw.call("GET", f"/v1/proxy/sessions/{native_id}")).body["status"] != "ended":
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.05)
    assert await _inbox(gw, A, 2) == [(f"+{TN}", START), (f"+{TN}", END)]
    assert await _inbox(gw, B, 2) == [(f"+{TN}", START), (f"+{TN}", END)]
    # A later message is not relayed: its writer gets the no-session message.
    callback = await _callback_path(gw)
    posted = await gw.call("POST", callback, _flowroute_sms(A, TN, "too late"), auth=False)
    assert posted.status == 200, posted.body
    assert await _inbox(gw, A, 3) == [(f"+{TN}", START), (f"+{TN}", END), (f"+{TN}", NO_SESSION)]
    await _quiet(gw)
    assert await _inbox(gw, B, 2) == [(f"+{TN}", START), (f"+{TN}", END)]
    status, pool = await _seed(gw, "GET", "/tn")
    assert pool["available"] == 1 and pool["virtual_tns"] == [{"session_id": None, "value": TN}]
