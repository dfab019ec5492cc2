"""Queries of the Proxy translation tables (``store/schema.py``, revision 0013): services, the
pool numbers each owns, and Twilio sessions and participants with the native session they
became. Plain sync functions, run in ``Database.transact`` / ``run_sync``."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from tidings.core.cursors import Paging
from tidings.store.pages import keyset
from tidings.store.schema import (
    twilio_proxy_numbers,
    twilio_proxy_participants,
    twilio_proxy_services,
    twilio_proxy_sessions,
)


def _first(conn: Connection, query: Any) -> dict[str, Any] | None:
    row = conn.execute(query).first()
    return dict(row._mapping) if row else None


def _rows(conn: Connection, query: Any) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in conn.execute(query)]


# -- services --------------------------------------------------------------------------------


def insert_service(conn: Connection, row: dict[str, Any]) -> None:
    conn.execute(insert(twilio_proxy_services), row)


def service(conn: Connection, account_id: str, service_id: str) -> dict[str, Any] | None:
    return _first(
        conn,
        select(twilio_proxy_services).where(
            twilio_proxy_services.c.id == service_id, twilio_proxy_services.c.account_id == account_id
        ),
    )


def services_page(conn: Connection, account_id: str, page: Paging[str]) -> list[dict[str, Any]]:
    query = select(twilio_proxy_services).where(twilio_proxy_services.c.account_id == account_id)
    return _rows(conn, keyset(query, twilio_proxy_services.c.id, page, newest_first=False))


def update_service(conn: Connection, service_id: str, values: dict[str, Any]) -> None:
    conn.execute(
        update(twilio_proxy_services).where(twilio_proxy_services.c.id == service_id).values(**values)
    )


def delete_service(conn: Connection, service_id: str) -> None:
    """The service with its sessions, their participants and its numbers' membership."""
    own_sessions = select(twilio_proxy_sessions.c.id).where(twilio_proxy_sessions.c.service_id == service_id)
    conn.execute(
        delete(twilio_proxy_participants).where(twilio_proxy_participants.c.session_id.in_(own_sessions))
    )
    conn.execute(delete(twilio_proxy_sessions).where(twilio_proxy_sessions.c.service_id == service_id))
    conn.execute(delete(twilio_proxy_numbers).where(twilio_proxy_numbers.c.service_id == service_id))
    conn.execute(delete(twilio_proxy_services).where(twilio_proxy_services.c.id == service_id))


# -- numbers ---------------------------------------------------------------------------------


def insert_number(conn: Connection, row: dict[str, Any]) -> None:
    conn.execute(insert(twilio_proxy_numbers), row)


def number(conn: Connection, number_id: str) -> dict[str, Any] | None:
    """A pool number's membership, in whichever service holds it."""
    return _first(conn, select(twilio_proxy_numbers).where(twilio_proxy_numbers.c.number_id == number_id))


def numbers_of(conn: Connection, service_id: str, page: Paging[str] | None = None) -> list[dict[str, Any]]:
    """The service's numbers, each also under ``id`` (its number id), the key lists page on."""
    query = select(twilio_proxy_numbers, twilio_proxy_numbers.c.number_id.label("id")).where(
        twilio_proxy_numbers.c.service_id == service_id
    )
    if page is None:
        return _rows(conn, query.order_by(twilio_proxy_numbers.c.number_id))
    return _rows(conn, keyset(query, twilio_proxy_numbers.c.number_id, page, newest_first=False))


def update_number(conn: Connection, number_id: str, values: dict[str, Any]) -> None:
    conn.execute(
        update(twilio_proxy_numbers).where(twilio_proxy_numbers.c.number_id == number_id).values(**values)
    )


def delete_number(conn: Connection, number_id: str) -> None:
    conn.execute(delete(twilio_proxy_numbers).where(twilio_proxy_numbers.c.number_id == number_id))


# -- sessions and participants ---------------------------------------------------------------


def insert_session(conn: Connection, row: dict[str, Any], participants: list[dict[str, Any]]) -> None:
    conn.execute(insert(twilio_proxy_sessions), row)
    if participants:
        conn.execute(insert(twilio_proxy_participants), participants)


def session(conn: Connection, service_id: str, session_id: str) -> dict[str, Any] | None:
    return _first(
        conn,
        select(twilio_proxy_sessions).where(
            twilio_proxy_sessions.c.id == session_id, twilio_proxy_sessions.c.service_id == service_id
        ),
    )


def sessions_page(conn: Connection, service_id: str, page: Paging[str]) -> list[dict[str, Any]]:
    """Newest first, as Twilio lists sessions."""
    query = select(twilio_proxy_sessions).where(twilio_proxy_sessions.c.service_id == service_id)
    return _rows(conn, keyset(query, twilio_proxy_sessions.c.id, page, newest_first=True))


def unique_name_taken(conn: Connection, service_id: str, unique_name: str) -> bool:
    query = select(func.count()).where(
        twilio_proxy_sessions.c.service_id == service_id, twilio_proxy_sessions.c.unique_name == unique_name
    )
    return bool(conn.execute(query).scalar_one())


def attach_native(conn: Connection, session_id: str, native_session_id: str, *, now: int) -> bool:
    """Record the native session a pending one became; False when another request did first."""
    result = conn.execute(
        update(twilio_proxy_sessions)
        .where(twilio_proxy_sessions.c.id == session_id, twilio_proxy_sessions.c.native_session_id.is_(None))
        .values(native_session_id=native_session_id, updated_at=now)
    )
    return result.rowcount == 1


def close_pending(conn: Connection, session_id: str, *, now: int) -> None:
    conn.execute(
        update(twilio_proxy_sessions)
        .where(twilio_proxy_sessions.c.id == session_id)
        .values(closed_at=now, updated_at=now)
    )


def delete_session(conn: Connection, session_id: str) -> None:
    conn.execute(
        delete(twilio_proxy_participants).where(twilio_proxy_participants.c.session_id == session_id)
    )
    conn.execute(delete(twilio_proxy_sessions).where(twilio_proxy_sessions.c.id == session_id))


def participants_of(conn: Connection, session_id: str) -> list[dict[str, Any]]:
    query = (
        select(twilio_proxy_participants)
        .where(twilio_proxy_participants.c.session_id == session_id)
        .order_by(twilio_proxy_participants.c.id)
    )
    return _rows(conn, query)


def insert_participant(conn: Connection, row: dict[str, Any]) -> None:
    conn.execute(insert(twilio_proxy_participants), row)


def delete_participant(conn: Connection, participant_id: str) -> None:
    conn.execute(delete(twilio_proxy_participants).where(twilio_proxy_participants.c.id == participant_id))
