"""Starting and ending sessions: the writes the API, inbound routing and the expiry sweep share,
each inside its caller's transaction, so a session never changes without its system messages
and its ``proxy.session.*`` event (and never gets them twice)."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import Connection

from tidings.core.events import PROXY_SESSION_CREATED, PROXY_SESSION_ENDED
from tidings.core.ids import new_id
from tidings.core.presenters import encode
from tidings.errors import Conflict
from tidings.features.inbound import queue_outbound
from tidings.features.proxy import repository as repo
from tidings.features.proxy.presenters import event_payload
from tidings.features.proxy.rules import ACTIVE, ENDED, EndReason, Text, from_pool_number
from tidings.store.outbox import enqueue_account_event

# Sessions ended per transaction by one pass (the sweep, or a create tidying its account).
EXPIRE_BATCH = 200


def start_session(
    conn: Connection,
    *,
    account_id: str,
    participants: tuple[str, str],
    expires_at: int | None,
    now: int,
    own_number: bool = False,
    number_ids: Collection[str] | None = None,
) -> dict[str, Any]:
    """Create a session on a pool number (one of ``number_ids`` when given) free of both
    participants (with ``own_number``, one serving no other session); 409 ``pool_exhausted``
    when there is no such number."""
    repo.lock_account(conn, account_id)
    # Expired sessions still marked active would block numbers they no longer use.
    expire_due(conn, now=now, skip_locked=False, account_id=account_id)
    number = repo.free_pool_number(conn, account_id, participants, number_ids, idle_only=own_number)
    if number is None:
        wanted = "serves no session" if own_number else "is free of both participants"
        raise Conflict(f"no pool number {wanted}; add numbers or end sessions", code="pool_exhausted")
    session = {
        "id": new_id("pxs"),
        "account_id": account_id,
        "proxy_number_id": number["id"],
        "participant_a": participants[0],
        "participant_b": participants[1],
        "status": ACTIVE,
        "expires_at": expires_at,
        "ended_reason": None,
        "created_at": now,
        "updated_at": now,
    }
    repo.insert_session(conn, session)
    shown = {**session, "proxy_number": number["number"], "channel_id": number["channel_id"]}
    tell_both(conn, shown, Text.SESSION_START, now=now)
    announce(conn, shown, PROXY_SESSION_CREATED, now=now)
    return shown


def end_session(
    conn: Connection, session: dict[str, Any], reason: EndReason, *, now: int
) -> dict[str, Any] | None:
    """End an active session: the end message to both participants (if configured) and
    ``proxy.session.ended``. None when it had ended already (nothing is sent twice)."""
    if not repo.mark_ended(conn, session["id"], reason.value, now=now):
        return None
    ended = {**session, "status": ENDED, "ended_reason": reason.value, "updated_at": now}
    tell_both(conn, ended, Text.SESSION_END, now=now)
    announce(conn, ended, PROXY_SESSION_ENDED, now=now)
    return ended


def expire_due(conn: Connection, *, now: int, skip_locked: bool, account_id: str | None = None) -> int:
    """End up to :data:`EXPIRE_BATCH` sessions whose time ran out; how many were ended."""
    ended = 0
    for session in repo.expired_sessions(
        conn, now=now, limit=EXPIRE_BATCH, skip_locked=skip_locked, account_id=account_id
    ):
        ended += end_session(conn, session, EndReason.EXPIRED, now=now) is not None
    return ended


def tell_both(conn: Connection, session: dict[str, Any], text: Text, *, now: int) -> None:
    """Send the account's ``text`` to both participants, if the account configured it."""
    send_text(conn, session, text, (session["participant_a"], session["participant_b"]), now=now)


def send_text(
    conn: Connection, session: dict[str, Any], text: Text, recipients: Collection[str], *, now: int
) -> None:
    body = repo.texts_of(conn, session["account_id"]).get(text)
    if body is None:
        return
    for recipient in recipients:
        relay(
            conn,
            session,
            recipient,
            body,
            now=now,
            metadata={"proxy_session_id": session["id"], "proxy": text.value},
        )


def relay(
    conn: Connection,
    session: dict[str, Any],
    recipient: str,
    body: str,
    *,
    now: int,
    metadata: dict[str, Any],
) -> str:
    """Queue one message to a participant from the session's pool number, on its channel."""
    return queue_outbound(
        conn,
        account_id=session["account_id"],
        channel_id=session["channel_id"],
        sender=from_pool_number(session["proxy_number"], recipient),
        recipient=recipient,
        body=body,
        now=now,
        metadata=metadata,
    )


def announce(conn: Connection, session: dict[str, Any], event_type: str, *, now: int) -> None:
    """Queue the event for the account's webhook (if it has one), in this transaction."""
    enqueue_account_event(
        conn,
        account_id=session["account_id"],
        message_id=None,
        event_type=event_type,
        render=lambda event_id: encode(event_payload(event_id, event_type, session, at=now)),
        now=now,
    )
