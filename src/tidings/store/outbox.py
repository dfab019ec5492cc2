"""The webhook outbox (docs/webhooks.md): deliveries written with the change they announce, then claimed.

Plain sync functions over a Connection, run inside the caller's transaction (``Database.transact``).

:func:`enqueue_message_events` is called for every announced status change, on the hot write paths
(batched outcome writes, receipts, cancels of whole batches), so it is one ``INSERT … SELECT`` per
thousand messages: the rows are chosen and built by the database, joined to the accounts' webhook
settings and filtered on a URL being set. When no account has a webhook and no message a
``status_callback`` it inserts nothing and Python touches no row. Each row carries its format
(``webhook_deliveries.format``, docs/webhooks.md "Formats"): the account webhook's is native, a
callback's is its message's ``callback_format``, an SmsUrl's is Twilio's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Connection,
    String,
    and_,
    any_,
    bindparam,
    case,
    func,
    insert,
    literal,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from tidings.core.events import MESSAGE_RECEIVED, MESSAGE_STATUS, SENDING_ANNOUNCED_FORMATS, TWILIO_FORMAT
from tidings.core.statuses import MessageStatus
from tidings.store.event_rows import events_with_their_messages
from tidings.store.picks import picked
from tidings.store.schema import account_webhooks, message_events, messages, webhook_deliveries

PENDING = "pending"
DELIVERED = "delivered"
FAILED = "failed"

_CHUNK = 1000
_INSERTED_COLUMNS = (
    "account_id",
    "message_id",
    "event_id",
    "event_type",
    "url",
    "format",
    "status",
    "attempts",
    "next_attempt_at",
    "created_at",
    "updated_at",
)

# Which targets a call queues for (``enqueue_message_events(..., targets=)``):
STATUS_TARGETS = "status"  # an announced status: the account's URL and the message's callback
INBOUND_TARGETS = "inbound"  # a received message: the account's URL and its Twilio SmsUrl
SENDING_TARGETS = "sending"  # a claim: only callbacks whose format announces it (core.events)
_NATIVE = literal(None, String)


def _enqueue_statement(*, postgresql: bool, targets: str) -> Any:
    # On PostgreSQL the ids travel as one array parameter: an expanded list of a thousand
    # parameters made the server parse and plan the statement afresh each time (9 ms per 500
    # messages, most of it planning, measured); `= ANY(array)` is planned once.
    ids: Any = bindparam("ids", type_=ARRAY(String)) if postgresql else bindparam("ids", expanding=True)
    now: Any = bindparam("now", type_=BigInteger)

    def among(column: Any) -> Any:
        return column == any_(ids) if postgresql else column.in_(ids)

    # The event just written for each message: its newest. This transaction holds the message's
    # row lock (it has just updated or inserted the row), so no other event can be newer.
    latest_event = (
        select(func.max(message_events.c.id))
        .where(message_events.c.message_id == messages.c.id)
        .scalar_subquery()
    )
    kind = case(
        (messages.c.status == MessageStatus.RECEIVED.value, literal(MESSAGE_RECEIVED, String)),
        else_=literal(MESSAGE_STATUS, String),
    )

    def common(url: Any, delivery_format: Any) -> list[Any]:
        return [
            messages.c.account_id,
            messages.c.id,
            latest_event,
            kind,
            url,
            delivery_format,
            literal(PENDING, String),
            literal(0, BigInteger),
            now,
            now,
            now,
        ]

    with_settings = messages.join(account_webhooks, account_webhooks.c.account_id == messages.c.account_id)
    to_account = (
        select(*common(account_webhooks.c.url, _NATIVE))
        .select_from(with_settings)
        .where(among(messages.c.id), account_webhooks.c.url.is_not(None))
    )
    if targets == SENDING_TARGETS:
        return insert(webhook_deliveries).from_select(
            list(_INSERTED_COLUMNS),
            select(*common(messages.c.status_callback, messages.c.callback_format)).where(
                among(messages.c.id),
                messages.c.status_callback.is_not(None),
                messages.c.callback_format.in_(sorted(SENDING_ANNOUNCED_FORMATS)),
            ),
        )
    if targets == INBOUND_TARGETS:
        # Inbound carries no status_callback; an account's Twilio SmsUrl hears it in that form.
        to_sms_url = (
            select(*common(account_webhooks.c.twilio_sms_url, literal(TWILIO_FORMAT, String)))
            .select_from(with_settings)
            .where(among(messages.c.id), account_webhooks.c.twilio_sms_url.is_not(None))
        )
        return insert(webhook_deliveries).from_select(
            list(_INSERTED_COLUMNS), union_all(to_account, to_sms_url)
        )
    # A native status_callback equal to the account's URL would get every event twice: once is
    # enough. A callback in another format is another receiver's contract: it gets its own.
    to_callback = (
        select(*common(messages.c.status_callback, messages.c.callback_format))
        .select_from(
            messages.outerjoin(account_webhooks, account_webhooks.c.account_id == messages.c.account_id)
        )
        .where(
            among(messages.c.id),
            messages.c.status_callback.is_not(None),
            or_(
                account_webhooks.c.url.is_(None),
                account_webhooks.c.url != messages.c.status_callback,
                messages.c.callback_format.is_not(None),
            ),
        )
    )
    return insert(webhook_deliveries).from_select(list(_INSERTED_COLUMNS), union_all(to_account, to_callback))


_ENQUEUE = {
    (postgresql, targets): _enqueue_statement(postgresql=postgresql, targets=targets)
    for postgresql in (False, True)
    for targets in (STATUS_TARGETS, INBOUND_TARGETS, SENDING_TARGETS)
}


def enqueue_message_events(
    conn: Connection, message_ids: Sequence[str], *, now: int, targets: str = STATUS_TARGETS
) -> None:
    """Queue deliveries of the event each message just recorded, to every URL of ``targets``
    that wants it."""
    statement = _ENQUEUE[(conn.dialect.name == "postgresql", targets)]
    for start in range(0, len(message_ids), _CHUNK):
        conn.execute(statement, {"ids": list(message_ids[start : start + _CHUNK]), "now": now})


def enqueue_account_event(
    conn: Connection,
    *,
    account_id: str,
    message_id: str | None,
    event_type: str,
    render: Callable[[str], str],
    now: int,
) -> None:
    """Queue an event that has no message_events row (``conversation.message``) for the
    account's webhook, if it has one. ``render(event id)`` makes the body; the id is the
    ``dlv_<n>`` the deliverer sends as ``Tidings-Event-Id`` for such rows, so the two agree."""
    url = conn.execute(
        select(account_webhooks.c.url).where(
            account_webhooks.c.account_id == account_id, account_webhooks.c.url.is_not(None)
        )
    ).scalar_one_or_none()
    if url is None:
        return
    delivery_id = conn.execute(
        insert(webhook_deliveries)
        .values(
            account_id=account_id,
            message_id=message_id,
            event_type=event_type,
            url=url,
            status=PENDING,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
            updated_at=now,
        )
        .returning(webhook_deliveries.c.id)
    ).scalar_one()
    conn.execute(
        update(webhook_deliveries)
        .where(webhook_deliveries.c.id == delivery_id)
        .values(payload=render(f"dlv_{delivery_id}"))
    )


@dataclass(frozen=True, slots=True)
class ClaimedDelivery:
    id: int
    account_id: str
    message_id: str | None
    event_id: int | None
    event_type: str
    payload: str | None
    url: str
    attempts: int
    created_at: int
    format: str | None = None  # None: the native JSON (tidings.webhooks.formats)


def claim_due(
    conn: Connection, *, worker: str, now: int, lease_until: int, limit: int, skip_locked: bool
) -> list[ClaimedDelivery]:
    """Lease up to ``limit`` due deliveries to this worker and return them, oldest due first.

    A delivery waits while an earlier one of the same message to the same URL is pending (in
    flight or waiting for a retry), so each receiver sees a message's events in order. A lease
    that ran out (its worker died) makes the delivery claimable again.
    """
    earlier = webhook_deliveries.alias("earlier")
    blocked = (
        select(earlier.c.id)
        .where(
            earlier.c.status == PENDING,
            earlier.c.message_id == webhook_deliveries.c.message_id,
            earlier.c.id < webhook_deliveries.c.id,
            earlier.c.url == webhook_deliveries.c.url,
        )
        .exists()
    )
    due = (
        select(webhook_deliveries.c.id)
        .where(
            webhook_deliveries.c.status == PENDING,
            webhook_deliveries.c.next_attempt_at <= now,
            or_(webhook_deliveries.c.lease_until.is_(None), webhook_deliveries.c.lease_until < now),
            ~blocked,
        )
        .order_by(webhook_deliveries.c.next_attempt_at, webhook_deliveries.c.id)
        .limit(limit)
    )
    if skip_locked:
        due = due.with_for_update(skip_locked=True)
    claim = (
        update(webhook_deliveries)
        .where(picked(conn, webhook_deliveries.c.id, due))
        .values(
            lease_owner=worker,
            lease_until=lease_until,
            attempts=webhook_deliveries.c.attempts + 1,
            updated_at=now,
        )
        .returning(
            webhook_deliveries.c.id,
            webhook_deliveries.c.account_id,
            webhook_deliveries.c.message_id,
            webhook_deliveries.c.event_id,
            webhook_deliveries.c.event_type,
            webhook_deliveries.c.payload,
            webhook_deliveries.c.url,
            webhook_deliveries.c.attempts,
            webhook_deliveries.c.created_at,
            webhook_deliveries.c.format,
        )
    )
    claimed = [ClaimedDelivery(*row) for row in conn.execute(claim)]
    return sorted(claimed, key=lambda d: d.id)


def events_with_messages(conn: Connection, event_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """message_events rows (as ``event_*`` keys) joined to their message's row, by event id."""
    wanted = sorted(set(event_ids))
    found: dict[int, dict[str, Any]] = {}
    query = events_with_their_messages().where(message_events.c.id.in_(bindparam("ids", expanding=True)))
    for start in range(0, len(wanted), _CHUNK):
        for row in conn.execute(query, {"ids": wanted[start : start + _CHUNK]}):
            found[row.event_id] = dict(row._mapping)
    return found


def store_payloads(conn: Connection, payloads: dict[int, str]) -> None:
    """Keep each delivery's rendered body, so every retry sends the same bytes."""
    if payloads:
        conn.execute(
            update(webhook_deliveries)
            .where(webhook_deliveries.c.id == bindparam("b_id"))
            .values(payload=bindparam("b_payload")),
            [{"b_id": i, "b_payload": p} for i, p in payloads.items()],
        )


def webhook_secrets(conn: Connection, account_ids: Iterable[str]) -> dict[str, str]:
    """Sealed webhook secrets by account, for the accounts that have one."""
    rows = conn.execute(
        select(account_webhooks.c.account_id, account_webhooks.c.secret_ciphertext).where(
            account_webhooks.c.account_id.in_(sorted(set(account_ids)))
        )
    )
    return {account_id: sealed for account_id, sealed in rows}


def add_missing_secrets(conn: Connection, sealed_by_account: dict[str, str], *, now: int) -> None:
    """Give these accounts a webhook secret unless they got one meanwhile (another worker)."""
    if not sealed_by_account:
        return
    build = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    conn.execute(
        build(account_webhooks).on_conflict_do_nothing(index_elements=["account_id"]),
        [
            {"account_id": a, "url": None, "secret_ciphertext": s, "updated_at": now}
            for a, s in sealed_by_account.items()
        ],
    )


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    """What became of one attempt: delivered, retry at ``next_attempt_at``, or failed for good."""

    delivery_id: int
    status: str  # pending (retry) | delivered | failed
    error: str | None = None
    next_attempt_at: int | None = None


def record_results(conn: Connection, *, worker: str, results: Sequence[DeliveryResult], now: int) -> None:
    """Write attempt results for the deliveries this worker still holds (a lost lease is skipped)."""
    if not results:
        return
    conn.execute(
        update(webhook_deliveries)
        .where(
            webhook_deliveries.c.id == bindparam("b_id"),
            webhook_deliveries.c.lease_owner == bindparam("b_worker"),
            webhook_deliveries.c.status == PENDING,
        )
        .values(
            status=bindparam("b_status"),
            last_error=bindparam("b_error"),
            next_attempt_at=func.coalesce(bindparam("b_next", type_=BigInteger), now),
            lease_owner=None,
            lease_until=None,
            updated_at=now,
        ),
        [
            {
                "b_id": r.delivery_id,
                "b_worker": worker,
                "b_status": r.status,
                "b_error": r.error,
                "b_next": r.next_attempt_at,
            }
            for r in results
        ],
    )


def release(conn: Connection, *, worker: str, delivery_ids: Sequence[int], now: int) -> None:
    """Hand back deliveries claimed but not attempted (shutdown): claimable at once, uncounted."""
    for start in range(0, len(delivery_ids), _CHUNK):
        conn.execute(
            update(webhook_deliveries)
            .where(
                webhook_deliveries.c.id.in_(list(delivery_ids[start : start + _CHUNK])),
                and_(webhook_deliveries.c.lease_owner == worker, webhook_deliveries.c.status == PENDING),
            )
            .values(
                lease_owner=None,
                lease_until=None,
                attempts=webhook_deliveries.c.attempts - 1,
                updated_at=now,
            )
        )
