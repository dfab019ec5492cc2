"""Meta's webhook notifications and error answers, from recorded payloads to our receipts,
inbound messages and send errors; the signature against an independently computed vector."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

from tidings.channels.base import CallbackError
from tidings.channels.whatsapp import callbacks, signature
from tidings.channels.whatsapp.errors import error_for_response

PAYLOADS = Path(__file__).parent / "whatsapp_payloads"
OUR_NUMBER_ID = "106540352242922"


def _cases(name: str) -> list[Any]:
    cases = json.loads((PAYLOADS / name).read_text())["cases"]
    return [pytest.param(case, id=case["name"]) for case in cases]


def _values(case: dict[str, Any]) -> list[Any]:
    notification = callbacks.parse(json.dumps(case["notification"]).encode())
    return notification.changes_for(OUR_NUMBER_ID)


@pytest.mark.parametrize("case", _cases("statuses.json"))
def test_status_notifications_become_receipts(case: dict[str, Any]) -> None:
    found = [asdict(r) for value in _values(case) for r in callbacks.receipts(value)]
    assert found == case["receipts"]
    assert [m for value in _values(case) for m in callbacks.inbound(value)] == []


@pytest.mark.parametrize("case", _cases("messages.json"))
def test_message_notifications_become_inbound_messages(case: dict[str, Any]) -> None:
    found = [asdict(m) for value in _values(case) for m in callbacks.inbound(value)]
    assert found == case["inbound"]
    assert [r for value in _values(case) for r in callbacks.receipts(value)] == []


def _notification(value: bytes) -> bytes:
    return b'{"object": "whatsapp_business_account", "entry": [{"changes": [{"value": ' + value + b"}]}]}"


@pytest.mark.parametrize(
    "body",
    [
        b"x=1",
        b"[]",
        b'{"entry": []}',
        b'{"object": "page", "entry": []}',
        _notification(b'{"statuses": [{"id": "w"}]}'),
        _notification(b'{"messages": [{"id": "w"}]}'),
        b"\xff\xfe",
    ],
    ids=[
        "form",
        "array",
        "no object",
        "another object",
        "status without status",
        "message without from",
        "not utf8",
    ],
)
def test_unusable_notifications_are_a_webhook_error(body: bytes) -> None:
    with pytest.raises(CallbackError):
        callbacks.parse(body)


def test_the_signature_matches_an_independent_hmac_sha256() -> None:
    # printf '%s' "$body" | openssl dgst -sha256 -hmac 'app-secret-0123'
    body = b'{"object":"whatsapp_business_account","entry":[]}'
    expected = "sha256=84199fbd4a1e11c21a139a9c021114d2008bfe4fdd754bc12ad059ac5c52d31f"
    assert signature.compute_signature("app-secret-0123", body) == expected
    assert signature.is_valid("app-secret-0123", body, expected)
    assert signature.is_valid("app-secret-0123", body, expected.upper().replace("SHA256=", "sha256="))
    for wrong in (None, "", expected[:-1] + "0", expected.removeprefix("sha256="), "sha1=" + expected[7:]):
        assert not signature.is_valid("app-secret-0123", body, wrong)
    assert not signature.is_valid("another-secret", body, expected)


def _meta(code: int, message: str) -> dict[str, Any]:
    return {"error": {"message": f"(#{code}) {message}", "type": "OAuthException", "code": code}}


@pytest.mark.parametrize(
    ("status", "payload", "code", "retryable"),
    [
        (400, _meta(131047, "Re-engagement message"), "whatsapp_131047", False),
        (400, _meta(131026, "Message undeliverable"), "whatsapp_131026", False),
        (400, _meta(132001, "Template name does not exist in the translation"), "whatsapp_132001", False),
        (400, _meta(100, "Invalid parameter"), "whatsapp_100", False),
        (401, _meta(190, "Error validating access token: Session has expired"), "whatsapp_190", False),
        (400, _meta(130429, "Rate limit hit"), "whatsapp_130429", True),
        (
            400,
            _meta(131056, "(Business Account, Consumer Account) pair rate limit hit"),
            "whatsapp_131056",
            True,
        ),
        (400, _meta(80007, "Rate limit issues"), "whatsapp_80007", True),
        (400, _meta(4, "Application request limit reached"), "whatsapp_4", True),
        (500, _meta(1, "An unknown error occurred"), "whatsapp_1", True),
        (503, None, "whatsapp_http_503", True),
        (429, {"unexpected": True}, "whatsapp_http_429", True),
        (404, None, "whatsapp_http_404", False),
    ],
)
def test_error_answers_are_classified_by_metas_code(
    status: int, payload: Any, code: str, retryable: bool
) -> None:
    error = error_for_response(status, payload)
    assert (error.code, error.retryable, error.retry_after) == (code, retryable, None)
    assert error.message


def test_error_messages_keep_metas_message_and_details_and_are_cut() -> None:
    payload = {
        "error": {
            "message": "(#131047) Re-engagement message",
            "code": 131047,
            "error_data": {"messaging_product": "whatsapp", "details": "More than 24 hours have passed."},
            "fbtrace_id": "AbCdEf",
        }
    }
    assert error_for_response(400, payload).message == (
        "(#131047) Re-engagement message: More than 24 hours have passed."
    )
    long = {"error": {"message": "x" * 2000, "code": 100}}
    assert len(error_for_response(400, long).message) == 500
