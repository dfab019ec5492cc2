"""Flowroute's webhooks and error answers, from recorded payloads to our receipts, messages, errors."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

from tidings.channels.base import CallbackError
from tidings.channels.flowroute import auth, callbacks
from tidings.channels.flowroute.errors import delivery_error, error_for_response

PAYLOADS = Path(__file__).parent / "flowroute_payloads"


def _cases(name: str) -> list[Any]:
    cases = json.loads((PAYLOADS / name).read_text())["cases"]
    return [pytest.param(case, id=case["name"]) for case in cases]


def _body(document: Any) -> bytes:
    return json.dumps(document).encode()


@pytest.mark.parametrize("case", _cases("delivery_receipts.json"))
def test_delivery_receipts_become_receipts(case: dict[str, Any]) -> None:
    found = callbacks.receipt(callbacks.parse_document(_body(case["document"])))
    assert (asdict(found) if found else None) == case["receipt"]


@pytest.mark.parametrize("case", _cases("inbound.json"))
def test_inbound_callbacks_become_messages(case: dict[str, Any]) -> None:
    message = callbacks.inbound(callbacks.parse_document(_body(case["document"])))
    assert asdict(message) == case["inbound"]


@pytest.mark.parametrize(
    "document",
    [
        {"data": {"attributes": {"status": "delivered"}, "type": "delivery_receipt"}},
        {"data": {"id": "mdr2-1", "attributes": {"level": 2}}},
        {"data": {"id": "mdr2-1"}},
        {"data": "mdr2-1"},
        {},
    ],
    ids=["no id", "no status", "no attributes", "data not an object", "empty"],
)
def test_receipts_without_their_fields_are_refused(document: dict[str, Any]) -> None:
    with pytest.raises(CallbackError):
        callbacks.receipt(callbacks.parse_document(_body(document)))


@pytest.mark.parametrize(
    "document",
    [
        {"data": {"id": "mdr2-1", "attributes": {"to": "12012673227", "body": "x"}}},
        {"data": {"attributes": {"from": "1", "to": "2", "body": "x"}}},
        {"to": "12066418000", "body": "x"},
    ],
    ids=["no from", "no id", "compact without from or id"],
)
def test_inbound_without_its_fields_is_refused(document: dict[str, Any]) -> None:
    with pytest.raises(CallbackError):
        callbacks.inbound(callbacks.parse_document(_body(document)))


@pytest.mark.parametrize("body", [b"MessageSid=SM1", b"[1, 2]", b"\xff\xfe", b""])
def test_bodies_that_are_not_json_objects_are_refused(body: bytes) -> None:
    with pytest.raises(CallbackError):
        callbacks.parse_document(body)


def test_every_mapped_status_is_final_and_intermediate_ones_are_not_mapped() -> None:
    assert {s.value for s in callbacks.STATUSES.values()} == {"delivered", "undelivered", "failed"}
    assert "smsc submit" not in callbacks.STATUSES and "message buffered" not in callbacks.STATUSES


def _errors(status: int, detail: str | None = None, title: str | None = None) -> dict[str, Any]:
    """Flowroute's error document (OpenAPI ``Error``)."""
    item: dict[str, Any] = {"id": "7fcfd1cd-486b", "status": status}
    item.update({k: v for k, v in (("detail", detail), ("title", title)) if v})
    return {"errors": [item]}


ERROR = _errors(422, "Invalid 'to' number", "Unprocessable Entity")
HTTP_DATE = "Wed, 21 Oct 2015 07:28:00 GMT"  # long past: wait nothing


@pytest.mark.parametrize(
    ("status", "payload", "retry_after", "code", "retryable", "wait"),
    [
        (422, ERROR, None, "flowroute_http_422", False, None),
        (400, _errors(400, title="Client Error"), None, "flowroute_http_400", False, None),
        (401, _errors(401, "Unauthorized"), None, "flowroute_http_401", False, None),
        (403, _errors(403, "Forbidden"), None, "flowroute_http_403", False, None),
        (404, None, None, "flowroute_http_404", False, None),
        (429, _errors(429, "Too Many Requests"), "7", "flowroute_http_429", True, 7.0),
        (429, None, HTTP_DATE, "flowroute_http_429", True, 0.0),
        (500, {"errors": []}, None, "flowroute_http_500", True, None),
        (503, None, "120", "flowroute_http_503", True, 120.0),
        (502, "<html>bad gateway</html>", None, "flowroute_http_502", True, None),
        (429, None, "999999", "flowroute_http_429", True, 3600.0),
    ],
)
def test_error_answers_are_classified(
    status: int, payload: Any, retry_after: str | None, code: str, retryable: bool, wait: float | None
) -> None:
    error = error_for_response(status, payload, retry_after)
    assert (error.code, error.retryable, error.retry_after) == (code, retryable, wait)
    assert error.message


def test_flowroute_error_text_and_its_id_are_kept() -> None:
    error = error_for_response(422, ERROR, None)
    assert error.message == "Invalid 'to' number (Flowroute error id 7fcfd1cd-486b)"
    assert error_for_response(400, {"errors": [{"detail": "x" * 900}]}, None).message == "x" * 500


def test_delivery_error_codes() -> None:
    assert delivery_error("delivery failure", "1005", "Undeliverable") == ("flowroute_1005", "Undeliverable")
    assert delivery_error("Delivery Failure", None, None) == (
        "flowroute_delivery_failure",
        "Delivery Failure",
    )
    assert delivery_error("expired", "", "") == ("flowroute_expired", "expired")


def test_the_token_check() -> None:
    token = "a/b+c d&e=0123456789"
    url = auth.with_token("https://gw.example.com/webhooks/chn_1/status", token)
    query = url.split("?", 1)[1]
    assert auth.is_valid(query, token)
    assert not auth.is_valid(query, token + "x")
    assert not auth.is_valid("", token)
    assert not auth.is_valid(f"{query}&{query}", token)
    assert not auth.is_valid("&".join(["a=1"] * 50), token)
