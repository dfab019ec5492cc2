"""Paging lists: opaque cursors (the last position of a page, base64url-encoded and checked on
the way in), the page a list call asks for, and the page it answers."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from tidings.errors import InvalidRequest

ID_POSITION = re.compile(r"^[a-z]{2,5}_[0-9A-Z]{26}$")
NUMBER_POSITION = re.compile(r"^[0-9]{1,19}$")
ACCOUNT_POSITION = re.compile(r"^AC[0-9a-f]{32}$")

P = TypeVar("P", str, int)
Row = TypeVar("Row", bound=Mapping[str, Any])
# The generic dataclasses below have no __slots__: on Python 3.11 a frozen slotted one fails
# when built through its alias (``Paging[str](None, 50)``).


def encode_cursor(position: str) -> str:
    return base64.urlsafe_b64encode(position.encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None, shape: re.Pattern[str] = ID_POSITION) -> str | None:
    """The position inside a cursor we issued; anything else is a 400 ``invalid_cursor``."""
    if cursor is None:
        return None
    try:
        position = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        position = ""
    if not shape.fullmatch(position):
        raise InvalidRequest("the cursor is not valid", code="invalid_cursor", field="cursor")
    return position


@dataclass(frozen=True)
class Page(Generic[Row]):
    """One page of a list: its rows (at most ``limit``) and, when more follow, ``next_position``,
    the id of its last row. The API shows it as :meth:`body`; another surface can show the same
    page its own way (a next-page link from ``limit`` and ``next_position``)."""

    rows: list[Row]
    limit: int
    next_position: str | None

    @property
    def next_cursor(self) -> str | None:
        return None if self.next_position is None else encode_cursor(self.next_position)

    def body(self, shown: Callable[[Row], Any] | None = None) -> dict[str, Any]:
        """``{"data": [...], "next_cursor": ...}``, each row through ``shown`` (as is without)."""
        data = list(self.rows) if shown is None else [shown(row) for row in self.rows]
        return {"data": data, "next_cursor": self.next_cursor}


@dataclass(frozen=True)
class Paging(Generic[P]):
    """What a list call asks for: the rows past position ``after`` in the list's order (from
    its start when None), at most ``limit`` of them. A query reads ``limit + 1``: the extra
    row only tells that another page follows."""

    after: P | None
    limit: int

    def page(self, rows: Sequence[Row]) -> Page[Row]:
        """The page of the ``limit + 1`` rows read (fewer on the last page)."""
        shown = list(rows[: self.limit])
        more = len(rows) > self.limit
        return Page(shown, self.limit, str(shown[-1]["id"]) if more and shown else None)


@dataclass(frozen=True)
class Positions(Generic[P]):
    """How a list's cursors hold a position: the text's shape, and the id value it reads as."""

    shape: re.Pattern[str]
    value: Callable[[str], P]

    def paging(self, cursor: str | None, limit: int) -> Paging[P]:
        """The page a request asks for; a cursor we did not issue is a 400 ``invalid_cursor``."""
        position = decode_cursor(cursor, self.shape)
        return Paging(None if position is None else self.value(position), limit)


IDS = Positions(ID_POSITION, str)  # prefixed ids (msg_…, ctc_…): every list but these two
ACCOUNT_IDS = Positions(ACCOUNT_POSITION, str)  # Twilio-shaped account ids (AC…)
NUMBERS = Positions(NUMBER_POSITION, int)  # numbered rows (a message's events)
