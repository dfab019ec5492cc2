"""The one public shape of a message and of its events: the API, webhooks and the live stream
all show these, so a customer sees the same object everywhere.

An event's body is ``{id, type, created_at, data: {message}}`` with the message as it stood when
the event happened: the status, time and error come from the event, not from the message row,
which may have moved on by the time a delayed delivery is rendered.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

from tidings.core.clock import to_rfc3339
from tidings.core.events import carries_error, event_id, event_type
from tidings.core.priorities import PRIORITY_NAMES


def message_json(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "account_id": row["account_id"],
        "batch_id": row["batch_id"],
        "direction": row["direction"],
        "status": row["status"],
        "channel_id": row["channel_id"],
        "routing": {
            "route": row["route"],
            "fallback_channel_id": row["fallback_channel_id"],
            "via_fallback": bool(row["via_fallback"]),
        },
        "from": row["sender"],
        "to": row["recipient"],
        "contact": row.get("contact_id"),
        "body": row["body"],
        "template": json.loads(row["template"]) if row.get("template") else None,
        "encoding": row["encoding"],
        "segments": row["segments"],
        "priority": PRIORITY_NAMES.get(row["priority"], "normal"),
        "send_at": to_rfc3339(row["send_at"]),
        "expires_at": to_rfc3339(row["expires_at"]),
        "attempts": row["attempts"],
        "provider_message_id": row["provider_message_id"],
        "error": (
            {"code": row["error_code"], "message": row["error_message"]} if row["error_code"] else None
        ),
        "status_callback": row["status_callback"],
        "metadata": json.loads(row["metadata"]) if row["metadata"] else None,
        "created_at": to_rfc3339(row["created_at"]),
        "updated_at": to_rfc3339(row["updated_at"]),
    }


def status_event_json(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "status": row["status"],
        "at": to_rfc3339(row["at"]),
        "code": row["code"],
        "detail": row["detail"],
    }


def event_payload(row: dict[str, Any]) -> dict[str, Any]:
    """``row``: a message row plus ``event_id``, ``event_status``, ``event_at``, ``event_code``,
    ``event_detail`` (see store.outbox.events_with_messages)."""
    status = row["event_status"]
    with_error = carries_error(status)
    snapshot = {
        **row,
        "status": status,
        "updated_at": row["event_at"],
        "error_code": row["event_code"] if with_error else None,
        "error_message": row["event_detail"] if with_error else None,
    }
    return {
        "id": event_id(row["event_id"]),
        "type": event_type(status),
        "created_at": to_rfc3339(row["event_at"]),
        "data": {"message": message_json(snapshot)},
    }


def encode(payload: dict[str, Any]) -> str:
    return orjson.dumps(payload).decode()
