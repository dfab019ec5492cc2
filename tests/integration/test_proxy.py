"""``/v1/proxy``: sessions relayed end to end through sandbox handsets, pool reuse, system
messages, expiry, tenancy, bad input and the inbound routing order."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import func, select, update

from support.gateway import RunningGateway
from support.receiver import Receiver
from tidings.core.clock import now_ms
from tidings.store.schema import proxy_numbers, proxy_sessions

P1, P2, P3 = "+14155557001", "+14155557002", "+14155557003"
TEXTS = {
    "session_start": "Your session has started, send a message!",
    "session_end": "This session has ended, talk to you again soon!",
    "no_session": "An active session was not found.",
}


async def _senders(gw: RunningGateway, *numbers: str) -> str:
    """Make ``numbers`` senders of the primary account's sandbox channel; its id."""
    listed = await gw.call("GET", "/v1/channels")
    [sandbox] = [c for c in listed.body["data"] if c["name"] == "sandbox"]
    patched = await gw.call("PATCH", f"/v1/channels/{sandbox['id']}", {"senders": list(numbers)})
    assert patched.status == 200, patched.body
    return str(sandbox["id"])


async def _pool(gw: RunningGateway, *numbers: str, key: str | None = None) -> list[dict[str, Any]]:
    added = []
    for number in numbers:
        made = await gw.call("POST", "/v1/proxy/numbers", {"number": number}, key=key)
        assert made.status == 201, made.body
        added.append(made.body)
    return added


async def _session(
    gw: RunningGateway, a: str, b: str, key: str | None = None, **extra: Any
) -> dict[str, Any]:
    made = await gw.call(
        "POST", "/v1/proxy/sessions", {"participant_a": a, "participant_b": b, **extra}, key=key
    )
    assert made.status == 201, made.body
    return dict(made.body)


async def _write(gw: RunningGateway, handset: str, to: str, body: str) -> None:
    sent = await gw.call("POST", f"/v1/sandbox/handsets/{handset}/messages", {"to": to, "body": body})
    assert sent.status == 201, sent.body


async def _inbox(
    gw: RunningGateway, handset: str, count: int, *, timeout: float = 10.0
) -> list[tuple[str, str]]:
    """``(from, body)`` of what a handset received, oldest first, once it holds ``count``."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        got = await gw.call("GET", f"/v1/sandbox/handsets/{handset}/messages")
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


async def _counts(gw: RunningGateway) -> tuple[int, int]:
    async with gw.gateway.db.read() as conn:
        numbers = (await conn.execute(select(func.count()).select_from(proxy_numbers))).scalar_one()
        sessions = (await conn.execute(select(func.count()).select_from(proxy_sessions))).scalar_one()
    return numbers, sessions


async def _expire_now(gw: RunningGateway, session_id: str) -> None:
    """Time travel: the session's ttl ran out a moment ago."""
    async with gw.gateway.db.write() as conn:
        await conn.execute(
            update(proxy_sessions).where(proxy_sessions.c.id == session_id).values(expires_at=now_ms() - 1)
        )


async def _subaccount(gw: RunningGateway, name: str, role: str = "admin") -> tuple[str, str]:
    created = await gw.call("POST", "/v1/accounts", {"name": name})
    assert created.status == 201, created.body
    key = await gw.call("POST", "/v1/keys", {"name": name, "role": role, "account_id": created.body["id"]})
    assert key.status == 201, key.body
    return created.body["id"], key.body["secret"]


async def test_a_session_relays_both_ways_from_the_pool_number(gw: RunningGateway) -> None:
    channel_id = await _senders(gw, P1)
    [number] = await _pool(gw, P1)
    assert number["number"] == P1 and number["channel_id"] == channel_id
    a, b = "+14155551001", "whatsapp:+14155551002"
    session = await _session(gw, a, b)
    assert session["proxy_number"] == P1 and session["status"] == "active"
    assert session["expires_at"] is None and session["id"].startswith("pxs_")

    await _write(gw, a, P1, "hello from a")
    assert await _inbox(gw, b, 1) == [(f"whatsapp:{P1}", "hello from a")]
    await _write(gw, b, f"whatsapp:{P1}", "hello from b")
    assert await _inbox(gw, a, 1) == [(P1, "hello from b")]
    await _quiet(gw)
    # Nobody saw the other's number, and no system message went out (none is configured).
    assert await _inbox(gw, a, 1) == [(P1, "hello from b")]
    assert await _inbox(gw, b, 1) == [(f"whatsapp:{P1}", "hello from a")]
    outbound = (await gw.call("GET", "/v1/messages?direction=outbound")).body["data"]
    assert {m["from"] for m in outbound} == {P1, f"whatsapp:{P1}"}
    got = await gw.call("GET", f"/v1/proxy/sessions/{session['id']}")
    assert got.status == 200 and got.body == session


async def test_a_pool_of_two_serves_more_than_two_sessions(gw: RunningGateway) -> None:
    await _senders(gw, P1, P2, P3)
    await _pool(gw, P1, P2)
    pairs = [
        ("+14155552001", "+14155552002"),
        ("+14155552003", "+14155552004"),
        ("+14155552005", "+14155552006"),
    ]
    sessions = [await _session(gw, a, b) for a, b in pairs]
    # The least busy number first: P1, P2, then P1 again for people on neither.
    assert [s["proxy_number"] for s in sessions] == [P1, P2, P1]
    # 2001 is on P1, 2003 on P2: no number is free of both.
    clash = await gw.call(
        "POST", "/v1/proxy/sessions", {"participant_a": "+14155552001", "participant_b": "+14155552003"}
    )
    assert clash.status == 409 and clash.body["error"]["code"] == "pool_exhausted"
    # 2001 again, with someone new: P2 has no 2001.
    fourth = await _session(gw, "+14155552001", "+14155552007")
    assert fourth["proxy_number"] == P2

    # Each message on a shared number reaches its own session's other participant only.
    await _write(gw, "+14155552005", P1, "for 2006")
    await _write(gw, "+14155552001", P2, "for 2007")
    await _write(gw, "+14155552001", P1, "for 2002")
    assert await _inbox(gw, "+14155552006", 1) == [(P1, "for 2006")]
    assert await _inbox(gw, "+14155552007", 1) == [(P2, "for 2007")]
    assert await _inbox(gw, "+14155552002", 1) == [(P1, "for 2002")]
    await _quiet(gw)
    assert (await gw.call("GET", "/v1/sandbox/handsets/+14155552004/messages")).body["data"] == []

    listed = await gw.call("GET", "/v1/proxy/numbers")
    assert {k: listed.body[k] for k in ("available", "in_use", "pool_size", "active_sessions")} == {
        "available": 0,
        "in_use": 2,
        "pool_size": 2,
        "active_sessions": 4,
    }
    assert {n["number"]: n["active_sessions"] for n in listed.body["data"]} == {P1: 2, P2: 2}
    await _pool(gw, P3)
    listed = await gw.call("GET", "/v1/proxy/numbers?limit=2")
    assert (listed.body["available"], listed.body["pool_size"]) == (1, 3)
    assert len(listed.body["data"]) == 2 and listed.body["next_cursor"] is not None
    rest = await gw.call("GET", f"/v1/proxy/numbers?limit=2&cursor={listed.body['next_cursor']}")
    assert [n["number"] for n in rest.body["data"]] == [P1] and rest.body["next_cursor"] is None
    assert len((await gw.call("GET", "/v1/proxy/sessions?status=active")).body["data"]) == 4


async def test_concurrent_creates_never_share_a_participant_on_a_number(gw: RunningGateway) -> None:
    await _senders(gw, P1)
    await _pool(gw, P1)
    bodies = [{"participant_a": "+14155553001", "participant_b": f"+1415555310{i}"} for i in range(4)]
    answers = await asyncio.gather(*(gw.call("POST", "/v1/proxy/sessions", body) for body in bodies))
    assert sorted(a.status for a in answers) == [201, 409, 409, 409]


async def test_start_end_and_no_session_messages(gw: RunningGateway) -> None:
    await _senders(gw, P1)
    await _pool(gw, P1)
    assert (await gw.call("GET", "/v1/proxy/settings")).body == dict.fromkeys(TEXTS)
    patched = await gw.call("PATCH", "/v1/proxy/settings", TEXTS)
    assert patched.status == 200 and patched.body == TEXTS
    a, b, stranger = "+14155554001", "+14155554002", "+14155554003"
    session = await _session(gw, a, b)
    assert await _inbox(gw, a, 1) == [(P1, TEXTS["session_start"])]
    assert await _inbox(gw, b, 1) == [(P1, TEXTS["session_start"])]

    await _write(gw, stranger, P1, "anyone there?")
    assert await _inbox(gw, stranger, 1) == [(P1, TEXTS["no_session"])]

    ended = await gw.call("DELETE", f"/v1/proxy/sessions/{session['id']}")
    assert ended.status == 200, ended.body
    assert ended.body["status"] == "ended" and ended.body["ended_reason"] == "deleted"
    assert (await _inbox(gw, a, 2))[1] == (P1, TEXTS["session_end"])
    assert (await _inbox(gw, b, 2))[1] == (P1, TEXTS["session_end"])
    again = await gw.call("DELETE", f"/v1/proxy/sessions/{session['id']}")
    assert again.status == 409 and again.body["error"]["code"] == "session_ended"
    # After the end, the number answers a former participant as anyone else.
    await _write(gw, a, P1, "still there?")
    assert (await _inbox(gw, a, 3))[2] == (P1, TEXTS["no_session"])
    await _quiet(gw)
    assert len(await _inbox(gw, b, 2)) == 2

    cleared = await gw.call("PATCH", "/v1/proxy/settings", {"no_session": None})
    assert cleared.body == {**TEXTS, "no_session": None}
    await _write(gw, stranger, P1, "hello?")
    await _quiet(gw)
    assert len(await _inbox(gw, stranger, 1)) == 1


async def test_a_message_after_expiry_ends_the_session_with_the_end_message(gw: RunningGateway) -> None:
    assert gw.gateway.proxy_expiry is not None
    await gw.gateway.proxy_expiry.stop()  # this test is about the message finding it expired
    await _senders(gw, P1)
    await _pool(gw, P1)
    await gw.call("PATCH", "/v1/proxy/settings", {"session_end": TEXTS["session_end"]})
    a, b = "+14155555001", "+14155555002"
    before = now_ms()
    session = await _session(gw, a, b, ttl_minutes=30)
    assert session["expires_at"] is not None
    got = await gw.call("GET", f"/v1/proxy/sessions/{session['id']}")
    assert got.body["expires_at"] == session["expires_at"]
    async with gw.gateway.db.read() as conn:
        expires_at = (
            await conn.execute(
                select(proxy_sessions.c.expires_at).where(proxy_sessions.c.id == session["id"])
            )
        ).scalar_one()
    assert before + 30 * 60_000 <= expires_at <= now_ms() + 30 * 60_000

    await _expire_now(gw, session["id"])
    await _write(gw, a, P1, "too late")
    assert await _inbox(gw, a, 1) == [(P1, TEXTS["session_end"])]
    assert await _inbox(gw, b, 1) == [(P1, TEXTS["session_end"])]
    await _quiet(gw)
    assert [body for _, body in await _inbox(gw, b, 1)] == [TEXTS["session_end"]]  # not "too late"
    ended = await gw.call("GET", f"/v1/proxy/sessions/{session['id']}")
    assert (ended.body["status"], ended.body["ended_reason"]) == ("ended", "expired")


async def test_the_sweep_ends_expired_sessions_and_announces_them(
    gw: RunningGateway, receiver: Receiver
) -> None:
    await gw.call("PATCH", "/v1/accounts/me", {"webhook_url": receiver.url + "/hooks"})
    await _senders(gw, P1)
    await _pool(gw, P1)
    session = await _session(gw, "+14155556001", "+14155556002", ttl_minutes=1)
    await _expire_now(gw, session["id"])
    await receiver.wait_until(lambda: len(receiver.delivered()) >= 2)
    events = [r.json for r in receiver.delivered()]
    assert [e["type"] for e in events] == ["proxy.session.created", "proxy.session.ended"]
    assert events[1]["data"]["session"]["id"] == session["id"]
    assert events[1]["data"]["session"]["ended_reason"] == "expired"
    assert (await gw.call("GET", f"/v1/proxy/sessions/{session['id']}")).body["status"] == "ended"
    # Its participants are free on P1 again.
    assert (await _session(gw, "+14155556001", "+14155556002"))["proxy_number"] == P1


async def test_messages_to_a_session_never_reach_the_webhook_as_received(
    gw: RunningGateway, receiver: Receiver
) -> None:
    await gw.call("PATCH", "/v1/accounts/me", {"webhook_url": receiver.url + "/hooks"})
    await _senders(gw, P1)
    await _pool(gw, P1)
    session = await _session(gw, "+14155557101", "+14155557102")
    await _write(gw, "+14155557101", P1, "masked")
    await _write(gw, "+14155557103", P1, "to the pool, no session")
    await _write(gw, "+14155557101", "+14155557999", "not a pool number")
    await gw.call("DELETE", f"/v1/proxy/sessions/{session['id']}")
    await receiver.wait_until(
        lambda: (
            any(r.json["type"] == "message.received" for r in receiver.delivered())
            and any(r.json["type"] == "proxy.session.ended" for r in receiver.delivered())
        )
    )
    await _quiet(gw)
    received = [r.json for r in receiver.delivered() if r.json["type"] == "message.received"]
    assert [e["data"]["message"]["body"] for e in received] == ["not a pool number"]
    kinds = [r.json["type"] for r in receiver.delivered() if r.json["type"].startswith("proxy.")]
    assert kinds == ["proxy.session.created", "proxy.session.ended"]


async def test_tenancy_siblings_get_404_and_the_parent_reads(gw: RunningGateway) -> None:
    sandbox_id = await _senders(gw, P1, P2, P3)
    a_id, a_key = await _subaccount(gw, "tenant A")
    b_id, b_key = await _subaccount(gw, "tenant B")
    # Subaccounts without channels of their own use their parent's sandbox channel.
    [a_number] = await _pool(gw, P1, key=a_key)
    assert a_number["channel_id"] == sandbox_id and a_number["account_id"] == a_id
    taken = await gw.call("POST", "/v1/proxy/numbers", {"number": P1}, key=b_key)
    assert taken.status == 409 and taken.body["error"]["code"] == "number_taken"
    await _pool(gw, P2, key=b_key)
    session = await _session(gw, "+14155558001", "+14155558002", key=a_key)
    assert session["account_id"] == a_id and session["proxy_number"] == P1

    for method in ("GET", "DELETE"):
        assert (await gw.call(method, f"/v1/proxy/sessions/{session['id']}", key=b_key)).status == 404
    assert (await gw.call("GET", f"/v1/proxy/numbers/{a_number['id']}", key=b_key)).status == 404
    assert (await gw.call("DELETE", f"/v1/proxy/numbers/{a_number['id']}", key=b_key)).status == 404
    assert (await gw.call("GET", f"/v1/proxy/sessions?account_id={a_id}", key=b_key)).status == 404
    assert (await gw.call("GET", f"/v1/proxy/numbers?account_id={a_id}", key=b_key)).status == 404
    assert (await gw.call("GET", "/v1/proxy/sessions", key=b_key)).body["data"] == []
    # The parent reads a child's sessions and pool; a child never reads the parent's.
    assert (await gw.call("GET", f"/v1/proxy/sessions/{session['id']}")).body["id"] == session["id"]
    listed = await gw.call("GET", f"/v1/proxy/sessions?account_id={a_id}")
    assert [s["id"] for s in listed.body["data"]] == [session["id"]]
    assert (await gw.call("GET", f"/v1/proxy/numbers?account_id={b_id}")).body["pool_size"] == 1
    await _pool(gw, P3)
    own = await _session(gw, "+14155558003", "+14155558004")
    assert (await gw.call("GET", f"/v1/proxy/sessions/{own['id']}", key=a_key)).status == 404
    me = (await gw.call("GET", "/v1/accounts/me")).body["id"]
    assert (await gw.call("GET", f"/v1/proxy/numbers?account_id={me}", key=a_key)).status == 404

    # The relay of a subaccount's session runs on the parent's channel, in the child's name.
    await _write(gw, "+14155558001", P1, "from a child's session")
    assert await _inbox(gw, "+14155558002", 1) == [(P1, "from a child's session")]


async def test_roles_viewers_read_senders_run_sessions_admins_the_pool(gw: RunningGateway) -> None:
    await _senders(gw, P1, P2)
    await _pool(gw, P1)
    viewer = (await gw.call("POST", "/v1/keys", {"name": "v", "role": "viewer"})).body["secret"]
    sender = (await gw.call("POST", "/v1/keys", {"name": "s", "role": "sender"})).body["secret"]
    body = {"participant_a": "+14155559001", "participant_b": "+14155559002"}
    assert (await gw.call("POST", "/v1/proxy/sessions", body, key=viewer)).status == 403
    session = await _session(gw, "+14155559001", "+14155559002", key=sender)
    assert (await gw.call("GET", f"/v1/proxy/sessions/{session['id']}", key=viewer)).status == 200
    assert (await gw.call("DELETE", f"/v1/proxy/sessions/{session['id']}", key=viewer)).status == 403
    for key in (viewer, sender):
        assert (await gw.call("POST", "/v1/proxy/numbers", {"number": P2}, key=key)).status == 403
        assert (await gw.call("PATCH", "/v1/proxy/settings", {"no_session": "x"}, key=key)).status == 403
    assert (await gw.call("GET", "/v1/proxy/numbers", key=viewer)).body["pool_size"] == 1
    assert (await gw.call("GET", "/v1/proxy/sessions", auth=False)).status == 401


async def test_bad_input_is_refused_and_changes_nothing(gw: RunningGateway) -> None:
    await _senders(gw, P1)
    empty = await gw.call(
        "POST", "/v1/proxy/sessions", {"participant_a": "+14155550601", "participant_b": "+14155550602"}
    )
    assert empty.status == 409 and empty.body["error"]["code"] == "pool_exhausted"
    await _pool(gw, P1)
    before = await _counts(gw)
    a = "+14155550601"
    cases: list[tuple[str, str, Any, int, str]] = [
        ("POST", "/v1/proxy/numbers", {}, 400, "missing_field"),
        ("POST", "/v1/proxy/numbers", {"number": "hello"}, 422, "invalid_number"),
        ("POST", "/v1/proxy/numbers", {"number": "+14155559999"}, 422, "not_a_sender"),
        ("POST", "/v1/proxy/numbers", {"number": P1}, 409, "number_exists"),
        ("POST", "/v1/proxy/numbers", {"number": P1, "extra": 1}, 400, "unknown_field"),
        ("POST", "/v1/proxy/sessions", {"participant_a": a}, 400, "missing_field"),
        (
            "POST",
            "/v1/proxy/sessions",
            {"participant_a": a, "participant_b": "telegram:12345"},
            422,
            "invalid_address",
        ),
        ("POST", "/v1/proxy/sessions", {"participant_a": "nope", "participant_b": a}, 422, "invalid_address"),
        ("POST", "/v1/proxy/sessions", {"participant_a": a, "participant_b": a}, 422, "same_participant"),
        (
            "POST",
            "/v1/proxy/sessions",
            {"participant_a": a, "participant_b": P2, "ttl_minutes": 0},
            422,
            "invalid_value",
        ),
        (
            "POST",
            "/v1/proxy/sessions",
            {"participant_a": a, "participant_b": P2, "ttl_minutes": [5]},
            400,
            "invalid_type",
        ),
        ("GET", "/v1/proxy/sessions?status=bogus", None, 400, "invalid_parameter"),
        ("GET", "/v1/proxy/sessions?cursor=bogus", None, 400, "invalid_cursor"),
        ("GET", "/v1/proxy/sessions/pxs_01JD0000000000000000000000", None, 404, "proxy_session_not_found"),
        ("DELETE", "/v1/proxy/numbers/+14155559999", None, 404, "proxy_number_not_found"),
        ("PATCH", "/v1/proxy/settings", {"session_start": ""}, 422, "invalid_value"),
        ("PATCH", "/v1/proxy/settings", {"greeting": "hi"}, 400, "unknown_field"),
    ]
    for method, path, body, status, code in cases:
        got = await gw.call(method, path, body)
        assert (got.status, got.body["error"]["code"]) == (status, code), (path, body, got.body)
    assert await _counts(gw) == before
    assert (await gw.call("GET", "/v1/proxy/settings")).body == dict.fromkeys(TEXTS)


async def test_removing_a_pool_number(gw: RunningGateway) -> None:
    await _senders(gw, P1, P2)
    [p1, _] = await _pool(gw, P1, P2)
    session = await _session(gw, "+14155550701", "+14155550702")
    assert session["proxy_number"] == P1
    busy = await gw.call("DELETE", f"/v1/proxy/numbers/{p1['id']}")
    assert busy.status == 409 and busy.body["error"]["code"] == "number_in_use"
    assert (await gw.call("DELETE", f"/v1/proxy/numbers/{P2}")).status == 204
    removed = await gw.call("DELETE", f"/v1/proxy/numbers/{p1['id']}?end_sessions=true")
    assert removed.status == 204
    ended = (await gw.call("GET", f"/v1/proxy/sessions/{session['id']}")).body
    assert (ended["status"], ended["ended_reason"], ended["proxy_number"]) == ("ended", "number_removed", P1)
    assert (await gw.call("GET", "/v1/proxy/numbers")).body["pool_size"] == 0
    # A removed number may come back (a new pool entry); messages to it are no longer ours meanwhile.
    again = await _pool(gw, P1)
    assert again[0]["id"] != p1["id"]
