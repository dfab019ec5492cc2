"""Queries for opt-outs; each names the account it reads. The keyword step's run inside the
inbound transaction (sync connection); the API's are async. The refusal at send has its own
query in :mod:`tidings.store.opt_out_refusal`."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import Connection, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.dml import ReturningInsert

from tidings.core.cursors import Paging
from tidings.core.ids import new_id
from tidings.core.optouts import ALL_SENDERS
from tidings.store.pages import keyset
from tidings.store.schema import opt_outs

KEYWORD = "keyword"
API = "api"


def _insert_new(dialect_name: str, row: dict[str, Any]) -> ReturningInsert[tuple[str]]:
    """INSERT that does nothing when the (address, account, sender) key exists; returns the id
    it wrote, so a concurrent insert of the same key is told apart without an error (which
    would roll back the inbound message with it)."""
    key = [opt_outs.c.address, opt_outs.c.account_id, opt_outs.c.sender]
    if dialect_name == "postgresql":
        pg = postgresql.insert(opt_outs).values(**row).on_conflict_do_nothing(index_elements=key)
        return pg.returning(opt_outs.c.id)
    lite = sqlite.insert(opt_outs).values(**row).on_conflict_do_nothing(index_elements=key)
    return lite.returning(opt_outs.c.id)


def _row(
    account_id: str, sender: str, address: str, keyword: str | None, source: str, now: int
) -> dict[str, Any]:
    return {
        "id": new_id("opt"),
        "account_id": account_id,
        "sender": sender,
        "address": address,
        "keyword": keyword,
        "source": source,
        "created_at": now,
    }


# -- the keyword step (sync) -------------------------------------------------------------------


def covered(conn: Connection, account_id: str, sender: str, address: str) -> bool:
    """Whether ``address`` is already opted out of ``sender`` (or of every sender)."""
    query = select(opt_outs.c.id).where(
        opt_outs.c.address == address,
        opt_outs.c.account_id == account_id,
        opt_outs.c.sender.in_(sorted({sender, ALL_SENDERS})),
    )
    return conn.execute(query.limit(1)).first() is not None


def add_from_keyword(
    conn: Connection, account_id: str, sender: str, address: str, keyword: str, *, now: int
) -> bool:
    """Record an opt-out texted as ``keyword``; False when it existed."""
    row = _row(account_id, sender, address, keyword, KEYWORD, now)
    return conn.execute(_insert_new(conn.dialect.name, row)).first() is not None


def remove_for_opt_in(conn: Connection, account_id: str, sender: str, address: str) -> int:
    """START to ``sender``: lift the opt-out from it and the account-wide one; how many went."""
    removed = conn.execute(
        delete(opt_outs).where(
            opt_outs.c.address == address,
            opt_outs.c.account_id == account_id,
            opt_outs.c.sender.in_(sorted({sender, ALL_SENDERS})),
        )
    )
    return int(removed.rowcount or 0)


# -- the API (async) ---------------------------------------------------------------------------


async def add_from_api(
    conn: AsyncConnection, account_id: str, sender: str, address: str, *, now: int
) -> bool:
    """Record an opt-out added by API; False when the key existed."""
    row = _row(account_id, sender, address, None, API, now)
    return (await conn.execute(_insert_new(conn.dialect.name, row))).first() is not None


async def by_key(conn: AsyncConnection, account_id: str, sender: str, address: str) -> dict[str, Any] | None:
    query = select(opt_outs).where(
        opt_outs.c.address == address, opt_outs.c.account_id == account_id, opt_outs.c.sender == sender
    )
    row = (await conn.execute(query)).first()
    return dict(row._mapping) if row else None


async def by_id(
    conn: AsyncConnection, account_ids: Collection[str], opt_out_id: str
) -> dict[str, Any] | None:
    query = select(opt_outs).where(
        opt_outs.c.id == opt_out_id, opt_outs.c.account_id.in_(sorted(account_ids))
    )
    row = (await conn.execute(query)).first()
    return dict(row._mapping) if row else None


async def list_opt_outs(
    conn: AsyncConnection,
    account_id: str,
    *,
    address: str | None,
    sender: str | None,
    page: Paging[str],
) -> list[dict[str, Any]]:
    """Newest first."""
    query = select(opt_outs).where(opt_outs.c.account_id == account_id)
    if address is not None:
        query = query.where(opt_outs.c.address == address)
    if sender is not None:
        query = query.where(opt_outs.c.sender == sender)
    rows = await conn.execute(keyset(query, opt_outs.c.id, page, newest_first=True))
    return [dict(r._mapping) for r in rows]


async def delete_opt_out(conn: AsyncConnection, opt_out_id: str) -> None:
    await conn.execute(delete(opt_outs).where(opt_outs.c.id == opt_out_id))
