"""Ids: prefixed, unique, and sorted by creation so cursors can page on them."""

from __future__ import annotations

import re
import time

from hypothesis import given, settings
from hypothesis import strategies as st

from tidings.core import ids
from tidings.core.ids import new_account_id, new_id, new_ids, new_secret

SHAPE = re.compile(r"^msg_[0-9A-HJKMNP-TV-Z]{26}$")


def _reference(value: int) -> str:
    chars = []
    for _ in range(26):
        value, rem = divmod(value, 32)
        chars.append("0123456789ABCDEFGHJKMNPQRSTVWXYZ"[rem])
    return "".join(reversed(chars))


@given(st.lists(st.integers(min_value=1, max_value=3000), min_size=1, max_size=6))
@settings(max_examples=40, deadline=None)
def test_blocks_are_unique_increasing_and_well_formed(sizes: list[int]) -> None:
    made = [i for size in sizes for i in new_ids("msg", size)]
    assert len(made) == sum(sizes)
    assert made == sorted(made)
    assert len(set(made)) == len(made)
    assert all(SHAPE.match(i) for i in made)


def test_the_id_encodes_time_then_counter() -> None:
    before = time.time_ns() // 1_000_000
    made = new_id("msg")
    ms, counter = ids._last_ms, ids._last_rand
    assert made == "msg_" + _reference((ms << 80) | counter)
    assert ms >= before


def test_ids_made_later_sort_later() -> None:
    first = new_id("bat")
    time.sleep(0.002)
    assert new_id("bat") > first


def test_a_block_never_straddles_the_low_bits() -> None:
    # Force the counter to just below a 2**20 boundary: the block must skip ahead, not carry.
    ids._last_ms = time.time_ns() // 1_000_000 + 10_000
    ids._last_rand = (5 << 20) - 3
    block = new_ids("msg", 10)
    assert block == sorted(block) and len(set(block)) == 10
    assert ids._last_rand == (5 << 20) + 9  # skipped to the next 2**20 boundary


def test_account_ids_have_twilio_form_and_secrets_are_random() -> None:
    assert re.fullmatch(r"AC[0-9a-f]{32}", new_account_id())
    assert new_secret("tdk_") != new_secret("tdk_")
    assert new_secret("tdk_").startswith("tdk_")
