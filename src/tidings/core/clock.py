"""Time as the gateway stores it (integer epoch milliseconds, UTC) and as the API shows it."""

from __future__ import annotations

import time
from datetime import UTC, datetime


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def to_ms(moment: datetime) -> int:
    """Epoch milliseconds of an aware datetime (naive ones are refused: they are ambiguous)."""
    if moment.tzinfo is None:
        raise ValueError("datetime must carry a time zone")
    return int(moment.timestamp() * 1000)


def to_rfc3339(ms: int | None) -> str | None:
    """``2026-11-23T09:41:07.123Z`` for a stored time; None stays None."""
    if ms is None:
        return None
    moment = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def monotonic_s() -> float:
    """Seconds on a clock that never jumps (for durations such as cool-downs, not for storage)."""
    return time.monotonic()
