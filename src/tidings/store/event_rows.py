"""A message row with one of its events as ``event_*`` keys: what ``core.presenters.event_payload``
renders, read by the webhook deliverer (store/outbox.py) and the live stream alike."""

from __future__ import annotations

from sqlalchemy import Select, select

from tidings.store.schema import message_events, messages


def events_with_their_messages() -> Select[tuple[object, ...]]:
    """Each event joined to its message; the caller adds which events (``where``) and the order."""
    return select(
        messages,
        message_events.c.id.label("event_id"),
        message_events.c.status.label("event_status"),
        message_events.c.at.label("event_at"),
        message_events.c.code.label("event_code"),
        message_events.c.detail.label("event_detail"),
    ).join(messages, messages.c.id == message_events.c.message_id)
