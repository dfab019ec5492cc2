"""Bulk inserts for intake: 100,000 rows in one statement's worth of work.

SQLAlchemy's executemany spends most of its time turning dicts into parameters (3.3 s for
100,000 message rows here, against 0.5 s for the driver alone), so large inserts go to the
driver directly: ``executemany`` of tuples on SQLite and ``COPY`` on PostgreSQL (asyncpg's
``copy_records_to_table``), inside the caller's transaction either way.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from sqlalchemy import Connection, Table, insert
from sqlalchemy.engine import Dialect
from sqlalchemy.util import await_


def insert_rows(
    conn: Connection, table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """Insert ``rows`` (tuples in ``columns`` order) into ``table`` in the current transaction.

    ``conn`` is a sync connection: from :meth:`Database.transact`, which on PostgreSQL runs in
    SQLAlchemy's greenlet bridge, so the asyncpg call below can be awaited from sync code.
    """
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        driver = conn.connection.driver_connection
        assert driver is not None
        await_(driver.copy_records_to_table(table.name, records=rows, columns=list(columns)))
        return
    conn.exec_driver_sql(_insert_sql(conn.dialect, table, tuple(columns)), list(rows))


@cache
def _insert_sql(dialect: Dialect, table: Table, columns: tuple[str, ...]) -> str:
    compiled = insert(table).compile(dialect=dialect, column_keys=list(columns))
    order = compiled.positiontup or []
    if list(order) != list(columns):  # pragma: no cover - a dialect that reorders parameters
        raise RuntimeError(f"unexpected parameter order for {table.name}: {order}")
    return str(compiled)
