"""A page request read from a cursor, the page cut from the rows read, and the page's body."""

from __future__ import annotations

import pytest

from tidings.core.cursors import ACCOUNT_IDS, IDS, NUMBERS, Paging, encode_cursor
from tidings.errors import InvalidRequest

FIRST = "msg_01M83XDP9826PX70AQQZ91N7F9"


def test_positions_read_the_cursors_they_issue_and_refuse_others() -> None:
    assert IDS.paging(None, 50) == Paging(None, 50)
    assert IDS.paging(encode_cursor(FIRST), 2) == Paging(FIRST, 2)
    assert NUMBERS.paging(encode_cursor("42"), 100) == Paging(42, 100)
    account = "AC" + "0f" * 16
    assert ACCOUNT_IDS.paging(encode_cursor(account), 1).after == account
    for positions, issued in ((IDS, "42"), (NUMBERS, FIRST), (ACCOUNT_IDS, FIRST)):
        with pytest.raises(InvalidRequest) as refused:
            positions.paging(encode_cursor(issued), 10)
        assert (refused.value.code, refused.value.field) == ("invalid_cursor", "cursor")


def test_a_page_keeps_limit_rows_and_points_past_the_last_when_more_follow() -> None:
    rows = [{"id": f"row{n}"} for n in range(3)]
    page = Paging[str](None, 2).page(rows)
    assert (page.rows, page.limit, page.next_position) == (rows[:2], 2, "row1")
    assert page.body(lambda row: row["id"]) == {
        "data": ["row0", "row1"],
        "next_cursor": encode_cursor("row1"),
    }
    last = Paging[str]("row1", 2).page(rows[2:])
    assert (last.next_position, last.next_cursor) == (None, None)
    assert last.body() == {"data": [{"id": "row2"}], "next_cursor": None}


def test_numbered_rows_page_on_their_number_as_text() -> None:
    page = NUMBERS.paging(None, 1).page([{"id": 7}, {"id": 8}])
    assert page.next_cursor == encode_cursor("7")
    assert NUMBERS.paging(page.next_cursor, 1).after == 7
