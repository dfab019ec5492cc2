"""Which changes are announced, event ids, webhook URLs, and tailing ids past late commits."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tidings.core.events import ANNOUNCED_STATUSES, carries_error, event_id, event_type, parse_event_id
from tidings.core.statuses import FINAL_STATUSES, MessageStatus
from tidings.core.tailing import Horizon
from tidings.core.urls import check_webhook_url


def test_every_final_status_and_sent_are_announced_but_not_the_churn() -> None:
    assert FINAL_STATUSES <= ANNOUNCED_STATUSES
    assert {MessageStatus.SENT} == ANNOUNCED_STATUSES - FINAL_STATUSES
    assert event_type("received") == "message.received"
    assert {event_type(s.value) for s in ANNOUNCED_STATUSES - {MessageStatus.RECEIVED}} == {"message.status"}
    assert carries_error("failed") and carries_error("undelivered") and not carries_error("delivered")


@given(st.integers(min_value=1, max_value=10**18))
def test_event_ids_round_trip(n: int) -> None:
    assert parse_event_id(event_id(n)) == n


@pytest.mark.parametrize(
    "text", ["", "evt_", "evt_0", "evt_01", "evt_-1", "msg_1", "1", "evt_1x", "evt_" + "9" * 20]
)
def test_other_strings_are_not_event_ids(text: str) -> None:
    assert parse_event_id(text) is None


@pytest.mark.parametrize(
    "url", ["https://example.com/hook", "http://127.0.0.1:8080/a?b=c", "https://[::1]/x", "http://cb"]
)
def test_http_urls_with_a_host_are_accepted(url: str) -> None:
    assert check_webhook_url(url) == url


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com",
        "example.com/hook",
        "http://",
        "https://u:p@example.com",
        "https://example.com:0/",
        "https://example.com:70000/",
        "https://exa mple.com",
        "https://example.com/\n",
        "https://[::1/x",
        "https://example.com/" + "a" * 2100,
    ],
)
def test_other_urls_are_refused(url: str) -> None:
    with pytest.raises(ValueError):
        check_webhook_url(url)


def test_the_tail_waits_at_a_gap_until_it_fills() -> None:
    horizon = Horizon(safe=10, gap_timeout_ms=1000)
    assert horizon.advance([11, 12, 14, 15], now=0) == 12
    assert horizon.advance([14, 15], now=500) == 12
    assert horizon.advance([13, 14, 15], now=600) == 15


def test_the_tail_steps_over_a_gap_that_outlives_the_timeout() -> None:
    horizon = Horizon(safe=10, gap_timeout_ms=1000)
    assert horizon.advance([12, 13], now=0) == 10
    assert horizon.advance([12, 13], now=999) == 10
    assert horizon.advance([12, 13, 15], now=1000) == 13
    # A new gap is timed from when it is first seen.
    assert horizon.advance([15], now=1500) == 13
    assert horizon.advance([15], now=2000) == 15


@given(st.sets(st.integers(min_value=1, max_value=200)), st.integers(min_value=0, max_value=5000))
def test_the_tail_never_passes_a_fresh_gap(present: set[int], now: int) -> None:
    horizon = Horizon(safe=0, gap_timeout_ms=10_000)
    safe = horizon.advance(sorted(present), now=now)
    assert all(i in present for i in range(1, safe + 1))
    assert safe + 1 not in present
