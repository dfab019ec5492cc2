"""Inbound messages: stored as ``received`` messages of the account that owns the channel, then
routed through the steps of :mod:`tidings.features.inbound.routing` in the same transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, insert
from sqlalchemy.dialects import postgresql, sqlite

from tidings.channels.base import InboundMessage
from tidings.channels.registry import channel_class
from tidings.core.addresses import sender_key
from tidings.core.clock import now_ms
from tidings.core.encoding import analyse
from tidings.core.ids import new_ids
from tidings.core.statuses import MessageStatus
from tidings.features.contacts import contacts_by_address
from tidings.features.inbound.routing import InboundContext, InboundStep
from tidings.store.channels import get_channel
from tidings.store.engine import Database
from tidings.store.message_events import insert_events
from tidings.store.schema import messages, service_windows

WHATSAPP_PREFIX = "whatsapp:"


class InboundService:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._steps: list[InboundStep] = []

    def add_step(self, step: InboundStep) -> None:
        """Append a routing step; steps run in the order they were added."""
        self._steps.append(step)

    async def receive(self, channel_id: str, inbound: Sequence[InboundMessage]) -> list[str]:
        """Store inbound messages reported by a channel; return their ids."""
        if not inbound:
            return []
        async with self._db.read() as conn:
            channel = await get_channel(conn, channel_id)
        if channel is None:
            raise LookupError(f"channel {channel_id} does not exist")
        now = now_ms()
        ids = new_ids("msg", len(inbound))
        rows = [_row(i, channel, m, now) for i, m in zip(ids, inbound, strict=True)]
        writers = _window_writers(channel, inbound)

        def store(conn: Connection) -> None:
            _link_contacts(conn, channel["account_id"], rows)
            conn.execute(insert(messages), rows)
            taken = {row["id"] for row in rows if self._route(conn, channel, row)}
            insert_events(
                conn,
                [(i, MessageStatus.RECEIVED.value, now, None, None) for i in ids],
                quiet=taken,
                inbound=True,
            )
            open_service_windows(conn, channel["id"], writers, at=now)

        await self._db.transact(store)
        return ids

    def _route(self, conn: Connection, channel: dict[str, Any], row: dict[str, Any]) -> bool:
        """Run the routing steps on one stored message; True when a step took it."""
        if not self._steps:
            return False
        context = InboundContext(
            message_id=row["id"],
            account_id=row["account_id"],
            channel_id=row["channel_id"],
            channel_type=channel["type"],
            sender=row["sender"],
            recipient=row["recipient"],
            body=row["body"],
            contact_id=row.get("contact_id"),
            at=row["created_at"],
        )
        return any(step.route(conn, context) for step in self._steps)


def _link_contacts(conn: Connection, account_id: str, rows: list[dict[str, Any]]) -> None:
    """Set ``contact_id`` on rows whose sender is an address of one of the account's contacts
    (docs/contacts.md): one indexed query."""
    keys = {row["id"]: sender_key(row["sender"]) for row in rows}
    owners = contacts_by_address(conn, account_id, {key for key in keys.values() if key is not None})
    for row in rows:
        key = keys[row["id"]]
        row["contact_id"] = owners.get(key) if key is not None else None


def _window_writers(channel: dict[str, Any], inbound: Sequence[InboundMessage]) -> list[str]:
    """The ``whatsapp:`` senders whose customer service window this inbound opens: only on
    channel types that have such a window (``Channel.service_window_hours``)."""
    try:
        windowed = channel_class(channel["type"]).service_window_hours is not None
    except ValueError:
        return []
    if not windowed:
        return []
    return sorted({m.sender for m in inbound if m.sender.startswith(WHATSAPP_PREFIX)})


def open_service_windows(conn: Connection, channel_id: str, addresses: Sequence[str], *, at: int) -> None:
    """Record that these addresses wrote to the channel at ``at`` (upsert; never moves back)."""
    if not addresses:
        return
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    upsert = dialect.insert(service_windows).values(
        [{"channel_id": channel_id, "address": address, "last_inbound_at": at} for address in addresses]
    )
    conn.execute(
        upsert.on_conflict_do_update(
            index_elements=[service_windows.c.channel_id, service_windows.c.address],
            set_={"last_inbound_at": upsert.excluded.last_inbound_at},
            where=service_windows.c.last_inbound_at < upsert.excluded.last_inbound_at,
        )
    )


def _row(message_id: str, channel: dict[str, Any], inbound: InboundMessage, now: int) -> dict[str, Any]:
    info = analyse(inbound.body) if inbound.body else None
    return {
        "id": message_id,
        "account_id": channel["account_id"],
        "batch_id": None,
        "direction": "inbound",
        "status": MessageStatus.RECEIVED.value,
        "priority": 1,
        "channel_id": channel["id"],
        "sender": inbound.sender,
        "recipient": inbound.recipient,
        "body": inbound.body,
        "encoding": info.encoding.value if info else "GSM-7",
        "segments": info.segments if info else 0,
        "due_at": None,
        "send_at": None,
        "expires_at": None,
        "attempts": 0,
        "lease_owner": None,
        "lease_until": None,
        "provider_message_id": inbound.provider_message_id,
        "error_code": None,
        "error_message": None,
        "status_callback": None,
        "metadata": None,
        "created_at": now,
        "updated_at": now,
    }
