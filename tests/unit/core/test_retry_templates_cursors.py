"""Backoff timing, body templates, and list cursors."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tidings.core.cursors import ID_POSITION, NUMBER_POSITION, decode_cursor, encode_cursor
from tidings.core.retry import backoff_seconds
from tidings.core.templates import MissingVariable, placeholders, render
from tidings.errors import InvalidRequest


@given(st.integers(min_value=1, max_value=40), st.floats(0.01, 10), st.floats(0.01, 3600))
def test_backoff_stays_between_half_and_the_full_ceiling(attempt: int, base: float, cap: float) -> None:
    delay = backoff_seconds(attempt, base=base, cap=cap, rng=random.Random(attempt))
    ceiling = min(cap, base * 2 ** (attempt - 1))
    assert ceiling / 2 <= delay <= ceiling


def test_backoff_grows_then_caps_and_is_jittered() -> None:
    rng = random.Random(7)
    delays = [backoff_seconds(n, base=1, cap=8, rng=rng) for n in range(1, 8)]
    assert delays[0] <= 1 and 4 <= delays[3] <= 8 and all(4 <= d <= 8 for d in delays[4:])
    assert len({round(d, 6) for d in delays[4:]}) > 1
    with pytest.raises(ValueError):
        backoff_seconds(0, base=1, cap=8)


def test_templates_fill_slots_and_name_the_missing_one() -> None:
    assert render("Hi {{ name }}, code {{code}}", {"name": "Ann", "code": 12}) == "Hi Ann, code 12"
    assert placeholders("{{a}} {{ b }} {{a}}") == {"a", "b"}
    assert render("no slots {here}", {}) == "no slots {here}"
    with pytest.raises(MissingVariable) as missing:
        render("Hi {{name}}", {})
    assert missing.value.name == "name"


def test_cursors_round_trip_and_reject_what_we_did_not_issue() -> None:
    position = "msg_01M83XDP9826PX70AQQZ91N7F9"
    assert decode_cursor(encode_cursor(position)) == position
    assert decode_cursor(encode_cursor("42"), NUMBER_POSITION) == "42"
    assert decode_cursor(None) is None
    for bad in ["", "!!", encode_cursor("msg_short"), encode_cursor("42"), "bXNn", "\u00e9t\u00e9"]:
        with pytest.raises(InvalidRequest):
            decode_cursor(bad, ID_POSITION)
