"""Texts the gateway sends on an account's behalf (opt-out and opt-in confirmations, the HELP
answer): their names, their defaults, and the queries that read and change an account's own."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import Connection, delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.store.schema import account_texts

OPT_OUT = "opt_out"  # answers STOP and its synonyms
OPT_IN = "opt_in"  # answers START / UNSTOP
HELP = "help"  # answers HELP

# Modelled on what carriers and Twilio answer by default (docs/opt-out.md): each names the
# keywords that undo or repeat it, and each fits one GSM-7 segment.
DEFAULT_TEXTS: Mapping[str, str] = {
    OPT_OUT: (
        "You have been unsubscribed and will get no more messages from this number. "
        "Reply START to resubscribe."
    ),
    OPT_IN: (
        "You have been resubscribed to messages from this number. Reply HELP for help, "
        "STOP to unsubscribe. Msg&data rates may apply."
    ),
    HELP: "Reply STOP to unsubscribe, START to resubscribe. Msg&data rates may apply.",
}


def effective_texts(own: Mapping[str, str]) -> dict[str, str]:
    """Every text as it would be sent: the account's own, else the default."""
    return {name: own.get(name, default) for name, default in DEFAULT_TEXTS.items()}


def text_for(conn: Connection, account_id: str, name: str) -> str:
    """The text ``name`` of the account (inside the inbound transaction: a sync connection)."""
    query = select(account_texts.c.body).where(
        account_texts.c.account_id == account_id, account_texts.c.name == name
    )
    own: str | None = conn.execute(query).scalar_one_or_none()
    return own if own is not None else DEFAULT_TEXTS[name]


async def own_texts(conn: AsyncConnection, account_id: str) -> dict[str, str]:
    """The texts the account changed from their defaults."""
    query = select(account_texts.c.name, account_texts.c.body).where(account_texts.c.account_id == account_id)
    return {row.name: row.body for row in await conn.execute(query)}


async def save_texts(
    conn: AsyncConnection, account_id: str, changes: Mapping[str, str | None], *, now: int
) -> None:
    """Set the given texts; ``None`` returns that text to its default."""
    if not changes:
        return
    await conn.execute(
        delete(account_texts).where(
            account_texts.c.account_id == account_id, account_texts.c.name.in_(sorted(changes))
        )
    )
    rows = [
        {"account_id": account_id, "name": name, "body": body, "updated_at": now}
        for name, body in sorted(changes.items())
        if body is not None
    ]
    if rows:
        await conn.execute(insert(account_texts), rows)
