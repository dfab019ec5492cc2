"""Validation errors become the API's error JSON with a field path a client can use."""

from __future__ import annotations

import pytest

from tidings.web.errors import field_path


@pytest.mark.parametrize(
    ("loc", "expected"),
    [
        (("body", "to", 3), "to[3]"),
        (("body", "to", "str"), "to"),
        (("body", "to", "list[str]", 2), "to[2]"),
        (("body", "messages", 2, "to"), "messages[2].to"),
        (("body", "recipients", 0, "vars", "name"), "recipients[0].vars.name"),
        (("query", "limit"), "limit"),
        (("body",), None),
    ],
)
def test_field_path(loc: tuple[str | int, ...], expected: str | None) -> None:
    assert field_path(loc) == expected
