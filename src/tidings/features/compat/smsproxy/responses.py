"""The seed's response bodies: numbers as ``1XXXXXXXXXX``, session ids as 32 hex digits, times
as UTC ``YYYY-MM-DD HH:MM:SS`` (``null`` for a session without expiry)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from tidings.features.compat.smsproxy.ids import seed_session_id
from tidings.features.compat.smsproxy.numbers import to_seed

TN_ADDED = "successfully added TN to pool"
TN_REMOVED = "successfully removed TN from pool"
SESSION_CREATED = "created session"
SESSION_ENDED = "successfully ended session"


def seed_time(ms: int | None) -> str | None:
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")


def tn_changed(message: str, number: str) -> dict[str, Any]:
    return {"message": message, "value": to_seed(number)}


def pool(numbers: Sequence[Mapping[str, Any]], session_of: Mapping[str, str]) -> dict[str, Any]:
    """``GET /tn``: every TN with the session it serves (``null``: none)."""
    virtual_tns = [
        {
            "session_id": seed_session_id(session_of[n["id"]]) if n["id"] in session_of else None,
            "value": to_seed(n["number"]),
        }
        for n in numbers
    ]
    in_use = sum(1 for tn in virtual_tns if tn["session_id"] is not None)
    return {
        "available": len(virtual_tns) - in_use,
        "in_use": in_use,
        "pool_size": len(virtual_tns),
        "virtual_tns": virtual_tns,
    }


def created(session: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "virtual_tn": to_seed(session["proxy_number"]),
        "session_id": seed_session_id(session["id"]),
        "expiry_date": seed_time(session["expires_at"]),
        "participant_a": to_seed(session["participant_a"]),
        "participant_b": to_seed(session["participant_b"]),
        "message": SESSION_CREATED,
    }


def sessions(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    listed = [
        {
            "id": seed_session_id(row["id"]),
            "virtual_tn": to_seed(row["proxy_number"]),
            "participant_a": to_seed(row["participant_a"]),
            "participant_b": to_seed(row["participant_b"]),
            "date_created": seed_time(row["created_at"]),
            "expiry_date": seed_time(row["expires_at"]),
        }
        for row in rows
    ]
    return {"total_sessions": len(listed), "sessions": listed}


def ended(seed_id: str) -> dict[str, Any]:
    return {"message": SESSION_ENDED, "session_id": seed_id}
