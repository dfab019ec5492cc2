"""``GET /v1/events/stream``: server-sent events of the caller's account tree."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header
from sse_starlette import EventSourceResponse

from tidings.core.events import parse_event_id
from tidings.core.tenancy import Principal
from tidings.errors import InvalidRequest
from tidings.features.event_stream.service import EVENT_STREAM, EventStream
from tidings.web.auth import principal
from tidings.web.responses import ERRORS

router = APIRouter(prefix="/v1", tags=["events"], responses=ERRORS)
Caller = Annotated[Principal, Depends(principal)]


@router.get(
    "/events/stream",
    response_class=EventSourceResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "An endless event stream"}},
)
async def stream(
    caller: Caller,
    events: Annotated[EventStream, Depends(EVENT_STREAM)],
    last_event_id: Annotated[str | None, Header(description="Resume after this event id")] = None,
) -> EventSourceResponse:
    """``message.status`` and ``message.received`` events as they happen, each with an ``id:``
    line; reconnecting with ``Last-Event-ID`` resumes after that event. A comment line every
    15 s (``TIDINGS_EVENT_STREAM__KEEP_ALIVE_SECONDS``) keeps idle connections open through
    proxies."""
    after: int | None = None
    if last_event_id is not None and last_event_id.strip():
        after = parse_event_id(last_event_id)
        if after is None:
            raise InvalidRequest(
                "Last-Event-ID must be an event id such as evt_123", code="invalid_last_event_id"
            )
    start = await events.start_position(after)
    return EventSourceResponse(events.events(caller, start), ping=events.settings.keep_alive_seconds)
