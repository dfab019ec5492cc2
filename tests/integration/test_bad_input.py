"""Bad input gets the documented 4xx and error JSON, and changes nothing in the database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from support.gateway import RunningGateway
from tidings.store.schema import batches, idempotency_keys, message_events, messages

LATER = (datetime.now(UTC) + timedelta(days=2)).isoformat()

# (description, request JSON or raw bytes, expected status, expected code, expected field)
BAD_SENDS: list[tuple[str, Any, int, str, str | None]] = [
    ("not json", b"{to: +1", 400, "invalid_json", None),
    ("json but not an object", [1, 2], 400, "invalid_type", None),
    ("no recipients at all", {"body": "hi"}, 400, "invalid_recipients", "to"),
    ("missing body", {"to": "+14155550100"}, 400, "missing_field", "body"),
    (
        "unknown field",
        {"to": "+14155550100", "body": "hi", "colour": "red"},
        400,
        "unknown_field",
        "colour",
    ),
    ("to of wrong type", {"to": 14155550100, "body": "hi"}, 400, "invalid_type", "to"),
    ("body of wrong type", {"to": "+14155550100", "body": ["hi"]}, 400, "invalid_type", "body"),
    (
        "two modes at once",
        {"to": "+14155550100", "body": "x", "messages": [{"to": "+14155550101", "body": "y"}]},
        400,
        "invalid_recipients",
        "to",
    ),
    ("empty body", {"to": "+14155550100", "body": "   "}, 422, "empty_body", "body"),
    ("empty recipient list", {"to": [], "body": "hi"}, 422, "no_recipients", "to"),
    ("invalid single number", {"to": "12", "body": "hi"}, 422, "invalid_number", "to"),
    ("letters for a number", {"to": "call me", "body": "hi"}, 422, "invalid_number", "to"),
    (
        "list of only invalid numbers",
        {"to": ["+1", "abc"], "body": "hi"},
        422,
        "invalid_number",
        "to[0]",
    ),
    (
        "unknown priority",
        {"to": "+14155550100", "body": "hi", "priority": "urgent"},
        422,
        "invalid_value",
        "priority",
    ),
    (
        "send_at in the past",
        {"to": "+14155550100", "body": "hi", "send_at": "2020-01-01T00:00:00Z"},
        422,
        "send_at_in_past",
        "send_at",
    ),
    (
        "send_at too far",
        {
            "to": "+14155550100",
            "body": "hi",
            "send_at": (datetime.now(UTC) + timedelta(days=36)).isoformat(),
        },
        422,
        "send_at_too_far",
        "send_at",
    ),
    (
        "send_at without zone",
        {"to": "+14155550100", "body": "hi", "send_at": "2030-01-01T00:00:00"},
        422,
        "invalid_send_at",
        "send_at",
    ),
    (
        "send_at not a time",
        {"to": "+14155550100", "body": "hi", "send_at": "tomorrow"},
        422,
        "invalid_value",
        "send_at",
    ),
    (
        "validity period zero",
        {"to": "+14155550100", "body": "hi", "validity_period": 0},
        422,
        "invalid_value",
        "validity_period",
    ),
    (
        "too many segments",
        {"to": "+14155550100", "body": "x" * 1531},
        422,
        "too_many_segments",
        "body",
    ),
    (
        "body over the size limit",
        {"to": "+14155550100", "body": "x" * 1601},
        413,
        "body_too_long",
        "body",
    ),
    (
        "unknown channel",
        {"to": "+14155550100", "body": "hi", "channel": "nope"},
        422,
        "unknown_channel",
        "channel",
    ),
    (
        "template variable missing",
        {
            "body": "Hi {{name}}",
            "recipients": [
                {"to": "+14155550100", "vars": {"name": "a"}},
                {"to": "+14155550101", "vars": {}},
            ],
        },
        422,
        "missing_variable",
        "recipients[1].vars.name",
    ),
    (
        "messages item without body",
        {"messages": [{"to": "+14155550100"}]},
        400,
        "missing_field",
        "messages[0].body",
    ),
    (
        "body with messages",
        {"body": "x", "messages": [{"to": "+14155550100", "body": "y"}]},
        400,
        "unexpected_field",
        "body",
    ),
    (
        "bad default country",
        {"to": "0830000000", "body": "hi", "default_country": "ZAF"},
        422,
        "invalid_value",
        "default_country",
    ),
]


async def _counts(gw: RunningGateway) -> tuple[int, ...]:
    async with gw.gateway.db.read() as conn:
        return tuple(
            [
                (await conn.execute(select(func.count()).select_from(table))).scalar_one()
                for table in (messages, batches, message_events, idempotency_keys)
            ]
        )


@pytest.mark.parametrize(
    ("case", "payload", "status", "code", "field"), BAD_SENDS, ids=[c[0] for c in BAD_SENDS]
)
async def test_bad_send_is_refused_and_changes_nothing(
    gw_sqlite: RunningGateway, case: str, payload: Any, status: int, code: str, field: str | None
) -> None:
    before = await _counts(gw_sqlite)
    headers = {"Idempotency-Key": f"bad-{case}"}
    if isinstance(payload, bytes):
        got = await gw_sqlite.call(
            "POST",
            "/v1/messages",
            data=payload,
            headers={**headers, "Content-Type": "application/json"},
        )
    else:
        got = await gw_sqlite.call("POST", "/v1/messages", payload, headers=headers)
    assert got.status == status, got.body
    assert got.body["error"]["code"] == code, got.body
    assert got.body["error"]["field"] == field, got.body
    assert got.body["error"]["message"]
    assert "Traceback" not in str(got.body)
    assert await _counts(gw_sqlite) == before


async def test_too_many_recipients_is_413(gw_sqlite: RunningGateway) -> None:
    before = await _counts(gw_sqlite)
    numbers = [f"+1415{n:07d}" for n in range(100_001)]
    got = await gw_sqlite.call("POST", "/v1/messages", {"to": numbers, "body": "hi"})
    assert got.status == 413 and got.body["error"]["code"] == "too_many_recipients"
    assert await _counts(gw_sqlite) == before


async def test_oversize_request_body_is_413(gw_sqlite: RunningGateway) -> None:
    got = await gw_sqlite.call(
        "POST",
        "/v1/messages",
        data=b"x" * (65 * 1024 * 1024),
        headers={"Content-Type": "application/json"},
    )
    assert got.status == 413 and got.body["error"]["code"] == "payload_too_large"


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/v1/messages?cursor=notacursor", 400, "invalid_cursor"),
        ("/v1/messages?cursor=bXNnXzEyMw", 400, "invalid_cursor"),  # base64 of a non-id
        ("/v1/messages?limit=0", 400, "invalid_parameter"),
        ("/v1/messages?limit=1001", 400, "invalid_parameter"),
        ("/v1/messages?limit=ten", 400, "invalid_parameter"),
        ("/v1/messages?direction=sideways", 400, "invalid_parameter"),
        ("/v1/messages?since=yesterday", 400, "invalid_parameter"),
        ("/v1/messages?since=2026-01-01T00:00:00", 400, "invalid_parameter"),
        ("/v1/messages/msg_01ABCDEFGHJKMNPQRSTVWXYZ01", 404, "message_not_found"),
        ("/v1/messages/msg_nope/events", 404, "message_not_found"),
        ("/v1/messages/msg_nope/events?cursor=xyz", 400, "invalid_cursor"),
        ("/v1/batches/bat_nope", 404, "batch_not_found"),
        ("/v1/numbers/hello/status", 422, "invalid_number"),
        ("/v1/no-such-route", 404, "not_found"),
    ],
)
async def test_bad_reads(gw_sqlite: RunningGateway, path: str, status: int, code: str) -> None:
    got = await gw_sqlite.call("GET", path)
    assert got.status == status, got.body
    assert got.body["error"]["code"] == code


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("DELETE", "/v1/messages/msg_nope"),
        ("DELETE", "/v1/batches/bat_nope"),
        ("DELETE", "/v1/keys/key_nope"),
    ],
)
async def test_unknown_ids_on_delete_are_404(gw_sqlite: RunningGateway, method: str, path: str) -> None:
    before = await _counts(gw_sqlite)
    got = await gw_sqlite.call(method, path)
    assert got.status == 404
    assert await _counts(gw_sqlite) == before


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Bearer",
        "Bearer wrong-key",
        "Basic !!!notbase64",
        "Basic " + "QUMxMjM6",
        "Token abc",
        "Basic QUMxMjM6d3Jvbmc=",
    ],
)
async def test_wrong_credentials_are_401_and_change_nothing(
    gw_sqlite: RunningGateway, authorization: str | None
) -> None:
    before = await _counts(gw_sqlite)
    headers = {} if authorization is None else {"Authorization": authorization}
    got = await gw_sqlite.call(
        "POST",
        "/v1/messages",
        {"to": "+14155550100", "body": "hi"},
        headers=headers,
        auth=authorization is not None,
    )
    assert got.status == 401
    assert got.body["error"]["code"] in {"missing_credentials", "invalid_credentials"}
    assert "WWW-Authenticate" in got.headers
    assert await _counts(gw_sqlite) == before


async def test_bad_normalize_requests(gw_sqlite: RunningGateway) -> None:
    assert (await gw_sqlite.call("POST", "/v1/numbers/normalize", {"numbers": "0830000000"})).status == 400
    assert (await gw_sqlite.call("POST", "/v1/numbers/normalize", {})).status == 400
    got = await gw_sqlite.call("POST", "/v1/numbers/normalize", {"numbers": ["1"], "default_country": "Z"})
    assert got.status == 422


async def test_bad_idempotency_key_is_400(gw_sqlite: RunningGateway) -> None:
    before = await _counts(gw_sqlite)
    got = await gw_sqlite.call(
        "POST",
        "/v1/messages",
        {"to": "+14155550100", "body": "hi"},
        headers={"Idempotency-Key": "k" * 300},
    )
    assert got.status == 400 and got.body["error"]["code"] == "invalid_idempotency_key"
    assert await _counts(gw_sqlite) == before
