"""The seed's answers: one line per recipient in its wording, and the lists they go in."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from tidings.core.statuses import MessageStatus
from tidings.features.compat.messagesender.records import FAILED, FINISHED, MAIN, SCHEDULED, Record
from tidings.features.compat.messagesender.requests import SEND_AT_FORMAT

SUCCESS = "Success"


def line(record: Record, zone: ZoneInfo) -> str:
    """``Message to user: 1 with body: Hello Queued at 2020-10-06 07:45:55 to messenger: whatsapp``,
    the time in the surface's zone: when the message is due (its send_at, or when it was taken)."""
    queued = datetime.fromtimestamp(record.queued_at / 1000, zone).strftime(SEND_AT_FORMAT)
    return (
        f"Message to user: {record.uuid} with body: {record.body} "
        f"Queued at {queued} to messenger: {record.service}"
    )


def taken(records: Sequence[Record], zone: ZoneInfo) -> dict[str, list[str]]:
    """``/send_message``: a send with a date goes to the scheduled list, one without to started."""
    return {
        "scheduled": [line(r, zone) for r in records if r.queue == SCHEDULED],
        "started": [line(r, zone) for r in records if r.queue == MAIN],
    }


def scheduled(records: Sequence[Record], zone: ZoneInfo) -> dict[str, list[str]]:
    """Records whose message still waits for its date."""
    return {"scheduled": [line(r, zone) for r in records if r.status == MessageStatus.SCHEDULED]}


def finished(records: Sequence[Record], zone: ZoneInfo) -> dict[str, Any]:
    """Sent or delivered, by queue; failed ones (refused at intake included) of both queues."""
    return {
        "finished_main": [line(r, zone) for r in records if r.queue == MAIN and r.status in FINISHED],
        "finished_scheduled": [
            line(r, zone) for r in records if r.queue == SCHEDULED and r.status in FINISHED
        ],
        "finished_with_fail": [line(r, zone) for r in records if r.status is None or r.status in FAILED],
    }
