"""Queries for routes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.store.schema import routes


async def insert_route(conn: AsyncConnection, row: dict[str, Any]) -> None:
    await conn.execute(insert(routes), row)


async def get_route(conn: AsyncConnection, route_id: str) -> dict[str, Any] | None:
    row = (await conn.execute(select(routes).where(routes.c.id == route_id))).first()
    return dict(row._mapping) if row else None


async def routes_of(conn: AsyncConnection, account_ids: Sequence[str]) -> list[dict[str, Any]]:
    query = select(routes).where(routes.c.account_id.in_(account_ids))
    return [dict(r._mapping) for r in await conn.execute(query)]


async def update_route(conn: AsyncConnection, route_id: str, values: dict[str, Any]) -> None:
    await conn.execute(update(routes).where(routes.c.id == route_id).values(**values))


async def delete_route(conn: AsyncConnection, route_id: str) -> None:
    await conn.execute(delete(routes).where(routes.c.id == route_id))


async def route_named(conn: AsyncConnection, account_id: str, name: str) -> dict[str, Any] | None:
    query = select(routes).where(routes.c.account_id == account_id, routes.c.name == name)
    row = (await conn.execute(query)).first()
    return dict(row._mapping) if row else None
