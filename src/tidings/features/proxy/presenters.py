"""The JSON shapes of pool numbers, sessions and ``proxy.session.*`` events."""

from __future__ import annotations

from typing import Any

from tidings.core.clock import to_rfc3339


def number_json(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "account_id": row["account_id"],
        "number": row["number"],
        "channel_id": row["channel_id"],
        "active_sessions": row.get("active_sessions", 0),
        "created_at": to_rfc3339(row["created_at"]),
    }


def session_json(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "account_id": row["account_id"],
        "proxy_number": row["proxy_number"],
        "proxy_number_id": row["proxy_number_id"],
        "channel_id": row["channel_id"],
        "participant_a": row["participant_a"],
        "participant_b": row["participant_b"],
        "status": row["status"],
        "expires_at": to_rfc3339(row["expires_at"]),
        "ended_reason": row["ended_reason"],
        "created_at": to_rfc3339(row["created_at"]),
        "updated_at": to_rfc3339(row["updated_at"]),
    }


def event_payload(event_id: str, event_type: str, session: dict[str, Any], *, at: int) -> dict[str, Any]:
    """A ``proxy.session.*`` event, in the envelope of every Tidings event."""
    return {
        "id": event_id,
        "type": event_type,
        "created_at": to_rfc3339(at),
        "data": {"session": session_json(session)},
    }
