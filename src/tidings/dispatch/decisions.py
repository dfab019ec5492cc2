"""What a send's result means for its message: sent, retried later, failed or expired."""

from __future__ import annotations

import random

from tidings.channels.base import SendError
from tidings.config import DispatchSettings
from tidings.core.retry import backoff_seconds
from tidings.core.statuses import MessageStatus
from tidings.store.queue import ClaimedMessage, Outcome

# The error code a send gets while its channel's circuit breaker is open.
CIRCUIT_OPEN = "circuit_open"


def outcome_for_error(
    message: ClaimedMessage,
    error: SendError,
    *,
    now: int,
    settings: DispatchSettings,
    rng: random.Random | None = None,
) -> Outcome:
    """Retry transient errors with backoff until the attempt limit or the validity period.

    A message whose route names a fallback moves there, once, when its retries are spent; the
    fallback then gets a full set of attempts.
    """
    if not error.retryable:
        return Outcome(message.id, MessageStatus.FAILED, error_code=error.code, error_message=error.message)
    spent = message.attempts >= settings.max_attempts
    if spent and _has_fallback(message):
        return _to_fallback(message, error, now)
    if spent:
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
    valid, however long the channel stays unavailable — unless its route names a fallback,
    which an open circuit hands it to at once.
    """
    if error.code == CIRCUIT_OPEN and _has_fallback(message):
        return _to_fallback(message, error, now)
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


def _has_fallback(message: ClaimedMessage) -> bool:
    return message.fallback_channel_id is not None and not message.via_fallback


def _to_fallback(message: ClaimedMessage, error: SendError, now: int) -> Outcome:
    """Requeue on the fallback channel, due now, with a fresh set of attempts there."""
    return Outcome(
        message.id,
        MessageStatus.QUEUED,
        error_code=error.code,
        error_message=f"{error.message}; moving to fallback channel {message.fallback_channel_id}",
        due_at=now,
        to_fallback=True,
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


def unclassified(exc: Exception) -> SendError:
    """An exception no adapter classified (a bug, a network error it did not expect): retried."""
    return SendError("channel_error", f"{type(exc).__name__} in the channel", retryable=True)


def circuit_open(retry_after: float) -> SendError:
    """What a send gets while its channel's circuit is open: retried once the cool-down ends."""
    return SendError(
        CIRCUIT_OPEN,
        "the channel's circuit is open after repeated provider failures",
        retryable=True,
        retry_after=retry_after,
    )
