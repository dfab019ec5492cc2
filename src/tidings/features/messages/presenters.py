"""Batches and pages as the API shows them (a message's own shape is ``core.presenters``)."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from tidings.core.clock import to_rfc3339
from tidings.core.statuses import FINAL_STATUSES
from tidings.features.messages.recipients import Addressed


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


# Message ids listed in a send's answer; a bigger batch is read page by page.
INLINE_IDS = 1000


def accepted_batch_json(
    batch_id: str, addressed: Addressed, channel_id: str, ids: list[str], status: str, now: int
) -> dict[str, Any]:
    """The 202 answer to a send: what was accepted, refused and merged, and the message ids
    (up to :data:`INLINE_IDS` of them)."""
    segments: int | None = None
    if addressed.uniform:
        segments = addressed.infos[0].segments
        total = addressed.infos[0].segments * len(ids)
        encoding: str | None = addressed.infos[0].encoding.value
    else:
        total = sum(info.segments for info in addressed.infos)
        encodings = {info.encoding.value for info in addressed.infos}
        encoding = encodings.pop() if len(encodings) == 1 else None
    return {
        "id": batch_id,
        "accepted": len(ids),
        "invalid": [asdict(i) for i in addressed.invalid],
        "duplicates": addressed.duplicates,
        "segments": segments,
        "total_segments": total,
        "encoding": encoding,
        "channel_id": channel_id,
        "send_at": to_rfc3339(addressed.plan.send_at),
        "status_counts": {status: len(ids)},
        "message_ids": ids if len(ids) <= INLINE_IDS else None,
        "created_at": to_rfc3339(now),
    }
