"""What a send's result means for its message: sent, retried later, failed or expired."""

from __future__ import annotations

import random

from tidings.channels.base import SendError
from tidings.config import DispatchSettings
from tidings.core.retry import backoff_seconds
from tidings.core.statuses import MessageStatus
from tidings.store.queue import ClaimedMessage, Outcome


def outcome_for_error(
    message: ClaimedMessage,
    error: SendError,
    *,
    now: int,
    settings: DispatchSettings,
    rng: random.Random | None = None,
) -> Outcome:
    """Retry transient errors with backoff until the attempt limit or the validity period."""
    if not error.retryable:
        return Outcome(message.id, MessageStatus.FAILED, error_code=error.code, error_message=error.message)
    if message.attempts >= settings.max_attempts:
        return Outcome(
            message.id,
            MessageStatus.FAILED,
            error_code=error.code,
            error_message=f"gave up after {message.attempts} attempts: {error.message}",
        )
    delay = backoff_seconds(
        message.attempts, base=settings.retry_base_seconds, cap=settings.retry_max_seconds, rng=rng
    )
    if error.retry_after is not None:
        delay = max(delay, error.retry_after)
    due_at = now + int(delay * 1000)
    if message.expires_at is not None and due_at > message.expires_at:
        return expired(message.id)
    return Outcome(
        message.id,
        MessageStatus.QUEUED,
        error_code=error.code,
        error_message=error.message,
        due_at=due_at,
    )


def deferred(message: ClaimedMessage, error: SendError, *, now: int) -> Outcome:
    """Requeue a message the provider never saw (circuit open, no rate-limit slot, shutdown).

    Not an attempt: it is due again after ``retry_after`` and keeps waiting as long as it is
    valid, however long the channel stays unavailable.
    """
    due_at = now + int((error.retry_after or 0.0) * 1000)
    if message.expires_at is not None and due_at > message.expires_at:
        return expired(message.id)
    return Outcome(
        message.id,
        MessageStatus.QUEUED,
        error_code=error.code,
        error_message=error.message,
        due_at=due_at,
        counts_attempt=False,
    )


def expired(message_id: str) -> Outcome:
    return Outcome(
        message_id,
        MessageStatus.EXPIRED,
        error_code="validity_period_expired",
        error_message="the validity period passed before the message could be sent",
    )


def out_of_attempts(message: ClaimedMessage) -> Outcome:
    return Outcome(
        message.id,
        MessageStatus.FAILED,
        error_code="max_attempts",
        error_message=f"no attempt succeeded in {message.attempts - 1} tries",
    )
