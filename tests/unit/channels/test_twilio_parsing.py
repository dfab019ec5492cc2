"""Twilio's webhooks and error answers, from recorded payloads to our receipts, messages, errors."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from tidings.channels.base import CallbackError
from tidings.channels.http import parse_retry_after
from tidings.channels.twilio import callbacks
from tidings.channels.twilio.errors import error_for_response

PAYLOADS = Path(__file__).parent / "twilio_payloads"


def _cases(name: str) -> list[Any]:
    cases = json.loads((PAYLOADS / name).read_text())["cases"]
    return [pytest.param(case, id=case["name"]) for case in cases]


@pytest.mark.parametrize("case", _cases("status_callbacks.json"))
def test_status_callbacks_become_receipts(case: dict[str, Any]) -> None:
    fields = callbacks.parse_form(urlencode(case["form"]).encode())
    found = callbacks.receipt(fields)
    expected = case["receipt"]
    assert (asdict(found) if found else None) == expected


@pytest.mark.parametrize("case", _cases("inbound.json"))
def test_inbound_webhooks_become_messages(case: dict[str, Any]) -> None:
    fields = callbacks.parse_form(urlencode(case["form"]).encode())
    assert asdict(callbacks.inbound(fields)) == case["inbound"]


@pytest.mark.parametrize(
    "body",
    [b"MessageStatus=delivered", b"MessageSid=SM1", b"", b"From=%2B1&To=%2B2"],
    ids=["no sid", "no status", "empty", "inbound fields"],
)
def test_status_callbacks_without_their_fields_are_refused(body: bytes) -> None:
    with pytest.raises(CallbackError):
        callbacks.receipt(callbacks.parse_form(body))


def test_inbound_without_from_is_refused() -> None:
    with pytest.raises(CallbackError):
        callbacks.inbound(callbacks.parse_form(b"To=%2B15005550006&MessageSid=SM1&Body=x"))


def test_bodies_that_are_not_utf8_forms_are_refused() -> None:
    with pytest.raises(CallbackError):
        callbacks.parse_form(b"Body=\xff\xfe")
    with pytest.raises(CallbackError):
        callbacks.parse_form(b"&".join(b"a=1" for _ in range(callbacks.MAX_FIELDS + 1)))


@pytest.mark.parametrize(
    ("status", "payload", "retry_after", "code", "retryable", "wait"),
    [
        (
            400,
            {"code": 21211, "message": "The 'To' number is not valid.", "status": 400},
            None,
            "twilio_21211",
            False,
            None,
        ),
        (
            400,
            {"code": 21610, "message": "unsubscribed recipient", "status": 400},
            None,
            "twilio_21610",
            False,
            None,
        ),
        (
            400,
            {"code": 21614, "message": "not a mobile number", "status": 400},
            None,
            "twilio_21614",
            False,
            None,
        ),
        (
            400,
            {"code": 21408, "message": "Permission to send", "status": 400},
            None,
            "twilio_21408",
            False,
            None,
        ),
        (401, {"code": 20003, "message": "Authenticate", "status": 401}, None, "twilio_20003", False, None),
        (429, {"code": 20429, "message": "Too Many Requests", "status": 429}, "7", "twilio_20429", True, 7.0),
        (400, {"code": 20429, "message": "Too Many Requests"}, None, "twilio_20429", True, None),
        (400, {"code": 21611, "message": "queue full"}, None, "twilio_21611", True, None),
        (500, {"code": 20500, "message": "Internal Server Error"}, None, "twilio_20500", True, None),
        (503, None, "120", "twilio_http_503", True, 120.0),
        (502, "<html>bad gateway</html>", None, "twilio_http_502", True, None),
        (404, None, None, "twilio_http_404", False, None),
        (400, {"code": "21211"}, None, "twilio_http_400", False, None),
    ],
)
def test_error_answers_are_classified(
    status: int, payload: Any, retry_after: str | None, code: str, retryable: bool, wait: float | None
) -> None:
    error = error_for_response(status, payload, retry_after)
    assert (error.code, error.retryable, error.retry_after) == (code, retryable, wait)
    assert error.message


def test_twilio_error_messages_are_kept() -> None:
    error = error_for_response(400, {"code": 21211, "message": "The 'To' number +1 is not valid."}, None)
    assert error.message == "The 'To' number +1 is not valid."


def test_retry_after_as_an_http_date_and_its_bounds() -> None:
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now=1445412480.0) == 30.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412500.0) == 0.0
    assert parse_retry_after("999999") == 3600.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None
