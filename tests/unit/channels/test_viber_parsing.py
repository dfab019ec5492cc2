"""Viber's callbacks and error answers, from recorded payloads to our receipts, messages, errors."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

from tidings.channels.base import CallbackError
from tidings.channels.viber import callbacks
from tidings.channels.viber.errors import error_for_http, error_for_status
from tidings.channels.viber.signature import compute_signature, is_valid

PAYLOADS = Path(__file__).parent / "viber_payloads"
CALLBACKS = json.loads((PAYLOADS / "callbacks.json").read_text())


def _cases(document: dict[str, Any]) -> list[Any]:
    return [pytest.param(case, id=case["name"]) for case in document["cases"]]


@pytest.mark.parametrize("case", _cases(CALLBACKS))
def test_callbacks_become_receipts_and_messages(case: dict[str, Any]) -> None:
    event = callbacks.parse_event(json.dumps(case["body"]).encode())
    result = callbacks.callback_result(event, CALLBACKS["recipient"])
    assert [asdict(r) for r in result.receipts] == case["receipts"]
    assert [asdict(m) for m in result.inbound] == case["inbound"]
    assert (result.reply.status, result.reply.body) == (200, b"")


def test_message_tokens_stay_exact_above_two_to_the_53() -> None:
    token = 4912661846655238145
    assert int(float(token)) != token  # what a float-based JSON reader would have kept
    event = callbacks.parse_event(b'{"event":"delivered","message_token":4912661846655238145}')
    assert callbacks.receipt(event).provider_message_id == "4912661846655238145"
    assert callbacks.message_token("4912661846655238145") == "4912661846655238145"


@pytest.mark.parametrize("token", [4.912661846655238e18, True, -1, "12a", "", None, [1]], ids=repr)
def test_message_tokens_that_are_not_integers_are_refused(token: object) -> None:
    assert callbacks.message_token(token) is None
    with pytest.raises(CallbackError):
        callbacks.receipt({"event": "delivered", "message_token": token})


@pytest.mark.parametrize(
    "body",
    [b"x=1", b"\xff\xfe", b"[]", b'{"timestamp": 1}', b'{"event": 3}'],
    ids=["form", "not utf-8", "array", "no event", "event not a string"],
)
def test_bodies_that_are_not_viber_callbacks_are_refused(body: bytes) -> None:
    with pytest.raises(CallbackError):
        callbacks.parse_event(body)


@pytest.mark.parametrize(
    "event",
    [
        {"event": "message", "message_token": 1, "message": {"type": "text", "text": "x"}},
        {"event": "message", "message_token": 1, "sender": {"name": "no id"}, "message": {"text": "x"}},
        {"event": "message", "message_token": 1, "sender": {"id": "abc"}},
        {"event": "message", "sender": {"id": "abc"}, "message": {"text": "x"}},
    ],
    ids=["no sender", "no sender id", "no message", "no token"],
)
def test_inbound_messages_without_their_fields_are_refused(event: dict[str, Any]) -> None:
    with pytest.raises(CallbackError):
        callbacks.callback_result(event, "Tidings Bot")


def test_the_signature_matches_viber_bot_python_test_vector() -> None:
    # tests/api/test_api.py::test_verify_signature in github.com/Viber/viber-bot-python
    token = "44dafb7e0f40021e-61a47a1e6778d187-f2c5a676a07050b3"
    body = b'{"event":"webhook","timestamp":4977069964384421269,"message_token":1478683725125}'
    expected = "d21b343448c8aee33b8e93768ef6ceb64a6ba6163099973a2b8bd028fea510ef"
    assert compute_signature(token, body) == expected
    assert is_valid(token, body, expected) and is_valid(token, body, expected.upper())
    assert not is_valid(token, body + b" ", expected)
    assert not is_valid("another-token", body, expected)
    assert not is_valid(token, body, None) and not is_valid(token, body, "")


@pytest.mark.parametrize("case", _cases(json.loads((PAYLOADS / "send_answers.json").read_text())))
def test_error_answers_are_classified(case: dict[str, Any]) -> None:
    answer = case["answer"]
    error = error_for_status(answer["status"], answer.get("status_message"))
    assert (error.code, error.retryable) == (case["code"], case["retryable"])
    if case["message"] is not None:
        assert error.message == case["message"]


@pytest.mark.parametrize(
    ("status", "retry_after", "code", "retryable", "wait"),
    [
        (503, "7", "viber_http_503", True, 7.0),
        (500, None, "viber_http_500", True, None),
        (429, "120", "viber_http_429", True, 120.0),
        (404, None, "viber_http_404", False, None),
        (401, "5", "viber_http_401", False, None),
    ],
)
def test_http_errors_are_classified(
    status: int, retry_after: str | None, code: str, retryable: bool, wait: float | None
) -> None:
    error = error_for_http(status, retry_after)
    assert (error.code, error.retryable, error.retry_after) == (code, retryable, wait)
