"""The keyset query of list pages: newest first or oldest first, past the position, one extra row."""

from __future__ import annotations

from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, insert, select

from tidings.core.cursors import Paging
from tidings.store.pages import keyset

_rows = Table("rows", MetaData(), Column("id", Integer, primary_key=True), Column("kind", String))


def _ids(paging: Paging[int], *, newest_first: bool) -> list[int]:
    engine = create_engine("sqlite://")
    with engine.begin() as conn:
        _rows.create(conn)
        conn.execute(insert(_rows), [{"id": n, "kind": "odd" if n % 2 else "even"} for n in range(1, 10)])
        query = select(_rows.c.id).where(_rows.c.kind == "odd")
        return [row.id for row in conn.execute(keyset(query, _rows.c.id, paging, newest_first=newest_first))]


def test_newest_first_reads_below_the_position_and_one_row_more_than_the_page() -> None:
    assert _ids(Paging(None, 2), newest_first=True) == [9, 7, 5]
    assert _ids(Paging(7, 2), newest_first=True) == [5, 3, 1]
    assert _ids(Paging(3, 2), newest_first=True) == [1]


def test_oldest_first_reads_above_the_position() -> None:
    assert _ids(Paging(None, 1), newest_first=False) == [1, 3]
    assert _ids(Paging(5, 10), newest_first=False) == [7, 9]
