"""Conversation rows as the API and the ``conversation.message`` event show them."""

from __future__ import annotations

from typing import Any

from tidings.core.attributes import stored_attributes
from tidings.core.clock import to_rfc3339
from tidings.core.events import CONVERSATION_MESSAGE


def _seconds(ms: int | None) -> float | int | None:
    if ms is None:
        return None
    return ms // 1000 if ms % 1000 == 0 else ms / 1000


def conversation_json(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "account_id": row["account_id"],
        "friendly_name": row["friendly_name"],
        "attributes": stored_attributes(row["attributes"]),
        "state": row["state"],
        "close_message": row["close_message"],
        "timers": {
            "inactive_after": _seconds(row["inactive_after_ms"]),
            "closed_after": _seconds(row["closed_after_ms"]),
            "inactive_at": to_rfc3339(row["inactive_at"]),
            "closes_at": to_rfc3339(row["closes_at"]),
        },
        "last_activity_at": to_rfc3339(row["last_activity_at"]),
        "created_at": to_rfc3339(row["created_at"]),
        "updated_at": to_rfc3339(row["updated_at"]),
    }


def participant_json(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "conversation_id": row["conversation_id"],
        "address": row["address"],
        "kind": row["kind"],
        "proxy_address": row["proxy_address"],
        "identity": row["identity"],
        "channel_id": row["channel_id"],
        "created_at": to_rfc3339(row["created_at"]),
    }


def delivery_json(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "participant_id": row["participant_id"],
        "message_id": row["message_id"],
        "to": row["recipient"],
        "channel_id": row["channel_id"],
        "status": row["status"],
        "error": (
            {"code": row["error_code"], "message": row["error_message"]} if row["error_code"] else None
        ),
    }


def conversation_message_json(row: dict[str, Any], deliveries: list[dict[str, Any]]) -> dict[str, Any]:
    """A conversation message; ``failed`` counts deliveries that will not arrive, so a caller
    sees a partial failure without walking the list."""
    shown = [delivery_json(d) for d in deliveries]
    return {
        "id": row["id"],
        "conversation_id": row["conversation_id"],
        "author": row["author"],
        "participant_id": row["participant_id"],
        "direction": row["direction"],
        "body": row["body"],
        "inbound_message_id": row["inbound_message_id"],
        "deliveries": shown,
        "failed": sum(1 for d in shown if d["status"] in ("failed", "undelivered", "expired", "canceled")),
        "created_at": to_rfc3339(row["created_at"]),
    }


def event_payload(
    event_id: str, conversation: dict[str, Any], message: dict[str, Any], *, at: int
) -> dict[str, Any]:
    """The ``conversation.message`` event, in the envelope of every Tidings event."""
    return {
        "id": event_id,
        "type": CONVERSATION_MESSAGE,
        "created_at": to_rfc3339(at),
        "data": {"conversation": conversation_json(conversation), "message": message},
    }
