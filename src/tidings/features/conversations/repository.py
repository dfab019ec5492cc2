"""Queries for conversations, their participants, messages and deliveries.

Plain sync functions over a Connection: the same ones run in API transactions
(``Database.transact`` / ``run_sync``), in the inbound routing step and in the timer sweep.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, delete, func, insert, or_, select, update

from tidings.core.cursors import Paging
from tidings.store.pages import keyset
from tidings.store.schema import (
    channels,
    conversation_deliveries,
    conversation_messages,
    conversation_participants,
    conversations,
    messages,
)

ACTIVE = "active"
INACTIVE = "inactive"
CLOSED = "closed"


def _rows(result: Any) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in result]


# -- conversations ---------------------------------------------------------------------------


def insert_conversation(conn: Connection, row: dict[str, Any]) -> None:
    conn.execute(insert(conversations), row)


def get_conversation(conn: Connection, conversation_id: str, *, lock: bool = False) -> dict[str, Any] | None:
    """The conversation; ``lock`` holds its row until the transaction ends (PostgreSQL; SQLite's
    single writer already serialises), so a message and a close cannot interleave."""
    query = select(conversations).where(conversations.c.id == conversation_id)
    if lock:
        query = query.with_for_update()
    row = conn.execute(query).first()
    return dict(row._mapping) if row else None


def list_conversations(
    conn: Connection, account_id: str, *, state: str | None, page: Paging[str]
) -> list[dict[str, Any]]:
    """Newest first."""
    query = select(conversations).where(conversations.c.account_id == account_id)
    if state is not None:
        query = query.where(conversations.c.state == state)
    return _rows(conn.execute(keyset(query, conversations.c.id, page, newest_first=True)))


def update_conversation(conn: Connection, conversation_id: str, values: dict[str, Any]) -> None:
    conn.execute(update(conversations).where(conversations.c.id == conversation_id).values(**values))


def delete_conversation(conn: Connection, conversation_id: str) -> None:
    """The conversation and its participants, messages and delivery links; the delivered
    messages themselves stay (they are the account's message history)."""
    own_messages = select(conversation_messages.c.id).where(
        conversation_messages.c.conversation_id == conversation_id
    )
    conn.execute(
        delete(conversation_deliveries).where(
            conversation_deliveries.c.conversation_message_id.in_(own_messages)
        )
    )
    conn.execute(
        delete(conversation_messages).where(conversation_messages.c.conversation_id == conversation_id)
    )
    conn.execute(
        delete(conversation_participants).where(
            conversation_participants.c.conversation_id == conversation_id
        )
    )
    conn.execute(delete(conversations).where(conversations.c.id == conversation_id))


def due_conversations(conn: Connection, *, now: int, limit: int, skip_locked: bool) -> list[dict[str, Any]]:
    """Conversations whose inactive or closed timer has fired, locked for this sweep (rows
    another worker is sweeping are skipped on PostgreSQL)."""
    query = (
        select(conversations)
        .where(or_(conversations.c.inactive_at <= now, conversations.c.closes_at <= now))
        .order_by(conversations.c.id)
        .limit(limit)
    )
    if skip_locked:
        query = query.with_for_update(skip_locked=True)
    return _rows(conn.execute(query))


# -- participants ----------------------------------------------------------------------------


def participants_of(conn: Connection, conversation_id: str) -> list[dict[str, Any]]:
    query = (
        select(conversation_participants)
        .where(conversation_participants.c.conversation_id == conversation_id)
        .order_by(conversation_participants.c.id)
    )
    return _rows(conn.execute(query))


def insert_participant(conn: Connection, row: dict[str, Any]) -> None:
    conn.execute(insert(conversation_participants), row)


def delete_participant(conn: Connection, participant_id: str) -> None:
    conn.execute(delete(conversation_participants).where(conversation_participants.c.id == participant_id))


def lock_channel(conn: Connection, channel_id: str) -> None:
    """Serialise participant additions on one channel until the transaction ends, so that the
    "one open conversation per address and proxy address" check holds under concurrent adds."""
    conn.execute(select(channels.c.id).where(channels.c.id == channel_id).with_for_update())


def open_holders(
    conn: Connection, *, channel_id: str, address: str, proxy_address: str | None = None
) -> list[dict[str, Any]]:
    """Participants with this address on this channel (and proxy address, when given) in
    conversations that are not closed, with their conversation's ``state`` and ``account_id``;
    newest conversation first."""
    query = (
        select(
            conversation_participants,
            conversations.c.state.label("conversation_state"),
            conversations.c.account_id.label("conversation_account_id"),
        )
        .join(conversations, conversations.c.id == conversation_participants.c.conversation_id)
        .where(
            conversation_participants.c.channel_id == channel_id,
            conversation_participants.c.address == address,
            conversations.c.state != CLOSED,
        )
        .order_by(conversations.c.id.desc())
    )
    if proxy_address is not None:
        query = query.where(conversation_participants.c.proxy_address == proxy_address)
    return _rows(conn.execute(query))


# -- messages and deliveries -----------------------------------------------------------------


def insert_message(conn: Connection, row: dict[str, Any], deliveries: Sequence[dict[str, Any]]) -> None:
    conn.execute(insert(conversation_messages), row)
    if deliveries:
        conn.execute(insert(conversation_deliveries), list(deliveries))


def list_messages(
    conn: Connection, conversation_id: str, page: Paging[str], *, newest_first: bool = True
) -> list[dict[str, Any]]:
    """Newest first, like every list of the API, unless ``newest_first`` is False."""
    query = select(conversation_messages).where(conversation_messages.c.conversation_id == conversation_id)
    return _rows(conn.execute(keyset(query, conversation_messages.c.id, page, newest_first=newest_first)))


def get_message(conn: Connection, conversation_id: str, message_id: str) -> dict[str, Any] | None:
    query = select(conversation_messages).where(
        conversation_messages.c.conversation_id == conversation_id, conversation_messages.c.id == message_id
    )
    row = conn.execute(query).first()
    return dict(row._mapping) if row else None


def messages_before(conn: Connection, conversation_id: str, message_id: str) -> int:
    """How many messages of the conversation are older than ``message_id`` (ids are time-ordered
    and messages are never deleted one by one, so this never changes for a message)."""
    query = (
        select(func.count())
        .select_from(conversation_messages)
        .where(
            conversation_messages.c.conversation_id == conversation_id,
            conversation_messages.c.id < message_id,
        )
    )
    return int(conn.execute(query).scalar_one())


def deliveries_of(conn: Connection, message_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    """Each conversation message's deliveries with their message's current status and error."""
    found: dict[str, list[dict[str, Any]]] = {}
    if not message_ids:
        return found
    query = (
        select(
            conversation_deliveries.c.conversation_message_id,
            conversation_deliveries.c.participant_id,
            messages.c.id.label("message_id"),
            messages.c.recipient,
            messages.c.channel_id,
            messages.c.status,
            messages.c.error_code,
            messages.c.error_message,
        )
        .join(messages, messages.c.id == conversation_deliveries.c.message_id)
        .where(conversation_deliveries.c.conversation_message_id.in_(list(message_ids)))
        .order_by(conversation_deliveries.c.conversation_message_id, messages.c.id)
    )
    for row in conn.execute(query):
        found.setdefault(row.conversation_message_id, []).append(dict(row._mapping))
    return found
