"""Inbound routing (docs/architecture.md, "One inbound message"): the steps an inbound message goes through,
in the transaction that stores it.

Steps run in order (keywords such as STOP, then proxy sessions, then conversations); the first
that takes the message ends its routing. A message no step took is announced to the account's
webhook as ``message.received``. Steps run inside the storing transaction, so what a step writes
(an opt-out, a relayed copy, a reply) commits or fails with the message itself: a crash never
leaves a stored message whose relay was lost.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Connection, insert

from tidings.core.encoding import analyse
from tidings.core.ids import new_ids
from tidings.core.statuses import MessageStatus
from tidings.store.message_events import insert_events
from tidings.store.queue import notify_due
from tidings.store.schema import messages

# Replies (confirmations, help texts, relays) are claimed before normal and bulk traffic: a
# person who just wrote is waiting for them.
REPLY_PRIORITY = 0


@dataclass(frozen=True, slots=True)
class InboundContext:
    """One stored inbound message, as routing steps see it."""

    message_id: str
    account_id: str
    channel_id: str
    channel_type: str
    sender: str  # the person (their address on the channel)
    recipient: str  # our address they wrote to (a number, a bot, a proxy number)
    body: str
    contact_id: str | None
    at: int  # epoch ms


class InboundStep(Protocol):
    """One routing step. ``route`` returns True when it took the message (later steps and the
    account webhook are skipped). It may write in ``conn``, never commit or call out."""

    name: str

    def route(self, conn: Connection, message: InboundContext) -> bool: ...


def queue_outbound(
    conn: Connection,
    *,
    account_id: str,
    channel_id: str,
    sender: str | None,
    recipient: str,
    body: str,
    now: int,
    metadata: dict[str, Any] | None = None,
) -> str:
    """Queue one outbound message in this transaction (a confirmation, a relayed copy) on a
    known channel, skipping intake's routing; returns its id. Workers are woken on commit."""
    [message_id] = new_ids("msg", 1)
    info = analyse(body)
    conn.execute(
        insert(messages).values(
            id=message_id,
            account_id=account_id,
            batch_id=None,
            direction="outbound",
            status=MessageStatus.QUEUED.value,
            priority=REPLY_PRIORITY,
            channel_id=channel_id,
            sender=sender,
            recipient=recipient,
            body=body,
            encoding=info.encoding.value,
            segments=info.segments,
            due_at=now,
            attempts=0,
            metadata=json.dumps(metadata) if metadata is not None else None,
            created_at=now,
            updated_at=now,
            via_fallback=False,
        )
    )
    insert_events(conn, [(message_id, MessageStatus.QUEUED.value, now, None, None)])
    notify_due(conn)
    return message_id
