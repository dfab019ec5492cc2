"""Status events: every status change is recorded here, and the announced ones queued for
webhook delivery in the same transaction."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlalchemy import Connection

from tidings.core.events import ANNOUNCED_VALUES
from tidings.store.bulk import insert_rows
from tidings.store.outbox import INBOUND_TARGETS, STATUS_TARGETS, enqueue_message_events
from tidings.store.schema import message_events

EVENT_COLUMNS = ("message_id", "status", "at", "code", "detail")


def insert_events(
    conn: Connection,
    rows: Sequence[tuple[str, str, int, str | None, str | None]],
    *,
    quiet: Collection[str] = (),
    inbound: bool = False,
) -> None:
    """Append status events: (message id, status, at, code, detail); all rows of one call share
    their time. Announced ones (core.events) are queued for webhook delivery in this transaction,
    which is what makes the outbox transactional: every path that changes a status comes here.
    Messages in ``quiet`` are recorded but not announced (inbound routed to a conversation or a
    proxy session, which announce it their own way). ``inbound``: these are received messages,
    which also go to the account's Twilio SmsUrl (store.outbox.INBOUND_TARGETS).
    """
    insert_rows(conn, message_events, EVENT_COLUMNS, rows)
    announced = [row[0] for row in rows if row[1] in ANNOUNCED_VALUES and row[0] not in quiet]
    if announced:
        targets = INBOUND_TARGETS if inbound else STATUS_TARGETS
        enqueue_message_events(conn, announced, now=rows[0][2], targets=targets)
