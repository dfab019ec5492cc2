"""The seed's request bodies, read by hand so that every refusal has the seed's shape: JSON
objects, as its curl examples send them (``Content-Type`` is not insisted on)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from tidings.features.compat.smsproxy.exceptions import BadRequest
from tidings.features.compat.smsproxy.numbers import to_native

# The native bound on a session's length: a year.
MAX_EXPIRY_MINUTES = 525_600


@dataclass(frozen=True)
class NewSession:
    participant_a: str  # native +1…
    participant_b: str
    expiry_window: int | None  # minutes


def document(body: bytes) -> dict[str, Any]:
    try:
        parsed = orjson.loads(body) if body.strip() else None
    except orjson.JSONDecodeError:
        raise BadRequest("The request body is not valid JSON") from None
    if not isinstance(parsed, dict):
        raise BadRequest("The request body must be a JSON object")
    return parsed


def tn_value(body: bytes) -> str:
    """``{"value": "12062992129"}`` → ``+12062992129``."""
    fields = document(body)
    if "value" not in fields:
        raise BadRequest("Required argument: 'value' (str, an 11-digit number 1XXXXXXXXXX)")
    return to_native(fields["value"], "value")


def new_session(body: bytes) -> NewSession:
    fields = document(body)
    for name in ("participant_a", "participant_b"):
        if name not in fields:
            raise BadRequest(f"Required argument: '{name}' (str, an 11-digit number 1XXXXXXXXXX)")
    window = fields.get("expiry_window")
    if window is not None and (
        isinstance(window, bool) or not isinstance(window, int) or not 1 <= window <= MAX_EXPIRY_MINUTES
    ):
        raise BadRequest(f"'expiry_window' must be a whole number of minutes from 1 to {MAX_EXPIRY_MINUTES}")
    return NewSession(
        to_native(fields["participant_a"], "participant_a"),
        to_native(fields["participant_b"], "participant_b"),
        window,
    )


def session_id(body: bytes) -> str:
    """The seed id of ``{"session_id": "…"}``, as given."""
    value = document(body).get("session_id")
    if not isinstance(value, str) or not value.strip():
        raise BadRequest("Required argument: 'session_id' (str)")
    return value.strip()
