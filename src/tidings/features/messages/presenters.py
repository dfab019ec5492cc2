"""Rows as the API shows them: RFC 3339 times, named priorities, nested errors."""

from __future__ import annotations

import json
from typing import Any

from tidings.core.clock import to_rfc3339
from tidings.core.statuses import FINAL_STATUSES
from tidings.features.messages.intake import PRIORITY_NAMES


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


def event_json(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "status": row["status"],
        "at": to_rfc3339(row["at"]),
        "code": row["code"],
        "detail": row["detail"],
    }


def batch_status_json(batch: dict[str, Any], counts: dict[str, int]) -> dict[str, Any]:
    done = sum(n for status, n in counts.items() if status in FINAL_STATUSES)
    total = batch["accepted"]
    return {
        "id": batch["id"],
        "accepted": total,
        "invalid": json.loads(batch["invalid"]),
        "duplicates": batch["duplicates"],
        "channel_id": batch["channel_id"],
        "send_at": to_rfc3339(batch["send_at"]),
        "status_counts": counts,
        "done": done,
        "progress": round(done / total, 4) if total else 1.0,
        "created_at": to_rfc3339(batch["created_at"]),
    }
