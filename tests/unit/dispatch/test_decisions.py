"""What a failed send means for the message: retry, fail, or expire."""

from __future__ import annotations

import random

from tidings.channels.base import SendError
from tidings.config import DispatchSettings
from tidings.core.statuses import MessageStatus
from tidings.dispatch.decisions import outcome_for_error
from tidings.store.queue import ClaimedMessage

SETTINGS = DispatchSettings(max_attempts=3, retry_base_seconds=2, retry_max_seconds=60)


def _claimed(attempts: int, expires_at: int | None = None) -> ClaimedMessage:
    return ClaimedMessage(
        "msg_1", "AC1", "chn_1", None, "+14155550100", "hi", "GSM-7", 1, attempts, expires_at
    )


def test_transient_error_is_retried_later() -> None:
    outcome = outcome_for_error(
        _claimed(1),
        SendError("timeout", "slow", retryable=True),
        now=1_000_000,
        settings=SETTINGS,
        rng=random.Random(1),
    )
    assert outcome.status is MessageStatus.QUEUED
    assert outcome.due_at is not None and 1_001_000 <= outcome.due_at <= 1_002_000
    assert outcome.error_code == "timeout"


def test_retry_after_from_the_provider_is_honoured() -> None:
    error = SendError("throttled", "429", retryable=True, retry_after=30)
    outcome = outcome_for_error(_claimed(1), error, now=0, settings=SETTINGS)
    assert outcome.due_at == 30_000


def test_permanent_error_fails_at_once() -> None:
    outcome = outcome_for_error(
        _claimed(1), SendError("invalid", "bad number", retryable=False), now=0, settings=SETTINGS
    )
    assert outcome.status is MessageStatus.FAILED and outcome.error_code == "invalid"


def test_last_attempt_fails_with_the_provider_error() -> None:
    outcome = outcome_for_error(
        _claimed(3), SendError("timeout", "slow", retryable=True), now=0, settings=SETTINGS
    )
    assert outcome.status is MessageStatus.FAILED
    assert outcome.error_code == "timeout" and "3 attempts" in (outcome.error_message or "")


def test_retry_past_the_validity_period_expires() -> None:
    outcome = outcome_for_error(
        _claimed(1, expires_at=500), SendError("timeout", "slow", retryable=True), now=0, settings=SETTINGS
    )
    assert outcome.status is MessageStatus.EXPIRED
