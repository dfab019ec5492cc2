"""The seed's request bodies, read by hand so that every refusal is one plain sentence (400).
Fields the seed does not read are ignored, as its JSON decoder ignored them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from tidings.features.compat.imqs.exceptions import BadInput


@dataclass(frozen=True, slots=True)
class SendSms:
    message: str
    msisdns: list[str]


def _object(raw: bytes) -> dict[str, Any]:
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise BadInput("the request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise BadInput("the request body must be a JSON object")
    return body


def _msisdns(body: dict[str, Any]) -> list[str]:
    numbers = body.get("msisdns")
    if not isinstance(numbers, list) or not numbers:
        raise BadInput("msisdns must be a list of at least one mobile number")
    if not all(isinstance(number, str) for number in numbers):
        raise BadInput("every entry of msisdns must be a string")
    return numbers


def send_sms(raw: bytes) -> SendSms:
    body = _object(raw)
    message = body.get("message")
    if not isinstance(message, str) or not message:
        raise BadInput("message must be a non-empty string")
    return SendSms(message, _msisdns(body))


def normalize(raw: bytes) -> list[str]:
    return _msisdns(_object(raw))
