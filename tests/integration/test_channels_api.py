"""``/v1/channels``: create, list, fetch, change and delete; bad input refused with nothing
changed; credentials never shown; tenancy and roles."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from support.gateway import RunningGateway
from tidings.store.schema import channels

TOKEN = "tok_" + "5" * 28
OTHER_TOKEN = "tok_" + "6" * 28
ACCOUNT_SID = "AC" + "cd" * 16
LATER = (datetime.now(UTC) + timedelta(days=1)).isoformat()


async def _rows(gw: RunningGateway) -> list[dict[str, Any]]:
    async with gw.gateway.db.read() as conn:
        result = await conn.execute(select(channels).order_by(channels.c.id))
        return [dict(r._mapping) for r in result]


async def _bootstrap_channel(gw: RunningGateway) -> dict[str, Any]:
    listed = await gw.call("GET", "/v1/channels")
    assert listed.status == 200, listed.body
    [sandbox] = [c for c in listed.body["data"] if c["name"] == "sandbox"]
    return dict(sandbox)


async def _subaccount(gw: RunningGateway, name: str, key: str | None = None) -> tuple[str, str]:
    """A subaccount of the key's account and an admin key for it."""
    created = await gw.call("POST", "/v1/accounts", {"name": name}, key=key)
    assert created.status == 201, created.body
    made = await gw.call(
        "POST", "/v1/keys", {"name": name, "role": "admin", "account_id": created.body["id"]}, key=key
    )
    assert made.status == 201, made.body
    return str(created.body["id"]), str(made.body["secret"])


# --- the lifecycle -------------------------------------------------------------------------------


async def test_create_fetch_list_change_and_delete(gw: RunningGateway) -> None:
    made = await gw.call(
        "POST",
        "/v1/channels",
        {
            "type": "sandbox",
            "name": "paced",
            "settings": {"latency_ms": 5},
            "senders": ["+15005550006", "+15005550006", "ACME"],
            "mps": 20,
            "max_batch_size": 10,
            "max_segments": 4,
            "countries": ["za", "US"],
        },
    )
    assert made.status == 201, made.body
    channel = made.body
    assert channel["id"].startswith("chn_")
    assert channel["type"] == "sandbox" and channel["name"] == "paced"
    assert channel["senders"] == ["+15005550006", "ACME"]  # duplicates dropped, order kept
    assert channel["settings"]["latency_ms"] == 5 and channel["settings"]["failure_rate"] == 0
    assert (channel["mps"], channel["max_batch_size"], channel["max_segments"]) == (20, 10, 4)
    assert channel["countries"] == ["US", "ZA"]
    assert channel["has_credentials"] is False and channel["is_default"] is False
    assert channel["inherited"] is False

    fetched = await gw.call("GET", f"/v1/channels/{channel['id']}")
    assert fetched.status == 200 and fetched.body == channel
    listed = await gw.call("GET", "/v1/channels")
    assert [c["name"] for c in listed.body["data"]] == ["sandbox", "paced"]
    assert listed.body["next_cursor"] is None

    changed = await gw.call(
        "PATCH",
        f"/v1/channels/{channel['id']}",
        {"name": "steady", "settings": {"failure_rate": 0.5, "latency_ms": None}, "mps": None},
    )
    assert changed.status == 200, changed.body
    assert changed.body["name"] == "steady" and changed.body["mps"] is None
    # Settings merge: the given key changes, a null key returns to its default.
    assert changed.body["settings"]["failure_rate"] == 0.5 and changed.body["settings"]["latency_ms"] == 0
    assert changed.body["senders"] == ["+15005550006", "ACME"]  # left out: kept
    assert changed.body["updated_at"] >= channel["updated_at"]

    unchanged = await gw.call("PATCH", f"/v1/channels/{channel['id']}", {"name": "steady"})
    assert unchanged.status == 200 and unchanged.body["updated_at"] == changed.body["updated_at"]

    assert (await gw.call("DELETE", f"/v1/channels/{channel['id']}")).status == 204
    assert (await gw.call("GET", f"/v1/channels/{channel['id']}")).status == 404
    assert (await gw.call("DELETE", f"/v1/channels/{channel['id']}")).status == 404
    assert [c["name"] for c in (await gw.call("GET", "/v1/channels")).body["data"]] == ["sandbox"]
    sent = await gw.call("POST", "/v1/messages", {"to": "+14155550100", "body": "x", "channel": "steady"})
    assert sent.status == 422 and sent.body["error"]["code"] == "unknown_channel"
    # The name is free again.
    again = await gw.call("POST", "/v1/channels", {"type": "sandbox", "name": "steady"})
    assert again.status == 201 and again.body["id"] != channel["id"]


async def test_one_default_per_account_and_sends_follow_it(gw: RunningGateway) -> None:
    sandbox = await _bootstrap_channel(gw)
    assert sandbox["is_default"] is True
    second = await gw.call("POST", "/v1/channels", {"type": "sandbox", "name": "second", "is_default": True})
    assert second.status == 201 and second.body["is_default"] is True
    listed = (await gw.call("GET", "/v1/channels")).body["data"]
    assert [c["name"] for c in listed if c["is_default"]] == ["second"]

    sent = await gw.call("POST", "/v1/messages", {"to": "+14155550101", "body": "x"})
    assert sent.status == 202 and sent.body["channel_id"] == second.body["id"]

    back = await gw.call("PATCH", f"/v1/channels/{sandbox['id']}", {"is_default": True})
    assert back.status == 200 and back.body["is_default"] is True
    listed = (await gw.call("GET", "/v1/channels")).body["data"]
    assert [c["name"] for c in listed if c["is_default"]] == ["sandbox"]
    sent = await gw.call("POST", "/v1/messages", {"to": "+14155550102", "body": "x"})
    assert sent.body["channel_id"] == sandbox["id"]


async def test_delete_is_refused_while_routes_or_unfinished_messages_need_it(gw: RunningGateway) -> None:
    made = await gw.call("POST", "/v1/channels", {"type": "sandbox", "name": "busy"})
    channel_id = made.body["id"]
    spare = (await gw.call("POST", "/v1/channels", {"type": "sandbox", "name": "spare"})).body["id"]
    route = await gw.call(
        "POST", "/v1/routes", {"name": "r", "channel_id": spare, "fallback_channel_id": channel_id}
    )
    assert route.status == 201, route.body

    refused = await gw.call("DELETE", f"/v1/channels/{channel_id}")
    assert refused.status == 409 and refused.body["error"]["code"] == "channel_in_use"
    assert (await gw.call("DELETE", f"/v1/routes/{route.body['id']}")).status == 204

    scheduled = await gw.call(
        "POST", "/v1/messages", {"to": "+14155550103", "body": "later", "channel": "busy", "send_at": LATER}
    )
    assert scheduled.status == 202, scheduled.body
    refused = await gw.call("DELETE", f"/v1/channels/{channel_id}")
    assert refused.status == 409 and refused.body["error"]["code"] == "channel_busy"
    assert (await gw.call("GET", f"/v1/channels/{channel_id}")).status == 200

    [message_id] = scheduled.body["message_ids"]
    assert (await gw.call("DELETE", f"/v1/messages/{message_id}")).status == 200
    assert (await gw.call("DELETE", f"/v1/channels/{channel_id}")).status == 204
    # The message keeps pointing at its (deleted) channel.
    assert (await gw.call("GET", f"/v1/messages/{message_id}")).body["channel_id"] == channel_id


async def test_idempotency_key_repeats_the_first_answer(gw: RunningGateway) -> None:
    body = {"type": "sandbox", "name": "once"}
    first = await gw.call("POST", "/v1/channels", body, headers={"Idempotency-Key": "chan-1"})
    second = await gw.call("POST", "/v1/channels", body, headers={"Idempotency-Key": "chan-1"})
    assert first.status == second.status == 201 and first.body == second.body
    assert [c["name"] for c in (await gw.call("GET", "/v1/channels")).body["data"]] == ["sandbox", "once"]


async def test_list_pages_with_a_cursor(gw: RunningGateway) -> None:
    for n in range(4):
        assert (await gw.call("POST", "/v1/channels", {"type": "sandbox", "name": f"c{n}"})).status == 201
    seen: list[str] = []
    path = "/v1/channels?limit=2"
    for _ in range(5):
        page = await gw.call("GET", path)
        assert page.status == 200 and len(page.body["data"]) <= 2
        seen += [c["name"] for c in page.body["data"]]
        if page.body["next_cursor"] is None:
            break
        path = f"/v1/channels?limit=2&cursor={page.body['next_cursor']}"
    assert seen == ["sandbox", "c0", "c1", "c2", "c3"]


# --- bad input -----------------------------------------------------------------------------------

# Port 9 on loopback: nothing listens, so a send fails at once without leaving the host.
TWILIO = {
    "type": "twilio",
    "name": "tw",
    "settings": {"api_base_url": "http://127.0.0.1:9"},
    "credentials": {"account_sid": ACCOUNT_SID, "auth_token": TOKEN},
}

# (what, body, status, code, field)
BAD_CREATES: list[tuple[str, Any, int, str, str | None]] = [
    ("not json", b"{type: sandbox", 400, "invalid_json", None),
    ("a list", [1], 400, "invalid_type", None),
    ("no name", {"type": "sandbox"}, 400, "missing_field", "name"),
    ("blank name", {"type": "sandbox", "name": "  "}, 422, "invalid_value", "name"),
    ("unknown field", {"type": "sandbox", "name": "x", "colour": 1}, 400, "unknown_field", "colour"),
    ("unknown type", {"type": "pigeon", "name": "x"}, 422, "unknown_channel_type", "type"),
    (
        "settings not an object",
        {"type": "sandbox", "name": "x", "settings": "fast"},
        400,
        "invalid_type",
        "settings",
    ),
    (
        "setting out of range",
        {"type": "sandbox", "name": "x", "settings": {"failure_rate": 2}},
        422,
        "invalid_settings",
        "settings.failure_rate",
    ),
    (
        "unknown setting",
        {"type": "sandbox", "name": "x", "settings": {"colour": "red"}},
        422,
        "invalid_settings",
        "settings.colour",
    ),
    (
        "credentials missing the token",
        {**TWILIO, "credentials": {"account_sid": ACCOUNT_SID}},
        422,
        "invalid_credentials",
        "credentials",
    ),
    (
        "secret in the wrong field",
        {**TWILIO, "credentials": {"account_sid": TOKEN, "auth_token": TOKEN}},
        422,
        "invalid_credentials",
        "credentials.account_sid",
    ),
    (
        "credentials the sandbox does not take",
        {"type": "sandbox", "name": "x", "credentials": {"auth_token": TOKEN}},
        422,
        "invalid_credentials",
        "credentials.auth_token",
    ),
    ("mps of zero", {"type": "sandbox", "name": "x", "mps": 0}, 422, "invalid_value", "mps"),
    (
        "batch size too big",
        {"type": "sandbox", "name": "x", "max_batch_size": 10**6},
        422,
        "invalid_value",
        "max_batch_size",
    ),
    (
        "unknown country",
        {"type": "sandbox", "name": "x", "countries": ["XX"]},
        422,
        "invalid_value",
        "countries",
    ),
    (
        "sender too long",
        {"type": "sandbox", "name": "x", "senders": ["9" * 65]},
        422,
        "invalid_value",
        "senders[0]",
    ),
    ("duplicate name", {"type": "sandbox", "name": "sandbox"}, 409, "channel_exists", "name"),
]


@pytest.mark.parametrize(
    ("what", "body", "status", "code", "field"), BAD_CREATES, ids=[c[0] for c in BAD_CREATES]
)
async def test_bad_creates_are_refused_and_change_nothing(
    gw: RunningGateway, what: str, body: Any, status: int, code: str, field: str | None
) -> None:
    before = await _rows(gw)
    if isinstance(body, bytes):
        answer = await gw.call(
            "POST", "/v1/channels", data=body, headers={"Content-Type": "application/json"}
        )
    else:
        answer = await gw.call("POST", "/v1/channels", body)
    assert answer.status == status, (what, answer.body)
    assert answer.body["error"]["code"] == code
    assert answer.body["error"]["field"] == field
    assert answer.body["error"]["message"]
    assert TOKEN not in str(answer.body)
    assert await _rows(gw) == before


async def test_bad_changes_are_refused_and_change_nothing(gw: RunningGateway) -> None:
    sandbox = await _bootstrap_channel(gw)
    twilio = await gw.call("POST", "/v1/channels", TWILIO)
    assert twilio.status == 201, twilio.body
    path = f"/v1/channels/{twilio.body['id']}"
    cases: list[tuple[str, str, Any, int, str]] = [
        ("unknown id", "/v1/channels/chn_nope", {"name": "x"}, 404, "channel_not_found"),
        ("type is fixed", path, {"type": "sandbox"}, 400, "unknown_field"),
        ("null name", path, {"name": None}, 422, "invalid_value"),
        ("null credentials", path, {"credentials": None}, 422, "invalid_value"),
        ("taken name", path, {"name": "sandbox"}, 409, "channel_exists"),
        ("bad setting", path, {"settings": {"api_base_url": "ftp://x"}}, 422, "invalid_settings"),
        ("unusable url", path, {"settings": {"api_base_url": "http://h:99999"}}, 422, "invalid_settings"),
        ("bad credentials", path, {"credentials": {"auth_token": OTHER_TOKEN}}, 422, "invalid_credentials"),
        ("bad country", path, {"countries": ["ZZ"]}, 422, "invalid_value"),
        ("not an object", path, [1], 400, "invalid_type"),
    ]
    before = await _rows(gw)
    for what, where, body, status, code in cases:
        answer = await gw.call("PATCH", where, body)
        assert answer.status == status, (what, answer.body)
        assert answer.body["error"]["code"] == code, what
        assert OTHER_TOKEN not in str(answer.body)
    assert (await gw.call("GET", "/v1/channels?cursor=nonsense")).status == 400
    assert (await gw.call("GET", "/v1/channels?limit=0")).status == 400
    assert await _rows(gw) == before
    assert (await gw.call("GET", f"/v1/channels/{sandbox['id']}")).body == sandbox


# --- credentials stay secret ---------------------------------------------------------------------


async def test_credentials_never_appear_in_answers_or_logs(
    gw: RunningGateway, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    answers = []
    made = await gw.call("POST", "/v1/channels", TWILIO)
    answers.append(made)
    assert made.status == 201 and made.body["has_credentials"] is True
    assert "credentials" not in made.body
    channel_id = made.body["id"]
    answers.append(await gw.call("GET", f"/v1/channels/{channel_id}"))
    answers.append(await gw.call("GET", "/v1/channels"))
    replaced = await gw.call(
        "PATCH",
        f"/v1/channels/{channel_id}",
        {"credentials": {"account_sid": ACCOUNT_SID, "auth_token": OTHER_TOKEN}},
    )
    answers.append(replaced)
    assert replaced.status == 200 and replaced.body["updated_at"] >= made.body["updated_at"]
    answers.append(await gw.call("POST", "/v1/channels", {**TWILIO, "credentials": {"auth_token": TOKEN}}))
    answers.append(await gw.call("POST", "/v1/channels", {**TWILIO, "name": "tw2", "credentials": TOKEN}))
    # A send through it (the provider is unreachable) logs its failure without the secret.
    sent = await gw.call("POST", "/v1/messages", {"to": "+14155550104", "body": "x", "channel": "tw"})
    assert sent.status == 202, sent.body
    [message_id] = sent.body["message_ids"]
    for _ in range(200):
        events = await gw.call("GET", f"/v1/messages/{message_id}/events")
        if any(e["code"] for e in events.body["data"]):
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("the send was never attempted")
    answers += [sent, events, await gw.call("GET", f"/v1/messages/{message_id}")]

    row = next(r for r in await _rows(gw) if r["id"] == channel_id)
    for answer in answers:
        text = str(answer.body) + str(answer.headers)
        for secret in (TOKEN, OTHER_TOKEN, row["credentials_ciphertext"]):
            assert secret not in text
    assert TOKEN not in caplog.text and OTHER_TOKEN not in caplog.text
    assert TOKEN not in row["credentials_ciphertext"] and OTHER_TOKEN not in row["credentials_ciphertext"]


# --- tenancy and roles ---------------------------------------------------------------------------


async def test_roles_read_only_for_viewers_and_senders(gw: RunningGateway) -> None:
    sandbox = await _bootstrap_channel(gw)
    before = await _rows(gw)
    for role in ("viewer", "sender"):
        key = (await gw.call("POST", "/v1/keys", {"name": role, "role": role})).body["secret"]
        assert (await gw.call("GET", "/v1/channels", key=key)).status == 200
        assert (await gw.call("GET", f"/v1/channels/{sandbox['id']}", key=key)).body == sandbox
        for method, path, body in (
            ("POST", "/v1/channels", {"type": "sandbox", "name": "mine"}),
            ("PATCH", f"/v1/channels/{sandbox['id']}", {"mps": 1}),
            ("DELETE", f"/v1/channels/{sandbox['id']}", None),
        ):
            answer = await gw.call(method, path, body, key=key)
            assert answer.status == 403 and answer.body["error"]["code"] == "forbidden", (role, method)
    assert await _rows(gw) == before


async def test_tenancy_parents_children_and_siblings(gw: RunningGateway) -> None:
    primary_channel = await _bootstrap_channel(gw)
    child_id, child_key = await _subaccount(gw, "child")
    sibling_id, sibling_key = await _subaccount(gw, "sibling")

    # A child sees and may use its parent's channels, read-only and without their settings.
    listed = await gw.call("GET", "/v1/channels", key=child_key)
    assert [(c["id"], c["inherited"], c["settings"]) for c in listed.body["data"]] == [
        (primary_channel["id"], True, None)
    ]
    inherited = await gw.call("GET", f"/v1/channels/{primary_channel['id']}", key=child_key)
    assert inherited.status == 200 and inherited.body["inherited"] is True
    for method, body in (("PATCH", {"mps": 1}), ("DELETE", None)):
        refused = await gw.call(method, f"/v1/channels/{primary_channel['id']}", body, key=child_key)
        assert refused.status == 403 and refused.body["error"]["code"] == "read_only_channel"

    own = await gw.call("POST", "/v1/channels", {"type": "sandbox", "name": "sandbox"}, key=child_key)
    assert own.status == 201 and own.body["account_id"] == child_id  # names are per account
    child_channel = own.body["id"]

    # The parent reads and administers its child's channels.
    seen = await gw.call("GET", f"/v1/channels/{child_channel}")
    assert seen.status == 200 and seen.body["inherited"] is False
    by_account = await gw.call("GET", f"/v1/channels?account_id={child_id}")
    assert [c["id"] for c in by_account.body["data"]] == [child_channel]
    assert [c["id"] for c in (await gw.call("GET", "/v1/channels")).body["data"]] == [primary_channel["id"]]
    assert (await gw.call("PATCH", f"/v1/channels/{child_channel}", {"mps": 3})).body["mps"] == 3

    # A sibling sees nothing of it, and a child nothing of its parent's account listing.
    before = await _rows(gw)
    for method, body in (("GET", None), ("PATCH", {"mps": 1}), ("DELETE", None)):
        hidden = await gw.call(method, f"/v1/channels/{child_channel}", body, key=sibling_key)
        assert hidden.status == 404 and hidden.body["error"]["code"] == "channel_not_found", method
    assert (await gw.call("GET", f"/v1/channels?account_id={child_id}", key=sibling_key)).status == 404
    primary_id = primary_channel["account_id"]
    assert (await gw.call("GET", f"/v1/channels?account_id={primary_id}", key=child_key)).status == 404
    sibling_list = await gw.call("GET", "/v1/channels", key=sibling_key)
    assert child_channel not in {c["id"] for c in sibling_list.body["data"]}
    assert sibling_id != child_id
    assert await _rows(gw) == before
