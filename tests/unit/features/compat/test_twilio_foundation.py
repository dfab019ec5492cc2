"""The Twilio surface's pure parts: SIDs ↔ native ids, dates, form parameters, list envelopes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

import pytest
from fastapi import FastAPI
from hypothesis import given
from hypothesis import strategies as st
from starlette.requests import Request

from tidings.core.cursors import Page, encode_cursor
from tidings.core.ids import new_id
from tidings.features.compat.twilio.dates import date_filter, iso, parse_time, rfc2822
from tidings.features.compat.twilio.exceptions import ResourceNotFound, TwilioError, install_handlers
from tidings.features.compat.twilio.forms import parse
from tidings.features.compat.twilio.paging import page_ask, v1_page
from tidings.features.compat.twilio.settings import TwilioSettings, install
from tidings.features.compat.twilio.sids import from_sid, to_sid

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
values = st.integers(min_value=0, max_value=(1 << 128) - 1)


def native(value: int, prefix: str = "msg") -> str:
    chars = []
    for _ in range(26):
        chars.append(CROCKFORD[value & 31])
        value >>= 5
    return f"{prefix}_" + "".join(reversed(chars))


@given(values)
def test_every_native_id_has_one_sid_that_maps_back(value: int) -> None:
    native_id = native(value)
    sid = to_sid("SM", native_id)
    assert len(sid) == 34 and sid.startswith("SM") and sid[2:] == f"{value:032x}"
    assert from_sid(sid, "SM", "msg") == native_id


@given(values)
def test_every_sid_has_one_native_id_that_maps_back(value: int) -> None:
    sid = f"SM{value:032x}"
    assert to_sid("SM", from_sid(sid, "SM", "msg")) == sid
    assert from_sid("SM" + sid[2:].upper(), "SM", "msg") == from_sid(sid, "SM", "msg")


def test_generated_ids_round_trip_and_keep_their_order() -> None:
    ids = [new_id("msg") for _ in range(50)]
    sids = [to_sid("SM", i) for i in ids]
    assert [from_sid(s, "SM", "msg") for s in sids] == ids
    assert sorted(sids) == sids  # hex keeps the time order of the ids


@pytest.mark.parametrize(
    "sid",
    ["", "SM", "SMxyz", "MM" + "0" * 32, "SM" + "0" * 31, "SM" + "0" * 33, "SM" + "g" * 32, "sm" + "0" * 32],
)
def test_a_malformed_or_foreign_sid_is_not_found(sid: str) -> None:
    with pytest.raises(ResourceNotFound):
        from_sid(sid, "SM", "msg")


@given(st.integers(min_value=0, max_value=253_402_300_799_000))
def test_rfc2822_is_what_email_utils_writes(ms: int) -> None:
    assert rfc2822(ms) == format_datetime(datetime.fromtimestamp(ms // 1000, tz=UTC))


def test_dates_in_both_formats() -> None:
    ms = 1282161700_123  # Wed, 18 Aug 2010 20:01:40.123 UTC
    assert rfc2822(ms) == "Wed, 18 Aug 2010 20:01:40 +0000"
    assert parsedate_to_datetime(rfc2822(ms) or "") == datetime(2010, 8, 18, 20, 1, 40, tzinfo=UTC)
    assert iso(ms) == "2010-08-18T20:01:40Z"
    assert rfc2822(None) is None and iso(None) is None
    assert parse_time("SendAt", "2026-12-04T10:00:00Z") == datetime(2026, 12, 4, 10, tzinfo=UTC)
    with pytest.raises(TwilioError) as bad:
        parse_time("SendAt", "tomorrow", code=35115)
    assert bad.value.code == 35115 and "SendAt" in bad.value.message


def test_date_filters_are_whole_days_or_seconds() -> None:
    day = 1_764_806_400_000  # 2025-12-04T00:00:00Z
    assert date_filter("DateSent", "2025-12-04", "=").since == day
    assert date_filter("DateSent", "2025-12-04", "=").until == day + 86_400_000
    assert date_filter("DateSent<", "2025-12-04", "<").since is None
    assert date_filter("DateSent>", "2025-12-04T00:00:10Z", ">").since == day + 10_000
    assert date_filter("DateSent<", "2025-12-04T00:00:10Z", "<").until == day + 11_000
    assert date_filter("DateSent", "2025-12-04T13:00:00Z", "=") == date_filter("DateSent", "2025-12-04", "=")
    with pytest.raises(TwilioError):
        date_filter("DateSent", "2025-13-04", "=")


def test_forms_keep_repeats_plus_and_dotted_names_and_refuse_the_unsupported() -> None:
    form = parse("To=%2B1555&Body=hello+world&MediaUrl=a&MediaUrl=b&MessagingBinding.Address=x&Body2=")
    assert form.get("Body") == "hello world" and form.all("MediaUrl") == ["a", "b"]
    assert form.get("MessagingBinding.Address") == "x" and form.get("Body2") == ""
    with pytest.raises(TwilioError) as repeated:
        form.get("MediaUrl")
    assert repeated.value.code == 21200 and "MediaUrl" in repeated.value.message
    with pytest.raises(TwilioError) as unknown:
        form.only({"To", "Body", "MediaUrl", "MessagingBinding.Address"})
    assert unknown.value.code == 20001 and unknown.value.status == 400 and "Body2" in unknown.value.message


def test_page_asks() -> None:
    assert page_ask(parse("")).size == 50
    assert page_ask(parse("PageSize=5000")).size == 1000
    ask = page_ask(parse("To=%2B1&PageSize=2&Page=3&PageToken=PAabc"))
    assert (ask.size, ask.number, ask.cursor, ask.filters) == (2, 3, "abc", (("To", "+1"),))
    for bad in ("PageSize=0", "PageSize=x", "Page=-1", "Page=2", "PageToken=zzz"):
        with pytest.raises(TwilioError):
            page_ask(parse(bad))


def v1_request(query: str, public_url: str | None = None) -> Request:
    app = FastAPI()
    install(app, TwilioSettings(public_url=public_url))
    scope = {
        "type": "http",
        "method": "GET",
        "scheme": "http",
        "server": ("127.0.0.1", 8000),
        "root_path": "/twilio",
        "path": "/twilio/conversations/v1/Conversations",
        "query_string": query.encode(),
        "headers": [(b"host", b"127.0.0.1:8000")],
        "app": app,
    }
    return Request(scope)


def test_v1_pages_link_absolutely_to_this_gateway() -> None:
    request = v1_request("State=active&PageSize=2")
    ask = page_ask(parse("State=active&PageSize=2"))
    body = v1_page(request, "conversations", [{"sid": "CH1"}], Page([{}], 2, "cnv_01"), ask)
    base = "http://127.0.0.1:8000/twilio/conversations/v1/Conversations"
    assert body == {
        "conversations": [{"sid": "CH1"}],
        "meta": {
            "page": 0,
            "page_size": 2,
            "key": "conversations",
            "url": f"{base}?State=active&PageSize=2&Page=0",
            "first_page_url": f"{base}?State=active&PageSize=2&Page=0",
            "previous_page_url": None,
            "next_page_url": f"{base}?State=active&PageSize=2&Page=1&PageToken=PA{encode_cursor('cnv_01')}",
        },
    }
    public = v1_page(
        v1_request("", "https://sms.example.com/"),
        "conversations",
        [],
        Page([], 50, None),
        page_ask(parse("")),
    )
    assert (
        public["meta"]["url"]
        == "https://sms.example.com/twilio/conversations/v1/Conversations?PageSize=50&Page=0"
    )
    assert public["meta"]["next_page_url"] is None


async def test_an_unexpected_error_is_a_twilio_500_logged_by_type_and_path(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = FastAPI()
    install_handlers(app)

    @app.get("/api/2010-04-01/Boom.json")
    async def boom() -> None:
        raise RuntimeError("secret token abc123")

    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {**v1_request("").scope, "path": "/api/2010-04-01/Boom.json", "root_path": "", "app": app}
    with pytest.raises(RuntimeError):  # Starlette re-raises for the server, after answering
        await app(scope, receive, send)
    start, body = sent[0], sent[1]
    assert start["status"] == 500
    assert json.loads(body["body"]) == {
        "code": 20500,
        "message": "Internal Server Error",
        "more_info": "https://www.twilio.com/docs/errors/20500",
        "status": 500,
    }
    logged = [r.getMessage() for r in caplog.records if r.name.endswith("twilio.exceptions")]
    assert logged == ["unexpected RuntimeError on GET /api/2010-04-01/Boom.json"]
    assert "abc123" not in caplog.text
