"""Telegram's webhook Updates and error answers, from recorded payloads to our inbound messages
and errors."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

from tidings.channels.base import CallbackError, SendError
from tidings.channels.telegram import api, callbacks
from tidings.channels.telegram.errors import error_for_response, network_error, redact

PAYLOADS = Path(__file__).parent / "telegram_payloads"
BOT = "telegram:@tidings_bot"


def _cases(name: str) -> list[Any]:
    cases = json.loads((PAYLOADS / name).read_text())["cases"]
    return [pytest.param(case, id=case["name"]) for case in cases]


@pytest.mark.parametrize("case", _cases("updates.json"))
def test_updates_become_inbound_messages_or_nothing(case: dict[str, Any]) -> None:
    update = callbacks.parse_update(json.dumps(case["update"]).encode())
    found = callbacks.inbound(update, BOT)
    assert (asdict(found) if found else None) == case["inbound"]


@pytest.mark.parametrize("case", _cases("errors.json"))
def test_error_answers_are_classified(case: dict[str, Any]) -> None:
    error = error_for_response(case["status"], case["payload"])
    assert (error.code, error.retryable, error.retry_after, error.message) == (
        case["code"],
        case["retryable"],
        case["retry_after"],
        case["message"],
    )


@pytest.mark.parametrize(
    "body",
    [b"", b"not json", b"\xff\xfe", b"[]", b'{"message": {}}', b'{"update_id": "1"}', b'{"update_id": true}'],
    ids=["empty", "text", "not utf-8", "array", "no update_id", "string id", "boolean id"],
)
def test_bodies_that_are_not_updates_are_refused(body: bytes) -> None:
    with pytest.raises(CallbackError):
        callbacks.parse_update(body)


@pytest.mark.parametrize(
    "message",
    [
        {"message_id": 1, "chat": {"type": "private"}, "text": "x"},
        {"chat": {"id": 5, "type": "private"}, "text": "x"},
        {"message_id": "1", "chat": {"id": 5, "type": "private"}, "text": "x"},
    ],
    ids=["no chat id", "no message_id", "string message_id"],
)
def test_text_messages_without_their_ids_are_refused(message: dict[str, Any]) -> None:
    with pytest.raises(CallbackError):
        callbacks.inbound({"update_id": 1, "message": message}, BOT)


@pytest.mark.parametrize(
    ("given", "matches"),
    [
        ("s3cret-Token_1", True),
        ("s3cret-Token_2", False),
        ("s3cret-Token", False),
        ("", False),
        (None, False),
    ],
)
def test_the_secret_header_must_match_exactly(given: str | None, matches: bool) -> None:
    assert callbacks.secret_matches("s3cret-Token_1", given) is matches


@pytest.mark.parametrize(
    ("recipient", "chat_id"),
    [
        ("telegram:100200300", 100200300),
        ("telegram:-1001234567890", -1001234567890),
        ("telegram:@news", "@news"),
    ],
)
def test_recipients_become_chat_ids(recipient: str, chat_id: int | str) -> None:
    assert api.chat_id(recipient) == chat_id


def test_network_errors_mask_the_token_raw_and_encoded() -> None:
    token = "12345:AAH-secret_part_0123456789abcdef"
    text = f"POST http://x/bot{token}/sendMessage and /bot12345%3AAAH-secret_part_0123456789abcdef/"
    assert "secret_part" not in redact(text, token)
    error = network_error(ConnectionResetError(text), token)
    assert (error.code, error.retryable) == ("telegram_network", True)
    assert "secret_part" not in str(error) and "<bot token>" in error.message


@pytest.mark.parametrize(
    "result",
    [None, True, {"message_id": 1}, {"chat": {"id": 5}}, {"message_id": 1, "chat": {"id": "5"}}],
)
def test_answers_without_a_message_key_are_bad_responses(result: Any) -> None:
    with pytest.raises(SendError) as caught:
        api.message_key(result)
    assert (caught.value.code, caught.value.retryable) == ("telegram_bad_response", False)
