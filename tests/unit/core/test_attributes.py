"""Attributes are stored as compact sorted JSON, bounded in size, and shown back as they were."""

from __future__ import annotations

import pytest

from tidings.core.attributes import MAX_ATTRIBUTES_BYTES, attributes_json, stored_attributes
from tidings.errors import Unprocessable


def test_attributes_round_trip_as_compact_sorted_json() -> None:
    stored = attributes_json({"b": [1, 2], "a": {"x": "é"}})
    assert stored == '{"a":{"x":"\\u00e9"},"b":[1,2]}'
    assert stored_attributes(stored) == {"a": {"x": "é"}, "b": [1, 2]}
    assert attributes_json(None) is None and stored_attributes(None) is None


def test_attributes_over_the_limit_are_refused() -> None:
    assert attributes_json({"k": "x" * (MAX_ATTRIBUTES_BYTES - 8)}) is not None  # 16,384 bytes exactly
    with pytest.raises(Unprocessable) as refused:
        attributes_json({"k": "x" * (MAX_ATTRIBUTES_BYTES - 7)})
    assert (refused.value.code, refused.value.field) == ("attributes_too_large", "attributes")
    assert refused.value.message == "attributes are at most 16384 bytes of JSON"
