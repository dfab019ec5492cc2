"""Queries for pool numbers, proxy sessions and their system texts. Sync functions over a
Connection: every write runs in ``Database.transact`` (inbound routing's transaction among them)
and reads run through ``AsyncConnection.run_sync``, so one set of queries serves both."""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any

from sqlalchemy import Connection, and_, func, insert, or_, select, update
from sqlalchemy.sql.elements import ColumnElement

from tidings.core.cursors import Paging
from tidings.features.proxy.rules import ACTIVE, ENDED, Text
from tidings.store.pages import keyset
from tidings.store.schema import account_texts, accounts, messages, proxy_numbers, proxy_sessions

_LIVE = proxy_numbers.c.removed_at.is_(None)
_ACTIVE = proxy_sessions.c.status == ACTIVE
# A session row as shown: with its pool number and that number's channel.
_SESSION_COLUMNS = (
    *proxy_sessions.c,
    proxy_numbers.c.number.label("proxy_number"),
    proxy_numbers.c.channel_id,
)
_WITH_NUMBER = proxy_sessions.join(proxy_numbers, proxy_numbers.c.id == proxy_sessions.c.proxy_number_id)


def _rows(conn: Connection, query: Any) -> list[dict[str, Any]]:
    return [dict(row._mapping) for row in conn.execute(query)]


def _holds(participant: str) -> ColumnElement[bool]:
    return or_(proxy_sessions.c.participant_a == participant, proxy_sessions.c.participant_b == participant)


def lock_account(conn: Connection, account_id: str) -> None:
    """Serialise pool changes and session creation of one account until the transaction ends: a
    row lock on PostgreSQL; SQLite's writer lock already serialises (FOR UPDATE is left out)."""
    conn.execute(select(accounts.c.id).where(accounts.c.id == account_id).with_for_update())


# -- pool numbers ------------------------------------------------------------------------------


def insert_number(conn: Connection, row: dict[str, Any]) -> None:
    conn.execute(insert(proxy_numbers), row)


def live_number(conn: Connection, account_ids: Collection[str], ref: str) -> dict[str, Any] | None:
    """A live pool number of these accounts by id, else by number."""
    query = select(proxy_numbers).where(
        proxy_numbers.c.account_id.in_(sorted(account_ids)),
        _LIVE,
        or_(proxy_numbers.c.id == ref, proxy_numbers.c.number == ref),
    )
    rows = _rows(conn, query)
    rows.sort(key=lambda row: row["id"] != ref)  # an id match wins over a number one
    return rows[0] if rows else None


def number_on_channel(conn: Connection, channel_id: str, number: str) -> dict[str, Any] | None:
    """The live pool number (of any account) that an inbound recipient on this channel is."""
    query = select(proxy_numbers).where(
        proxy_numbers.c.channel_id == channel_id, proxy_numbers.c.number == number, _LIVE
    )
    row = conn.execute(query).first()
    return dict(row._mapping) if row else None


def numbers_page(conn: Connection, account_id: str, page: Paging[str]) -> list[dict[str, Any]]:
    """Live pool numbers, newest first, each with ``active_sessions``."""
    query = select(proxy_numbers).where(proxy_numbers.c.account_id == account_id, _LIVE)
    rows = _rows(conn, keyset(query, proxy_numbers.c.id, page, newest_first=True))
    counts = active_by_number(conn, account_id)
    return [{**row, "active_sessions": counts.get(row["id"], 0)} for row in rows]


def active_by_number(conn: Connection, account_id: str) -> dict[str, int]:
    """Active sessions on each live pool number of the account (0 for idle ones)."""
    busy = (
        select(proxy_sessions.c.proxy_number_id, func.count().label("sessions"))
        .where(_ACTIVE)
        .group_by(proxy_sessions.c.proxy_number_id)
        .subquery()
    )
    query = (
        select(proxy_numbers.c.id, func.coalesce(busy.c.sessions, 0))
        .select_from(proxy_numbers.outerjoin(busy, busy.c.proxy_number_id == proxy_numbers.c.id))
        .where(proxy_numbers.c.account_id == account_id, _LIVE)
    )
    return {number_id: int(count) for number_id, count in conn.execute(query)}


def remove_number(conn: Connection, number_id: str, *, now: int) -> None:
    conn.execute(update(proxy_numbers).where(proxy_numbers.c.id == number_id).values(removed_at=now))


def free_pool_number(
    conn: Connection,
    account_id: str,
    participants: Collection[str],
    number_ids: Collection[str] | None = None,
    *,
    idle_only: bool = False,
) -> dict[str, Any] | None:
    """A live pool number of the account (one of ``number_ids`` when given) on which no
    participant given is in an active session, the least busy first (then the oldest), so
    sessions spread over the pool; with ``idle_only`` one serving no active session at all. Run
    under :func:`lock_account`: two creates then never pick the same conflicting number."""
    wanted = sorted(participants)
    clash = (
        select(proxy_sessions.c.id)
        .where(
            proxy_sessions.c.proxy_number_id == proxy_numbers.c.id,
            _ACTIVE,
            or_(proxy_sessions.c.participant_a.in_(wanted), proxy_sessions.c.participant_b.in_(wanted)),
        )
        .exists()
    )
    load = (
        select(func.count())
        .where(proxy_sessions.c.proxy_number_id == proxy_numbers.c.id, _ACTIVE)
        .scalar_subquery()
    )
    query = (
        select(proxy_numbers)
        .where(proxy_numbers.c.account_id == account_id, _LIVE, ~clash)
        .order_by(load, proxy_numbers.c.id)
        .limit(1)
    )
    if idle_only:
        query = query.where(load == 0)
    if number_ids is not None:
        query = query.where(proxy_numbers.c.id.in_(list(number_ids)))
    row = conn.execute(query).first()
    return dict(row._mapping) if row else None


# -- sessions ----------------------------------------------------------------------------------


def insert_session(conn: Connection, row: dict[str, Any]) -> None:
    conn.execute(insert(proxy_sessions), row)


def session_by_id(conn: Connection, account_ids: Collection[str], session_id: str) -> dict[str, Any] | None:
    query = (
        select(*_SESSION_COLUMNS)
        .select_from(_WITH_NUMBER)
        .where(proxy_sessions.c.id == session_id, proxy_sessions.c.account_id.in_(sorted(account_ids)))
    )
    row = conn.execute(query).first()
    return dict(row._mapping) if row else None


def sessions_page(
    conn: Connection, account_id: str, *, status: str | None, page: Paging[str]
) -> list[dict[str, Any]]:
    """The account's sessions, newest first, optionally of one status."""
    query = (
        select(*_SESSION_COLUMNS).select_from(_WITH_NUMBER).where(proxy_sessions.c.account_id == account_id)
    )
    if status is not None:
        query = query.where(proxy_sessions.c.status == status)
    return _rows(conn, keyset(query, proxy_sessions.c.id, page, newest_first=True))


def active_session_for(conn: Connection, proxy_number_id: str, participant: str) -> dict[str, Any] | None:
    """The participant's active session on this pool number (two index probes); the newest
    should two ever match."""
    query = (
        select(*_SESSION_COLUMNS)
        .select_from(_WITH_NUMBER)
        .where(proxy_sessions.c.proxy_number_id == proxy_number_id, _ACTIVE, _holds(participant))
        .order_by(proxy_sessions.c.id.desc())
        .limit(1)
    )
    row = conn.execute(query).first()
    return dict(row._mapping) if row else None


def active_sessions_on(conn: Connection, proxy_number_id: str) -> list[dict[str, Any]]:
    query = (
        select(*_SESSION_COLUMNS)
        .select_from(_WITH_NUMBER)
        .where(proxy_sessions.c.proxy_number_id == proxy_number_id, _ACTIVE)
        .order_by(proxy_sessions.c.id)
    )
    return _rows(conn, query)


def expired_sessions(
    conn: Connection, *, now: int, limit: int, skip_locked: bool, account_id: str | None = None
) -> list[dict[str, Any]]:
    """Active sessions whose time ran out by ``now`` (the expiry index), oldest deadline first.
    With ``skip_locked`` (PostgreSQL) concurrent sweeps take disjoint rows."""
    due = select(proxy_sessions.c.id).where(
        _ACTIVE, proxy_sessions.c.expires_at.is_not(None), proxy_sessions.c.expires_at <= now
    )
    if account_id is not None:
        due = due.where(proxy_sessions.c.account_id == account_id)
    due = due.order_by(proxy_sessions.c.expires_at).limit(limit)
    if skip_locked:
        due = due.with_for_update(skip_locked=True)
    ids = [row[0] for row in conn.execute(due)]
    if not ids:
        return []
    query = select(*_SESSION_COLUMNS).select_from(_WITH_NUMBER).where(proxy_sessions.c.id.in_(ids))
    return sorted(_rows(conn, query), key=lambda row: (row["expires_at"], row["id"]))


def mark_ended(conn: Connection, session_id: str, reason: str, *, now: int) -> bool:
    """End an active session; False when it had ended already (a concurrent end won: on
    PostgreSQL the update waits for the other's row lock, then finds the status changed)."""
    result = conn.execute(
        update(proxy_sessions)
        .where(proxy_sessions.c.id == session_id, _ACTIVE)
        .values(status=ENDED, ended_reason=reason, updated_at=now)
    )
    return bool(result.rowcount)


# -- system texts ------------------------------------------------------------------------------


def texts_of(conn: Connection, account_id: str) -> dict[Text, str]:
    """The proxy texts the account configured; one left out is not sent."""
    query = select(account_texts.c.name, account_texts.c.body).where(
        and_(account_texts.c.account_id == account_id, account_texts.c.name.in_([t.value for t in Text]))
    )
    return {Text(name): body for name, body in conn.execute(query)}


def carried_messages(conn: Connection, session: dict[str, Any]) -> list[dict[str, Any]]:
    """Outbound messages from the session's pool number to its participants while it was
    active, oldest first, with ``metadata`` parsed: by the pool reuse rule no other session had
    those participants on that number then, but the caller still checks each one's
    ``metadata.proxy_session_id`` (system texts are among them)."""
    query = (
        select(
            messages.c.id,
            messages.c.recipient,
            messages.c.body,
            messages.c.status,
            messages.c.metadata,
            messages.c.created_at,
            messages.c.updated_at,
        )
        .where(
            messages.c.account_id == session["account_id"],
            messages.c.channel_id == session["channel_id"],
            messages.c.direction == "outbound",
            messages.c.recipient.in_([session["participant_a"], session["participant_b"]]),
            messages.c.created_at >= session["created_at"],
        )
        .order_by(messages.c.id)
    )
    if session["status"] == ENDED:
        query = query.where(messages.c.created_at <= session["updated_at"])
    rows = _rows(conn, query)
    for row in rows:
        row["metadata"] = json.loads(row["metadata"]) if row["metadata"] else {}
    return rows
