"""Twilio's two date formats, and the times its requests carry.

The 2010-04-01 API shows RFC 2822 (``Wed, 18 Aug 2010 20:01:40 +0000``, parsed by the SDK with
``email.utils``); the v1 APIs show ``YYYY-MM-DDTHH:MM:SSZ`` with no fraction (the SDK's
``strptime`` format: a fraction would leave the attribute an unparsed string). Requests send
times as ``YYYY-MM-DDTHH:MM:SSZ`` and date filters as ``YYYY-MM-DD``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from tidings.core.clock import to_ms
from tidings.features.compat.twilio.exceptions import INVALID_PARAMETER, invalid_parameter

DAY_MS = 86_400_000


# English names whatever the locale (strftime's %a and %b follow it), as RFC 2822 wants.
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def rfc2822(ms: int | None) -> str | None:
    """A stored time (epoch ms) for the 2010-04-01 API, ``Wed, 18 Aug 2010 20:01:40 +0000``;
    None stays None. Written out by hand: three per message, and ``email.utils`` takes several
    times as long."""
    if ms is None:
        return None
    t = datetime.fromtimestamp(ms // 1000, tz=UTC)
    return (
        f"{_DAYS[t.weekday()]}, {t.day:02d} {_MONTHS[t.month - 1]} {t.year:04d} "
        f"{t.hour:02d}:{t.minute:02d}:{t.second:02d} +0000"
    )


def iso(ms: int | None) -> str | None:
    """A stored time for the v1 APIs, whole seconds; None stays None."""
    if ms is None:
        return None
    return datetime.fromtimestamp(ms // 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(name: str, value: str, *, code: int = INVALID_PARAMETER) -> datetime:
    """A request's ISO 8601 time (``2026-12-04T10:00:00Z``, or with an offset); one without a
    zone is read as UTC, as Twilio reads it. Anything else is a 400 naming ``name``."""
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        problem = "expected an ISO 8601 time such as 2026-12-04T10:00:00Z"
        raise invalid_parameter(name, problem, code) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Span:
    """A half-open range of epoch milliseconds, either end open when None."""

    since: int | None = None
    until: int | None = None

    def narrowed(self, other: Span) -> Span:
        since = max((t for t in (self.since, other.since) if t is not None), default=None)
        until = min((t for t in (self.until, other.until) if t is not None), default=None)
        return Span(since, until)


def date_filter(name: str, value: str, relation: str) -> Span:
    """``DateSent``, ``DateSent<`` or ``DateSent>`` (``relation`` ``=``, ``<``, ``>``) as a span.

    Twilio's filters are dates (``YYYY-MM-DD``): ``=`` that UTC day, ``<`` on or before it, ``>``
    on or after it (Twilio's reading of ``<=``/``>=``). The Python SDK sends every value as a time
    (``2026-12-04T00:00:00Z``, a date too), so ``=`` with a time is the day it falls on, while
    ``<`` and ``>`` with a time bound at that second (``<`` up to and including it)."""
    text = value.strip()
    if len(text) == 10:
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise invalid_parameter(name, "expected a date YYYY-MM-DD") from None
        moment = datetime(day.year, day.month, day.day, tzinfo=UTC)
        length = DAY_MS
    else:
        moment = parse_time(name, text)
        length = 1000
    start = to_ms(moment)
    if relation == "<":
        return Span(None, start + length)
    if relation == ">":
        return Span(start, None)
    utc = moment.astimezone(UTC)
    day_start = to_ms(datetime(utc.year, utc.month, utc.day, tzinfo=UTC))
    return Span(day_start, day_start + DAY_MS)
