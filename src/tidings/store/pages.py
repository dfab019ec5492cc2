"""The keyset query behind every list page: rows past the cursor's position on a unique key."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select
from sqlalchemy.sql.elements import ColumnElement

from tidings.core.cursors import Paging


def keyset(
    query: Select[Any], key: ColumnElement[Any], paging: Paging[Any], *, newest_first: bool
) -> Select[Any]:
    """``query`` cut to one page: ordered on ``key``, a unique column (descending when
    ``newest_first``: prefixed ids sort by creation time), past the page's position, and one row
    longer than the page so the caller knows whether another follows (:meth:`Paging.page`)."""
    if paging.after is not None:
        query = query.where(key < paging.after if newest_first else key > paging.after)
    return query.order_by(key.desc() if newest_first else key).limit(paging.limit + 1)
