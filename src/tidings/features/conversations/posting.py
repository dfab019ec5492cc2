"""Adding a message to a conversation: stored, copied to every other participant as an ordinary
outbound message, linked, and announced -- all in the caller's transaction.

Used by the API (authored messages), the inbound step (relays) and closing (the close message).
Because the copies are queued rows written with the conversation message, a crash cannot keep
one without the other, and the dispatcher sends, retries and records their errors as for any
message; the conversation reads those outcomes back through ``conversation_deliveries``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection

from tidings.core.events import CONVERSATION_MESSAGE
from tidings.core.ids import new_id
from tidings.core.presenters import encode
from tidings.features.conversations import repository as repo
from tidings.features.conversations.presenters import conversation_message_json, event_payload
from tidings.features.conversations.rules import delivery_sender, relay_body, timer_deadlines
from tidings.features.inbound import queue_outbound
from tidings.store.outbox import enqueue_account_event

SYSTEM_AUTHOR = "system"


def post_message(
    conn: Connection,
    conversation: dict[str, Any],
    participants: Sequence[dict[str, Any]],
    *,
    body: str,
    author: str,
    author_participant: dict[str, Any] | None,
    direction: str,
    now: int,
    inbound_message_id: str | None = None,
    touch: bool = True,
) -> dict[str, Any]:
    """Store one conversation message and queue its copies to every participant but its author;
    returns it as the API shows it. ``touch`` counts it as activity: the timers restart and an
    inactive conversation becomes active again (not for the close message)."""
    message_id = new_id("cmg")
    identity = author_participant["identity"] if author_participant else None
    deliveries: list[dict[str, Any]] = []
    shown: list[dict[str, Any]] = []
    for participant in participants:
        if author_participant is not None and participant["id"] == author_participant["id"]:
            continue
        outbound_id = queue_outbound(
            conn,
            account_id=conversation["account_id"],
            channel_id=participant["channel_id"],
            sender=delivery_sender(participant["kind"], participant["proxy_address"]),
            recipient=participant["address"],
            body=relay_body(participant["kind"], identity, body),
            now=now,
            metadata={"conversation_id": conversation["id"], "conversation_message_id": message_id},
        )
        deliveries.append(
            {
                "conversation_message_id": message_id,
                "participant_id": participant["id"],
                "message_id": outbound_id,
            }
        )
        shown.append(
            {
                "participant_id": participant["id"],
                "message_id": outbound_id,
                "recipient": participant["address"],
                "channel_id": participant["channel_id"],
                "status": "queued",
                "error_code": None,
                "error_message": None,
            }
        )
    row = {
        "id": message_id,
        "conversation_id": conversation["id"],
        "author": author,
        "participant_id": author_participant["id"] if author_participant else None,
        "body": body,
        "direction": direction,
        "inbound_message_id": inbound_message_id,
        "created_at": now,
    }
    repo.insert_message(conn, row, deliveries)
    if touch:
        changes = activity(conversation, now)
        repo.update_conversation(conn, conversation["id"], changes)
        conversation = {**conversation, **changes}
    shown_message = conversation_message_json(row, shown)
    enqueue_account_event(
        conn,
        account_id=conversation["account_id"],
        message_id=inbound_message_id,
        event_type=CONVERSATION_MESSAGE,
        render=lambda event_id: encode(event_payload(event_id, conversation, shown_message, at=now)),
        now=now,
    )
    return shown_message


def activity(conversation: dict[str, Any], now: int) -> dict[str, Any]:
    """The columns a new message writes: active again, timers counted from now."""
    return {
        "state": repo.ACTIVE,
        "last_activity_at": now,
        "updated_at": max(now, conversation["updated_at"]),
        **timer_deadlines(
            repo.ACTIVE, now, conversation["inactive_after_ms"], conversation["closed_after_ms"]
        ),
    }


def close(conn: Connection, conversation: dict[str, Any], *, now: int) -> dict[str, Any]:
    """Close the conversation, first sending its ``close_message`` (if any) to every participant
    (seed 002 closes with a farewell); returns the closed row."""
    if conversation["close_message"]:
        participants = repo.participants_of(conn, conversation["id"])
        post_message(
            conn,
            conversation,
            participants,
            body=conversation["close_message"],
            author=SYSTEM_AUTHOR,
            author_participant=None,
            direction="outbound",
            now=now,
            touch=False,
        )
    values = {
        "state": repo.CLOSED,
        "inactive_at": None,
        "closes_at": None,
        "updated_at": max(now, conversation["updated_at"] + 1),
    }
    repo.update_conversation(conn, conversation["id"], values)
    return {**conversation, **values}
