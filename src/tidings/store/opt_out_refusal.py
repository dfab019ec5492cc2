"""The refusal at send: claimed messages to an opted-out address fail with ``opted_out`` in the
claim's own transaction, so they never reach a provider (docs/opt-out.md, "Where sends are
refused").

The claim is the hot path of every send, so the common cases cost almost nothing: with no
opt-out anywhere one ``LIMIT 1`` probe; otherwise one index probe of the claimed recipients as
one list parameter. Everything else (channel owners, system replies) is read only for the
few messages whose recipient has an opt-out.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, select, text, update

from tidings.core.optouts import ALL_SENDERS, OPTED_OUT, SYSTEM_REPLIES
from tidings.core.statuses import MessageStatus
from tidings.store.message_events import insert_events
from tidings.store.picks import among
from tidings.store.queue import ClaimedMessage
from tidings.store.schema import channels, messages, opt_outs

_DETAIL = "the recipient opted out of messages from this sender"
# Driver SQL: as a SQLAlchemy construct the probe cost 4x as much (compiling, measured).
_ANY_OPT_OUT = "SELECT 1 FROM opt_outs LIMIT 1"
# SQLite takes the recipients as one JSON array: the same covering-index search per recipient
# as an expanded IN list, at a third of the cost of binding 500 parameters (measured).
_SQLITE_PROBE = (
    "SELECT address, account_id, sender FROM opt_outs WHERE address IN (SELECT value FROM json_each(?))"
)


def refuse_opted_out(
    conn: Connection, claimed: Sequence[ClaimedMessage], *, worker: str, now: int
) -> list[ClaimedMessage]:
    """Fail the claimed messages whose recipient opted out of their sender; return the rest."""
    if not claimed or conn.exec_driver_sql(_ANY_OPT_OUT).first() is None:
        return list(claimed)
    found = _opt_outs_of(conn, sorted({m.recipient for m in claimed}))
    hits = [m for m in claimed if m.recipient in found]
    if not hits:
        return list(claimed)
    owners = _channel_owners(
        conn,
        {m.channel_id for m in hits if any(account != m.account_id for account, _ in found[m.recipient])},
    )
    blocked = [m for m in hits if _blocks(m, found[m.recipient], owners)]
    exempt = _system_replies(conn, [m.id for m in blocked])
    refused = {m.id for m in blocked if m.id not in exempt}
    if not refused:
        return list(claimed)
    conn.execute(
        update(messages)
        .where(messages.c.id.in_(sorted(refused)), text("messages.status = 'sending'"))
        .where(messages.c.lease_owner == worker)
        .values(
            status=MessageStatus.FAILED.value,
            error_code=OPTED_OUT,
            error_message=_DETAIL,
            attempts=messages.c.attempts - 1,  # the provider was never called
            lease_owner=None,
            lease_until=None,
            updated_at=now,
        )
    )
    insert_events(conn, [(i, MessageStatus.FAILED.value, now, OPTED_OUT, _DETAIL) for i in sorted(refused)])
    return [m for m in claimed if m.id not in refused]


def _opt_outs_of(conn: Connection, recipients: list[str]) -> dict[str, list[tuple[str, str]]]:
    """``address → [(account, sender)]`` for the recipients that have any opt-out: one probe of
    the unique index with the recipients as one parameter (an array on PostgreSQL)."""
    if conn.dialect.name == "sqlite":
        rows: Iterable[Any] = conn.exec_driver_sql(_SQLITE_PROBE, (json.dumps(recipients),))
    else:
        query = select(opt_outs.c.address, opt_outs.c.account_id, opt_outs.c.sender)
        rows = conn.execute(query.where(among(conn, opt_outs.c.address, recipients)))
    found: dict[str, list[tuple[str, str]]] = {}
    for address, account_id, sender in rows:
        found.setdefault(address, []).append((account_id, sender))
    return found


def _channel_owners(conn: Connection, channel_ids: set[str]) -> dict[str, str]:
    """The account owning each channel: a subaccount sending on its parent's channel is held to
    the opt-outs the parent's number received."""
    if not channel_ids:
        return {}
    query = select(channels.c.id, channels.c.account_id).where(channels.c.id.in_(sorted(channel_ids)))
    return {row.id: row.account_id for row in conn.execute(query)}


def _blocks(message: ClaimedMessage, found: list[tuple[str, str]], owners: dict[str, str]) -> bool:
    """Whether one of the recipient's opt-outs applies: of the message's account or its
    channel's owner, and of its sender, of every sender, or, when the message names no sender
    (the provider picks one), of any sender."""
    for account_id, sender in found:
        if account_id != message.account_id and account_id != owners.get(message.channel_id):
            continue
        if sender == ALL_SENDERS or message.sender is None or sender == message.sender:
            return True
    return False


def _system_replies(conn: Connection, message_ids: list[str]) -> set[str]:
    """Which of these are the keyword step's replies: no batch (no API send lacks one, so the
    marker cannot be forged through the API) and a ``metadata.system`` of ours."""
    if not message_ids:
        return set()
    query = select(messages.c.id, messages.c.metadata).where(
        messages.c.id.in_(message_ids), messages.c.batch_id.is_(None), messages.c.metadata.is_not(None)
    )
    exempt = set()
    for message_id, metadata in conn.execute(query):
        try:
            marker = json.loads(metadata).get("system")
        except (ValueError, AttributeError):
            continue
        if marker in SYSTEM_REPLIES:
            exempt.add(message_id)
    return exempt
