"""The body of an event, as webhooks and the live stream carry it.

``{id, type, created_at, data: {message}}`` with the message in the API's own shape, as it stood
when the event happened: the status, time and error come from the event, not from the message
row, which may have moved on by the time a delayed delivery is rendered.
"""

from __future__ import annotations

from typing import Any

import orjson

from tidings.core.clock import to_rfc3339
from tidings.core.events import carries_error, event_id, event_type
from tidings.features.messages.presenters import message_json


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
