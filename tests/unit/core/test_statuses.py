"""The forward-only status rule that every path shares."""

from __future__ import annotations

import itertools

import pytest

from tidings.core.statuses import FINAL_STATUSES, MessageStatus, can_transition, predecessors

S = MessageStatus


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (S.SCHEDULED, S.QUEUED),
        (S.QUEUED, S.SENDING),
        (S.SENDING, S.SENT),
        (S.SENT, S.DELIVERED),
        (S.SENT, S.UNDELIVERED),
        (S.SENDING, S.FAILED),
        (S.SENDING, S.QUEUED),  # a retry
        (S.SCHEDULED, S.CANCELED),
        (S.QUEUED, S.EXPIRED),
        (S.SENDING, S.DELIVERED),  # a receipt may overtake the send result
    ],
)
def test_allowed_moves(old: MessageStatus, new: MessageStatus) -> None:
    assert can_transition(old, new)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (S.DELIVERED, S.SENT),  # a late "sent" never overwrites "delivered"
        (S.DELIVERED, S.UNDELIVERED),
        (S.SENT, S.SENDING),
        (S.SENT, S.QUEUED),
        (S.QUEUED, S.SCHEDULED),
        (S.CANCELED, S.QUEUED),
        (S.FAILED, S.QUEUED),
        (S.SENT, S.SENT),
    ],
)
def test_refused_moves(old: MessageStatus, new: MessageStatus) -> None:
    assert not can_transition(old, new)


def test_final_statuses_never_change() -> None:
    for old, new in itertools.product(FINAL_STATUSES, MessageStatus):
        assert not can_transition(old, new)


def test_predecessors_agree_with_can_transition() -> None:
    for new in MessageStatus:
        assert predecessors(new) == {old for old in MessageStatus if can_transition(old, new)}
    assert predecessors(S.DELIVERED) == {S.SCHEDULED, S.QUEUED, S.SENDING, S.SENT}
