"""The status poller: asks providers about `sent` messages whose delivery receipt never came.

One per worker, started and stopped with its dispatcher (docs/providers.md, "Polling").
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from functools import partial

from tidings.channels.base import SendError
from tidings.channels.registry import CHANNEL_TYPES
from tidings.core.clock import now_ms
from tidings.core.statuses import RECEIPT_WINDOW_MS, MessageStatus
from tidings.dispatch.channel_pool import ChannelPool, LiveChannel
from tidings.metrics import STATUS_POLLS
from tidings.store import polling
from tidings.store.engine import Database
from tidings.store.polling import DuePoll
from tidings.store.receipts import ReceiptUpdate

log = logging.getLogger(__name__)

BATCH_SIZE = 100  # messages claimed per channel per round: one adapter.poll call
# Rounds follow the shortest poll setting (a quarter of it) within these bounds; at most a second
# apart so a new polling channel is noticed soon (an idle round is one small query per channel).
MAX_PAUSE_SECONDS = 1.0
MIN_PAUSE_SECONDS = 0.02
PURGE_SECONDS = 60.0  # how often finished polls are dropped
_FINAL = frozenset({MessageStatus.DELIVERED, MessageStatus.UNDELIVERED, MessageStatus.FAILED})
_POLLING_TYPES = frozenset(cls.type for cls in CHANNEL_TYPES if cls.supports_polling)


class StatusPoller:
    """Each round lists the live channels of polling-capable types and, per channel at once,
    claims its due messages (store.polling: bounded, conditional, SKIP LOCKED on PostgreSQL),
    asks the adapter through the dispatcher's pool, and applies final answers with
    ``store.receipts.apply_receipts``, so statuses only move forward and events and webhooks follow.

    Polls take no rate-limit permits: a channel's ``mps`` is what the provider may send, and a
    status request sends nothing. They skip a channel whose circuit is open and do not feed the
    breaker (a failed poll only waits for its next turn; the send path alone decides whether the
    provider is down). Each poll call holds one of the channel's concurrent-call slots and makes
    at most ``channels.polling.POLL_CONCURRENCY`` requests at once.
    """

    def __init__(self, db: Database, channels: ChannelPool, *, batch_size: int = BATCH_SIZE) -> None:
        self._db = db
        self._channels = channels
        self._batch_size = batch_size
        self._pause = MAX_PAUSE_SECONDS
        self._purged_at = 0
        self._unusable: set[str] = set()  # channels that would not open, warned about once
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="status-poller")

    async def stop(self) -> None:
        """Stop at once: a poll cut short has already pushed its messages' next poll back."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                busy = await self.run_round()
            except Exception:
                log.exception("status poll round failed; trying again later")
                busy = False
            if not busy:
                await asyncio.sleep(self._pause)

    async def run_round(self) -> bool:
        """Poll every polling channel once; whether any had a full batch (more may be due)."""
        async with self._db.read() as conn:
            listed = await conn.run_sync(polling.polling_channels, _POLLING_TYPES)
        answers = await asyncio.gather(
            *(self._poll_channel(channel_id) for channel_id, _ in listed), return_exceptions=True
        )
        rounds = []
        for (channel_id, _), answer in zip(listed, answers, strict=True):
            if isinstance(answer, BaseException):  # the database, most likely: next round
                log.warning(
                    "status poll failed (%s)", type(answer).__name__, extra={"channel_id": channel_id}
                )
            else:
                rounds.append(answer)
        self._pause = min([MAX_PAUSE_SECONDS, *(pause for _, pause in rounds)])
        now = now_ms()
        if now - self._purged_at >= PURGE_SECONDS * 1000:
            self._purged_at = now
            await self._db.transact(partial(polling.purge_finished_polls, sent_after=now - RECEIPT_WINDOW_MS))
        return any(full for full, _ in rounds)

    async def _poll_channel(self, channel_id: str) -> tuple[bool, float]:
        """One channel's turn: (whether the batch was full, the pause its settings ask for)."""
        try:
            live = await self._channels.acquire(channel_id)
        except Exception as exc:  # deleted meanwhile, or an adapter that will not open
            if channel_id not in self._unusable:  # once, not every round
                self._unusable.add(channel_id)
                log.warning("cannot poll channel (%s)", type(exc).__name__, extra={"channel_id": channel_id})
            return False, MAX_PAUSE_SECONDS
        self._unusable.discard(channel_id)
        try:
            timing = live.adapter.poll_timing()
            if timing is None:
                return False, MAX_PAUSE_SECONDS
            shortest = min(timing.after_seconds, timing.interval_seconds) / 4
            pause = min(max(shortest, MIN_PAUSE_SECONDS), MAX_PAUSE_SECONDS)
            if live.breaker.is_open():
                return False, pause
            now = now_ms()
            claimed = await self._db.transact(
                partial(
                    polling.claim_due_polls,
                    channel_id=channel_id,
                    now=now,
                    sent_before=now - int(timing.after_seconds * 1000),
                    sent_after=now - RECEIPT_WINDOW_MS,
                    first_gap_ms=int(timing.interval_seconds * 1000),
                    max_gap_ms=int(timing.max_interval_seconds * 1000),
                    limit=self._batch_size,
                    skip_locked=not self._db.is_sqlite,
                )
            )
            if claimed:
                await self._ask(live, claimed)
            return len(claimed) >= self._batch_size, pause
        finally:
            self._channels.release(live)

    async def _ask(self, live: LiveChannel, claimed: Sequence[DuePoll]) -> None:
        channel_type = live.adapter.type
        channel_id = live.adapter.channel_id
        by_provider_id = {poll.provider_message_id: poll.message_id for poll in claimed}
        try:
            async with live.calls.slot():
                receipts = await live.adapter.poll(list(by_provider_id))
        except Exception as exc:  # SendError, or an adapter bug: each message waits its gap
            STATUS_POLLS.labels(channel_type, "error").inc(len(claimed))
            reason = exc.code if isinstance(exc, SendError) else type(exc).__name__
            log.warning("status poll failed (%s)", reason, extra={"channel_id": channel_id})
            return
        # Only final answers about messages asked about: anything else would be kept as a
        # pending receipt for an id this channel never sent.
        final = {
            r.provider_message_id: r
            for r in receipts
            if r.status in _FINAL and r.provider_message_id in by_provider_id
        }
        if final:
            updates = [
                ReceiptUpdate(channel_id, r.provider_message_id, r.status, r.code, r.detail)
                for r in final.values()
            ]
            message_ids = [by_provider_id[provider_id] for provider_id in final]
            await self._db.transact(
                partial(
                    polling.apply_polled_receipts, receipts=updates, message_ids=message_ids, now=now_ms()
                )
            )
        STATUS_POLLS.labels(channel_type, "final").inc(len(final))
        STATUS_POLLS.labels(channel_type, "pending").inc(len(claimed) - len(final))
