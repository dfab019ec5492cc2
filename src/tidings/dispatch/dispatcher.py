"""The dispatcher: claims due messages, sends them through their channels, writes outcomes back.

One per worker process. Three loops: claiming (woken by intake, else polling so scheduled
messages leave on time), writing outcomes and receipts in batches, and sweeping expired leases.
Sends run as tasks bounded by ``max_in_flight`` overall and each channel's concurrency. Each
provider call first passes the channel's circuit breaker and takes its rate-limit permits;
messages with the same channel, sender, body and template go in one ``send_many`` call when the
channel takes batches (``max_batch_size`` > 1).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
from collections.abc import Awaitable, Callable, Sequence
from functools import partial

from tidings.channels.base import (
    ChannelReports,
    InboundMessage,
    OutboundMessage,
    Receipt,
    SendError,
    SendResult,
)
from tidings.config import DispatchSettings
from tidings.core.clock import now_ms
from tidings.core.ids import new_id
from tidings.core.statuses import MessageStatus
from tidings.crypto import SecretBox
from tidings.dispatch import decisions
from tidings.dispatch.channel_pool import ChannelPool, LiveChannel
from tidings.dispatch.circuits import Circuits, Pass
from tidings.dispatch.polling import StatusPoller
from tidings.dispatch.rate_limits import RateLimited, RateLimiter
from tidings.dispatch.write_back import sweep, write_back
from tidings.metrics import (
    CLAIM_SIZE,
    IN_FLIGHT,
    LEASES_RECLAIMED,
    MESSAGES_CLAIMED,
    RECEIPTS,
    SEND_OUTCOMES,
)
from tidings.store import queue
from tidings.store.engine import Database
from tidings.store.opt_out_refusal import refuse_opted_out
from tidings.store.queue import ClaimedMessage, Outcome
from tidings.store.receipts import ReceiptUpdate

log = logging.getLogger(__name__)

# Set by the app: stores and routes inbound messages reported by a channel.
InboundHandler = Callable[[str, Sequence[InboundMessage]], Awaitable[object]]


# Channel, sender, body and template (JSON text): what one provider batch shares.
GroupKey = tuple[str, str | None, str, str | None]

# A template claimed for a channel type that cannot send one (its fallback's, say): permanent.
TEMPLATE_UNSUPPORTED = "template_unsupported"


class Dispatcher:
    def __init__(
        self,
        db: Database,
        settings: DispatchSettings,
        *,
        worker_id: str | None = None,
        limiter: RateLimiter | None = None,
        box: SecretBox | None = None,
    ) -> None:
        self._db = db
        self._settings = settings
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{new_id('wrk')[-8:]}"
        self.limiter = limiter if limiter is not None else RateLimiter.in_memory()
        self.circuits = Circuits(
            failure_threshold=settings.circuit_failure_threshold,
            cooldown_seconds=settings.circuit_cooldown_seconds,
        )
        self.channels = ChannelPool(
            db,
            ChannelReports(receipts=self.report_receipts, inbound=self.report_inbound),
            concurrency=settings.channel_concurrency,
            min_concurrency=settings.channel_min_concurrency,
            limiter=self.limiter,
            circuits=self.circuits,
            box=box,
            refresh_seconds=settings.channel_refresh_seconds,
        )
        self.poller = StatusPoller(db, self.channels)  # receipts that never came, asked for
        # The claim lease must outlast the wait for a rate-limit slot and the send after it.
        self._rate_wait = min(settings.rate_limit_max_wait_seconds, settings.lease_seconds / 2)
        self._wake = asyncio.Event()
        self._flush_wake = asyncio.Event()
        self._room = asyncio.Event()
        self._stopping = False
        self._in_flight = 0
        self._outcomes: list[Outcome] = []
        self._receipts: list[ReceiptUpdate] = []
        self._sends: set[asyncio.Task[None]] = set()
        self._loops: list[asyncio.Task[None]] = []
        self.inbound_handler: InboundHandler | None = None

    # -- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        await self.limiter.start()
        self.channels.start()
        self.poller.start()
        self._loops = [
            asyncio.create_task(self._claim_loop(), name="dispatch-claim"),
            asyncio.create_task(self._write_loop(), name="dispatch-write"),
            asyncio.create_task(self._sweep_loop(), name="dispatch-sweep"),
        ]

    async def stop(self, timeout: float = 10.0) -> None:
        """Stop claiming, let in-flight sends finish, write every outcome, close channels."""
        self._stopping = True
        self._wake.set()
        self._room.set()
        # The claim loop ends by itself: cancelling it mid-claim would abandon a committed claim
        # (its messages would sit leased, unsent, until the lease expired).
        claim_loop = self._loops[0] if self._loops else None
        if claim_loop is not None:
            await asyncio.wait({claim_loop}, timeout=timeout)
        await self.limiter.close()  # sends still waiting for a slot are requeued at once
        if self._sends:
            await asyncio.wait(set(self._sends), timeout=timeout)
        await self._flush()
        for task in self._loops:
            task.cancel()
        for task in self._loops:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.poller.stop()
        await self.channels.close()
        await self._flush()

    def wake(self) -> None:
        """New due messages were committed: claim now rather than at the next poll."""
        self._wake.set()

    def is_open(self, channel_id: str) -> bool:
        """Whether this worker's circuit for the channel refuses sends right now (for routing)."""
        return self.circuits.is_open(channel_id)

    # -- claiming and sending -------------------------------------------------------------------

    async def _claim_loop(self) -> None:
        settings = self._settings
        while not self._stopping:
            room = settings.max_in_flight - self._in_flight
            if room <= 0:
                self._room.clear()
                await self._room.wait()
                continue
            try:
                claimed = await self._claim(min(room, settings.claim_batch_size))
            except Exception:
                log.exception("claim failed; retrying after the poll interval")
                claimed = []
            if claimed:
                self._launch(claimed)
                if len(claimed) == min(room, settings.claim_batch_size):
                    continue  # more are probably due; don't wait
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), settings.poll_interval_seconds)
                if settings.claim_gather_ms:
                    await asyncio.sleep(settings.claim_gather_ms / 1000)

    async def _claim(self, limit: int) -> list[ClaimedMessage]:
        now = now_ms()
        lease_until = now + int(self._settings.lease_seconds * 1000)
        # Messages to opted-out addresses fail in the claim's transaction, before any send.
        claimed = await self._db.transact(
            lambda conn: refuse_opted_out(
                conn,
                queue.claim_due(
                    conn,
                    worker=self.worker_id,
                    now=now,
                    lease_until=lease_until,
                    limit=limit,
                    skip_locked=not self._db.is_sqlite,
                ),
                worker=self.worker_id,
                now=now,
            )
        )
        if claimed:
            MESSAGES_CLAIMED.inc(len(claimed))
            CLAIM_SIZE.observe(len(claimed))
        return claimed

    def _launch(self, claimed: Sequence[ClaimedMessage]) -> None:
        self._in_flight += len(claimed)
        IN_FLIGHT.set(self._in_flight)
        now = now_ms()
        groups: dict[GroupKey, list[ClaimedMessage]] = {}
        for message in claimed:
            if message.expires_at is not None and message.expires_at <= now:
                self._finish(decisions.expired(message.id), "expired")
            elif message.attempts > self._settings.max_attempts:
                self._finish(decisions.out_of_attempts(message), "failed")
            else:
                key = (message.channel_id, message.sender, message.body, message.template)
                groups.setdefault(key, []).append(message)
        for group in groups.values():
            task = asyncio.create_task(self._send_group(group))
            self._sends.add(task)
            task.add_done_callback(self._sends.discard)

    async def _send_group(self, group: list[ClaimedMessage]) -> None:
        """Messages sharing channel, sender and body: one provider call per ``group_size``."""
        try:
            live = await self.channels.acquire(group[0].channel_id)
        except Exception as exc:  # an unknown channel or an adapter that would not start: retry
            for message in group:
                self._finish_unclassified(message, exc, "unknown")
            return
        try:
            size = live.group_size
            chunks = [group[start : start + size] for start in range(0, len(group), size)]
            await asyncio.gather(*(self._send_chunk(live, chunk) for chunk in chunks))
        finally:
            self.channels.release(live)

    async def _send_chunk(self, live: LiveChannel, chunk: list[ClaimedMessage]) -> None:
        channel_type = live.adapter.type
        if chunk[0].template is not None and not live.adapter.supports_templates:
            refused = SendError(
                TEMPLATE_UNSUPPORTED,
                f"{channel_type} channels cannot send WhatsApp templates",
                retryable=False,
            )
            for message in chunk:
                outcome = decisions.outcome_for_error(message, refused, now=now_ms(), settings=self._settings)
                self._finish(outcome, outcome.status.value, channel_type)
            return
        try:
            if live.breaker.is_open():
                self._defer(chunk, decisions.circuit_open(live.breaker.retry_after()), channel_type)
                return
            try:
                if live.mps is not None:
                    await live.acquire(len(chunk), max_wait=self._rate_wait)
            except RateLimited as limited:
                error = SendError(
                    "rate_limited", limited.reason, retryable=True, retry_after=limited.retry_after
                )
                self._defer(chunk, error, channel_type)
                return
            ticket = live.breaker.try_pass()
            if ticket is None:  # another chunk took the half-open circuit's one probe
                self._defer(chunk, decisions.circuit_open(live.breaker.retry_after()), channel_type)
                return
            results = await self._call_provider(live, chunk, ticket)
        except Exception as exc:  # a bug on our side of the call: retry rather than lose them
            for message in chunk:
                self._finish_unclassified(message, exc, channel_type)
            return
        at = now_ms()
        for message in chunk:
            result = results[message.id]
            if result.error is None:
                sent = Outcome(
                    message.id,
                    MessageStatus.SENT,
                    provider_message_id=result.provider_message_id,
                    at=at,
                    channel_id=message.channel_id,
                )
                self._finish(sent, "sent", channel_type)
            else:
                outcome = decisions.outcome_for_error(message, result.error, now=at, settings=self._settings)
                self._finish(outcome, outcome.status.value, channel_type)

    async def _call_provider(
        self, live: LiveChannel, chunk: list[ClaimedMessage], ticket: Pass
    ) -> dict[str, SendResult]:
        """One provider call for the chunk; every message gets a result, reported to the breaker."""
        outbound = [_outbound(message) for message in chunk]
        try:
            async with live.calls.slot():
                if len(outbound) == 1:
                    answered = [await live.adapter.send(outbound[0])]
                else:
                    answered = await live.adapter.send_many(outbound)
        except SendError as error:
            answered = [SendResult(m.id, error=error) for m in outbound]
        except Exception as exc:  # an adapter bug or an unclassified network error: retry
            log.warning(
                "send raised %s; treating as transient",
                type(exc).__name__,
                extra={"channel_id": live.adapter.channel_id, "messages": len(outbound)},
            )
            unclassified = decisions.unclassified(exc)
            answered = [SendResult(m.id, error=unclassified) for m in outbound]
        results = {result.message_id: result for result in answered}
        missing = SendError("channel_error", "the channel returned no result for it", retryable=True)
        for message in outbound:
            results.setdefault(message.id, SendResult(message.id, error=missing))
        # The provider is down only if nothing in the call got through or was refused for cause.
        failed = all(r.error is not None and r.error.retryable for r in results.values())
        live.breaker.record(ticket, ok=not failed)
        return results

    def _defer(self, chunk: Sequence[ClaimedMessage], error: SendError, channel_type: str) -> None:
        now = now_ms()
        for message in chunk:
            self._finish(decisions.deferred(message, error, now=now), "deferred", channel_type)

    def _finish_unclassified(self, message: ClaimedMessage, exc: Exception, channel_type: str) -> None:
        log.warning(
            "send raised %s; treating as transient",
            type(exc).__name__,
            extra={"message_id": message.id, "channel_id": message.channel_id},
        )
        outcome = decisions.outcome_for_error(
            message, decisions.unclassified(exc), now=now_ms(), settings=self._settings
        )
        self._finish(outcome, outcome.status.value, channel_type)

    def _finish(self, outcome: Outcome, label: str, channel_type: str = "none") -> None:
        SEND_OUTCOMES.labels(channel_type, label).inc()
        self._outcomes.append(outcome)
        self._flush_wake.set()

    # -- writing back ---------------------------------------------------------------------------

    async def report_receipts(self, channel_id: str, receipts: Sequence[Receipt]) -> None:
        self._receipts.extend(
            ReceiptUpdate(channel_id, r.provider_message_id, r.status, r.code, r.detail) for r in receipts
        )
        self._flush_wake.set()

    async def report_inbound(self, channel_id: str, messages: Sequence[InboundMessage]) -> None:
        handler = self.inbound_handler
        if handler is None:
            log.warning("inbound message dropped: no inbound handler", extra={"channel_id": channel_id})
            return
        await handler(channel_id, messages)

    async def _write_loop(self) -> None:
        interval = self._settings.result_flush_ms / 1000
        while True:
            await self._flush_wake.wait()
            # Let a few milliseconds of outcomes gather so one transaction writes many.
            await asyncio.sleep(interval)
            self._flush_wake.clear()
            try:
                await self._flush()
            except Exception:
                log.exception("writing outcomes failed; will retry")
                self._flush_wake.set()
                await asyncio.sleep(1)

    async def _flush(self) -> None:
        outcomes, self._outcomes = self._outcomes, []
        receipts, self._receipts = self._receipts, []
        if not outcomes and not receipts:
            return
        try:
            now = now_ms()
            applied, kept = await self._db.transact(
                lambda conn: write_back(conn, self.worker_id, outcomes, receipts, now)
            )
            RECEIPTS.labels("applied").inc(applied)
            RECEIPTS.labels("kept").inc(kept)
        except BaseException:
            # Nothing was written: put it all back for the next flush.
            self._outcomes[:0] = outcomes
            self._receipts[:0] = receipts
            raise
        if outcomes:
            self._in_flight -= len(outcomes)
            IN_FLIGHT.set(self._in_flight)
            self._room.set()
            if any(o.status is MessageStatus.QUEUED for o in outcomes):
                self._wake.set()

    async def _sweep_loop(self) -> None:
        """Renew this worker's leases; reclaim expired ones, reconcile early receipts, drop expired
        idempotency keys."""
        lease_ms = int(self._settings.lease_seconds * 1000)
        renewed_at = now_ms()
        while True:
            await asyncio.sleep(min(1.0, self._settings.lease_seconds / 3))
            try:
                now = now_ms()
                # Renewed at a third of the lease, so a live worker misses two renewals before
                # another worker may take its messages; only a dead one's leases run out.
                if self._in_flight and now - renewed_at >= lease_ms / 3:
                    await self._db.transact(
                        partial(queue.renew_leases, worker=self.worker_id, lease_until=now + lease_ms)
                    )
                    renewed_at = now
                reclaimed, reconciled = await self._db.transact(partial(sweep, now=now))
                if reclaimed:
                    LEASES_RECLAIMED.inc(len(reclaimed))
                    log.warning("reclaimed expired leases", extra={"count": len(reclaimed)})
                    self._wake.set()
                if reconciled:
                    RECEIPTS.labels("reconciled").inc(reconciled)
            except Exception:
                log.exception("lease sweep failed")


def _outbound(message: ClaimedMessage) -> OutboundMessage:
    return OutboundMessage(
        id=message.id,
        account_id=message.account_id,
        sender=message.sender,
        recipient=message.recipient,
        body=message.body,
        encoding=message.encoding,
        segments=message.segments,
        attempt=message.attempts,
        template=json.loads(message.template) if message.template is not None else None,
    )
