"""``/compat/messagesender`` (seed 004): every curl of the seed's README replayed over loopback
with the documented status codes, headers and shapes; the error cases (401, a past date, bad
fields) changing nothing; the time zone; the surface switched off; and tenancy (another account's
records never shown nor deleted). Recipients are contacts made through ``/v1/contacts``; the
sandbox channel carries their WhatsApp, Telegram and Viber addresses to delivered."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from support.gateway import GatewayFactory, RunningGateway, UrlFactory
from tidings.store.schema import messages, messagesender_records

SENDER = "/compat/messagesender"
LINE = re.compile(
    r"^Message to user: (?P<uuid>\S+) with body: (?P<body>.*) "
    r"Queued at (?P<at>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) to messenger: (?P<service>whatsapp|telegram|viber)$"
)
CONTACTS: list[dict[str, Any]] = [
    {"external_id": "1", "addresses": {"whatsapp": "whatsapp:+27830000001", "telegram": "telegram:1001"}},
    {"external_id": "2", "addresses": {"telegram": "telegram:1002", "viber": "viber:user2"}},
]


async def _login(gw: RunningGateway, key: str | None = None) -> dict[str, str]:
    """``-u username:password``: the account id and its auth token."""
    me = (await gw.call("GET", "/v1/accounts/me", key=key)).body
    return gw.basic(me["id"], me["auth_token"])


async def _with_contacts(gw: RunningGateway, key: str | None = None) -> dict[str, str]:
    for contact in CONTACTS:
        made = await gw.call("POST", "/v1/contacts", contact, key=key)
        assert made.status == 201, made.body
    return await _login(gw, key)


async def _rows(gw: RunningGateway) -> tuple[int, int]:
    async with gw.gateway.db.read() as conn:
        sent = (await conn.execute(select(func.count()).select_from(messages))).scalar_one()
        kept = (await conn.execute(select(func.count()).select_from(messagesender_records))).scalar_one()
    return sent, kept


def _later(zone: ZoneInfo = ZoneInfo("UTC"), **delta: float) -> str:
    return (datetime.now(zone) + timedelta(**delta)).strftime("%Y-%m-%d %H:%M:%S")


def _parsed(lines: list[str]) -> list[tuple[str, str, str]]:
    found = [LINE.match(line) for line in lines]
    assert all(found), lines
    return [(m["uuid"], m["body"], m["service"]) for m in found if m]


async def _wait_for(gw: RunningGateway, path: str, headers: dict[str, str], done: Any) -> dict[str, Any]:
    for _ in range(500):
        got = await gw.call("GET", SENDER + path, headers=headers)
        if done(got.body):
            return dict(got.body)
        await asyncio.sleep(0.02)
    raise AssertionError(f"{path} stayed {got.body}")


async def test_the_documented_requests_answer_as_documented(gw: RunningGateway) -> None:
    login = await _with_contacts(gw)
    readme_send: dict[str, Any] = {
        "body": "Hello",
        "send_at": "2020-10-05 13:48:00",
        "recipients": [{"uuid": "1", "service": "whatsapp"}, {"uuid": "2", "service": "telegram"}],
    }

    # The README's POST as written: its date has passed, the documented 400.
    before = await _rows(gw)
    past = await gw.call("POST", f"{SENDER}/send_message", readme_send, headers=login)
    assert past.status == 400
    assert past.headers["Content-Type"].startswith("application/json")
    assert past.body == {"error": "Date must be in a future!"}
    assert await _rows(gw) == before

    # Without a date the jobs start at once: the documented 200 with its "started" lines.
    now = {key: value for key, value in readme_send.items() if key != "send_at"}
    started = await gw.call("POST", f"{SENDER}/send_message", now, headers=login)
    assert started.status == 200, started.body
    assert list(started.body) == ["scheduled", "started"] and started.body["scheduled"] == []
    assert _parsed(started.body["started"]) == [("1", "Hello", "whatsapp"), ("2", "Hello", "telegram")]

    # With a future date they are scheduled, queued at that date.
    tomorrow = _later(days=1)
    later = await gw.call(
        "POST", f"{SENDER}/send_message", {**readme_send, "body": "Hi", "send_at": tomorrow}, headers=login
    )
    assert later.status == 200 and later.body["started"] == []
    assert later.body["scheduled"] == [
        f"Message to user: 1 with body: Hi Queued at {tomorrow} to messenger: whatsapp",
        f"Message to user: 2 with body: Hi Queued at {tomorrow} to messenger: telegram",
    ]

    # GET /get_scheduled (and the README's "finished" curl, which names /get_scheduled too).
    scheduled = await gw.call("GET", f"{SENDER}/get_scheduled", headers=login)
    assert scheduled.status == 200 and scheduled.body == {"scheduled": later.body["scheduled"]}

    # GET /get_finished once the started ones are delivered.
    finished = await _wait_for(gw, "/get_finished", login, lambda body: len(body["finished_main"]) == 2)
    assert list(finished) == ["finished_main", "finished_scheduled", "finished_with_fail"]
    assert finished["finished_main"] == started.body["started"]
    assert finished["finished_scheduled"] == finished["finished_with_fail"] == []
    natively = await gw.call("GET", "/v1/messages?to=telegram:1002")
    assert [m["status"] for m in natively.body["data"]] == ["scheduled", "delivered"]

    # DELETE /delete_all: "Success"; finished records go, scheduled ones and every message stay.
    deleted = await gw.call("DELETE", f"{SENDER}/delete_all", headers=login)
    assert deleted.status == 200 and deleted.body == "Success"
    assert deleted.headers["Content-Type"].startswith("application/json")
    emptied = await gw.call("GET", f"{SENDER}/get_finished", headers=login)
    assert emptied.body == {"finished_main": [], "finished_scheduled": [], "finished_with_fail": []}
    assert (await gw.call("GET", f"{SENDER}/get_scheduled", headers=login)).body == scheduled.body
    assert len((await gw.call("GET", "/v1/messages?to=telegram:1002")).body["data"]) == 2

    # The README's 401.
    wrong = await gw.call("GET", f"{SENDER}/get_scheduled", headers=gw.basic("username", "password"))
    assert wrong.status == 401 and wrong.body == {"error": "Unauthorized access"}
    assert wrong.headers["WWW-Authenticate"] == 'Basic realm="Authentication Required"'


async def test_a_scheduled_send_finishes_as_scheduled_and_a_refused_one_as_failed(
    gateway_factory: GatewayFactory, database_url_factory: UrlFactory
) -> None:
    gw = await gateway_factory(database_url_factory, sandbox={"reject_numbers": ["whatsapp:+27830000001"]})
    login = await _with_contacts(gw)
    soon = _later(seconds=2)
    sent = await gw.call(
        "POST",
        f"{SENDER}/send_message",
        {"body": "Soon", "send_at": soon, "recipients": [{"uuid": "2", "service": "viber"}]},
        headers=login,
    )
    assert sent.status == 200 and _parsed(sent.body["scheduled"]) == [("2", "Soon", "viber")]
    failing = await gw.call(
        "POST",
        f"{SENDER}/send_message",
        {"body": "Nope", "recipients": [{"uuid": "1", "service": "whatsapp"}]},
        headers=login,
    )
    assert failing.status == 200
    finished = await _wait_for(
        gw,
        "/get_finished",
        login,
        lambda body: body["finished_scheduled"] and body["finished_with_fail"],
    )
    assert finished == {
        "finished_main": [],
        "finished_scheduled": sent.body["scheduled"],
        "finished_with_fail": failing.body["started"],
    }
    assert (await gw.call("GET", f"{SENDER}/get_scheduled", headers=login)).body == {"scheduled": []}
    assert (await gw.call("DELETE", f"{SENDER}/delete_all", headers=login)).body == "Success"
    assert (await _rows(gw))[1] == 0


async def test_send_at_is_read_in_the_configured_time_zone(
    gateway_factory: GatewayFactory, sqlite_url_factory: UrlFactory
) -> None:
    moscow = ZoneInfo("Europe/Moscow")
    gw = await gateway_factory(sqlite_url_factory, compat={"messagesender": {"timezone": "Europe/Moscow"}})
    login = await _with_contacts(gw)
    at = _later(moscow, hours=5)
    sent = await gw.call(
        "POST",
        f"{SENDER}/send_message",
        {"body": "Hi", "send_at": at, "recipients": [{"uuid": "2", "service": "telegram"}]},
        headers=login,
    )
    assert sent.body["scheduled"] == [
        f"Message to user: 2 with body: Hi Queued at {at} to messenger: telegram"
    ]
    message = (await gw.call("GET", "/v1/messages?to=telegram:1002")).body["data"][0]
    expected = datetime.strptime(at, "%Y-%m-%d %H:%M:%S").replace(tzinfo=moscow).astimezone(UTC)
    assert datetime.fromisoformat(message["send_at"].replace("Z", "+00:00")) == expected
    # An hour ago in Moscow is in the future in UTC, but not here.
    past = await gw.call(
        "POST",
        f"{SENDER}/send_message",
        {
            "body": "Hi",
            "send_at": _later(moscow, hours=-1),
            "recipients": [{"uuid": "2", "service": "viber"}],
        },
        headers=login,
    )
    assert past.status == 400 and past.body == {"error": "Date must be in a future!"}


async def test_credentials_map_to_an_account_and_failures_are_the_seeds_401(
    gateway_factory: GatewayFactory, sqlite_url_factory: UrlFactory
) -> None:
    gw = await gateway_factory(sqlite_url_factory)
    login = await _with_contacts(gw)
    me = (await gw.call("GET", "/v1/accounts/me")).body
    before = await _rows(gw)
    send = {"body": "Hi", "recipients": [{"uuid": "1", "service": "telegram"}]}
    for headers in (
        {},
        gw.basic(me["id"], "not-the-token"),
        gw.basic("username", "password"),
        gw.basic("anyone", "tdk_not_a_key"),
        {"Authorization": "Basic !!!"},
        {"Authorization": "Bearer tdk_not_a_key"},
    ):
        for method, path, body in (
            ("POST", "/send_message", send),
            ("GET", "/get_scheduled", None),
            ("GET", "/get_finished", None),
            ("DELETE", "/delete_all", None),
        ):
            got = await gw.call(method, SENDER + path, body, headers=headers, auth=False)
            assert got.status == 401 and got.body == {"error": "Unauthorized access"}, (headers, path)
            assert got.headers["WWW-Authenticate"] == 'Basic realm="Authentication Required"'
    assert await _rows(gw) == before
    # An API key as the password (any username), or as a Bearer token, works as the auth token does.
    key = (await gw.call("POST", "/v1/keys", {"name": "ms", "role": "sender"})).body["secret"]
    assert (await gw.call("GET", f"{SENDER}/get_scheduled", headers=gw.basic("ops", key))).status == 200
    assert (await gw.call("GET", f"{SENDER}/get_scheduled", key=key)).status == 200
    assert (await gw.call("GET", f"{SENDER}/get_scheduled", headers=login)).status == 200
    viewer = (await gw.call("POST", "/v1/keys", {"name": "v", "role": "viewer"})).body["secret"]
    refused = await gw.call("POST", f"{SENDER}/send_message", send, headers=gw.basic("ops", viewer))
    assert refused.status == 403 and set(refused.body) == {"error"}
    assert await _rows(gw) == before


async def test_bad_fields_are_400_sentences_that_change_nothing(
    gateway_factory: GatewayFactory, sqlite_url_factory: UrlFactory
) -> None:
    gw = await gateway_factory(sqlite_url_factory)
    login = await _with_contacts(gw)
    before = await _rows(gw)
    one = [{"uuid": "1", "service": "whatsapp"}]
    bad: list[tuple[Any, str]] = [
        ({}, "Message required as a JSON object"),
        ([], "Message required as a JSON object"),
        ({"recipients": one}, "Body of the message must be a non-empty string"),
        ({"body": 5, "recipients": one}, "Body of the message must be a non-empty string"),
        ({"body": "Hi", "send_at": 5, "recipients": one}, "send_at parameter must be a string"),
        (
            {"body": "Hi", "send_at": "2030-01-01T10:00:00Z", "recipients": one},
            "send_at must be a date as YYYY-MM-DD HH:MM:SS, not '2030-01-01T10:00:00Z'",
        ),
        ({"body": "Hi", "send_at": "2020-10-05 13:48:00", "recipients": one}, "Date must be in a future!"),
        ({"body": "Hi"}, "Recipients of the message must be a list of at least one object"),
        ({"body": "Hi", "recipients": []}, "Recipients of the message must be a list of at least one object"),
        (
            {"body": "Hi", "recipients": ["1"]},
            "Recipient of the message must be an object with uuid and service",
        ),
        (
            {"body": "Hi", "recipients": [{"uuid": 1, "service": "viber"}]},
            "UUID parameter must be a non-empty string",
        ),
        ({"body": "Hi", "recipients": [{"uuid": "1"}]}, "Service parameter must be a string"),
        (
            {"body": "Hi", "recipients": [{"uuid": "1", "service": "sms"}]},
            "Unknown messenger 'sms': one of whatsapp, telegram, viber",
        ),
        (
            {"body": "Hi", "recipients": [*one, {"uuid": "9", "service": "viber"}]},
            "Unknown user: 9 (no contact has this external id)",
        ),
        (
            {"body": "Hi", "recipients": [*one, {"uuid": "1", "service": "viber"}]},
            "User 1 has no viber address",
        ),
    ]
    for body, sentence in bad:
        got = await gw.call("POST", f"{SENDER}/send_message", body, headers=login)
        assert (got.status, got.body) == (400, {"error": sentence}), body
    broken = await gw.call(
        "POST", f"{SENDER}/send_message", data=b"{nope", headers={**login, "Content-Type": "application/json"}
    )
    assert broken.status == 400 and set(broken.body) == {"error"}
    # The native intake's own refusal (a date past its schedule horizon) in the seed's shape.
    far = await gw.call(
        "POST",
        f"{SENDER}/send_message",
        {"body": "Hi", "send_at": _later(days=400), "recipients": one},
        headers=login,
    )
    assert far.status == 400 and set(far.body) == {"error"}
    unknown = await gw.call("GET", f"{SENDER}/get_everything", headers=login)
    assert unknown.status == 404 and set(unknown.body) == {"error"}
    wrong_method = await gw.call("GET", f"{SENDER}/send_message", headers=login)
    assert wrong_method.status == 405 and set(wrong_method.body) == {"error"}
    assert await _rows(gw) == before


async def test_the_surface_switched_off_answers_404(
    gateway_factory: GatewayFactory, sqlite_url_factory: UrlFactory
) -> None:
    gw = await gateway_factory(sqlite_url_factory, compat={"messagesender": {"enabled": False}})
    login = await _with_contacts(gw)
    send = {"body": "Hi", "recipients": [{"uuid": "1", "service": "telegram"}]}
    assert (await gw.call("POST", f"{SENDER}/send_message", send, headers=login)).status == 404
    assert (await gw.call("GET", f"{SENDER}/get_scheduled", headers=login)).status == 404
    assert await _rows(gw) == (0, 0)


async def test_an_account_sees_and_deletes_only_its_own_records(gw: RunningGateway) -> None:
    accounts = []
    for name in ("alice", "bob"):
        made = await gw.call("POST", "/v1/accounts", {"name": name})
        key = await gw.call(
            "POST", "/v1/keys", {"name": name, "role": "admin", "account_id": made.body["id"]}
        )
        accounts.append(await _with_contacts(gw, key.body["secret"]))
    alice, bob = accounts
    send = {"body": "For Alice's contact", "recipients": [{"uuid": "1", "service": "telegram"}]}
    sent = await gw.call("POST", f"{SENDER}/send_message", send, headers=alice)
    assert sent.status == 200
    scheduled = await gw.call(
        "POST", f"{SENDER}/send_message", {**send, "send_at": _later(days=2)}, headers=alice
    )
    assert scheduled.status == 200
    await _wait_for(gw, "/get_finished", alice, lambda body: body["finished_main"])

    empty = {"finished_main": [], "finished_scheduled": [], "finished_with_fail": []}
    assert (await gw.call("GET", f"{SENDER}/get_finished", headers=bob)).body == empty
    assert (await gw.call("GET", f"{SENDER}/get_scheduled", headers=bob)).body == {"scheduled": []}
    # The parent's own records are its own: a subaccount's are not listed there either.
    parent = await _login(gw)
    assert (await gw.call("GET", f"{SENDER}/get_scheduled", headers=parent)).body == {"scheduled": []}
    kept = (await _rows(gw))[1]
    for caller in (bob, parent):
        assert (await gw.call("DELETE", f"{SENDER}/delete_all", headers=caller)).body == "Success"
    assert (await _rows(gw))[1] == kept == 2
    assert (await gw.call("GET", f"{SENDER}/get_finished", headers=alice)).body["finished_main"] == sent.body[
        "started"
    ]


async def test_a_recipient_listed_twice_gets_two_lines_and_one_message(
    gateway_factory: GatewayFactory, sqlite_url_factory: UrlFactory
) -> None:
    gw = await gateway_factory(sqlite_url_factory)
    login = await _with_contacts(gw)
    twice = [{"uuid": "2", "service": "viber"}, {"uuid": "2", "service": "viber"}]
    sent = await gw.call("POST", f"{SENDER}/send_message", {"body": "Hi", "recipients": twice}, headers=login)
    assert sent.status == 200 and _parsed(sent.body["started"]) == [("2", "Hi", "viber")] * 2
    assert len((await gw.call("GET", "/v1/messages?to=viber:user2")).body["data"]) == 1
    finished = await _wait_for(gw, "/get_finished", login, lambda body: body["finished_main"])
    assert finished["finished_main"] == sent.body["started"]
