"""What polling channel types share: their poll settings, and asking about many messages with
one provider call each (docs/providers.md, "Polling")."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Self

from pydantic import Field, model_validator

from tidings.channels.base import ChannelSettings, PollTiming, Receipt, SendError

# Without status callbacks polling is the only news of delivery: the first poll comes once most
# carriers have reported (minutes), so one request usually finds the final status; with them it
# is a safety net for lost callbacks, and starts once a callback is clearly late.
POLL_AFTER_WITHOUT_CALLBACKS = 300.0
POLL_AFTER_WITH_CALLBACKS = 900.0
# Concurrent status requests per poll call: a channel's poll never holds more connections.
POLL_CONCURRENCY = 8
_WINDOW_SECONDS = 72 * 3600  # polling stops at the receipt window anyway


class PollingSettings(ChannelSettings):
    """Settings of the channel types that can ask the provider for a message's status."""

    # Ask the provider about messages still `sent` without a receipt.
    status_polling: bool = True
    # How long a message may stay `sent` without a receipt before it is polled. Unset: 5 min when
    # the channel requests no status callbacks, 15 min when it does.
    poll_after_seconds: float | None = Field(default=None, gt=0, le=_WINDOW_SECONDS)
    # The wait before asking again about a message still in between; it doubles after every
    # poll up to the maximum, so a message whose carrier never reports costs a few dozen
    # requests over the 72 h receipt window, not hundreds. Equal values: a fixed interval.
    poll_interval_seconds: float = Field(default=300, gt=0, le=_WINDOW_SECONDS)
    poll_max_interval_seconds: float = Field(default=6 * 3600, gt=0, le=_WINDOW_SECONDS)

    @model_validator(mode="after")
    def _interval_within_max(self) -> Self:
        if self.poll_max_interval_seconds < self.poll_interval_seconds:
            raise ValueError("poll_max_interval_seconds must be at least poll_interval_seconds")
        return self

    def poll_timing(self, *, callbacks: bool) -> PollTiming | None:
        """The timing for a channel that does (or does not) request status callbacks."""
        if not self.status_polling:
            return None
        default = POLL_AFTER_WITH_CALLBACKS if callbacks else POLL_AFTER_WITHOUT_CALLBACKS
        after = self.poll_after_seconds if self.poll_after_seconds is not None else default
        return PollTiming(after, self.poll_interval_seconds, self.poll_max_interval_seconds)


async def poll_each(
    provider_message_ids: Sequence[str],
    fetch: Callable[[str], Awaitable[Receipt | None]],
    *,
    concurrency: int = POLL_CONCURRENCY,
) -> list[Receipt]:
    """``fetch`` each message, ``concurrency`` at a time; the final answers.

    A provider error on one message leaves it for a later poll. When every request failed, the
    first error is raised: the provider could not be asked at all, which the poller counts.
    """
    slots = asyncio.Semaphore(concurrency)

    async def one(provider_message_id: str) -> Receipt | SendError | None:
        async with slots:
            try:
                return await fetch(provider_message_id)
            except SendError as error:
                return error

    answers = await asyncio.gather(*(one(i) for i in provider_message_ids))
    errors = [a for a in answers if isinstance(a, SendError)]
    if errors and len(errors) == len(answers):
        raise errors[0]
    return [a for a in answers if isinstance(a, Receipt)]
