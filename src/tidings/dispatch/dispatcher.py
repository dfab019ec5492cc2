"""The dispatcher: claims due messages, sends them through their channels, writes outcomes back.

One per worker process. Three loops: claiming (woken by intake, else polling so scheduled
messages leave on time), writing outcomes and receipts in batches, and sweeping expired leases.
Sends run as tasks bounded by ``max_in_flight`` overall and each channel's concurrency.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Awaitable, Callable, Sequence
from functools import partial

from sqlalchemy import Connection

from tidings.channels.base import ChannelEvents, InboundMessage, OutboundMessage, Receipt, SendError
from tidings.config import DispatchSettings
from tidings.core.clock import now_ms
from tidings.core.ids import new_id
from tidings.core.statuses import MessageStatus
from tidings.crypto import SecretBox
from tidings.dispatch import decisions
from tidings.dispatch.channel_pool import ChannelPool
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
from tidings.store.idempotency import purge_expired
from tidings.store.queue import ClaimedMessage, Outcome, ReceiptUpdate

log = logging.getLogger(__name__)

# Set by the app: stores and routes inbound messages reported by a channel.
InboundHandler = Callable[[str, Sequence[InboundMessage]], Awaitable[object]]


class Dispatcher:
    def __init__(
        self,
        db: Database,
        settings: DispatchSettings,
        *,
        worker_id: str | None = None,
        box: SecretBox | None = None,
    ) -> None:
        self._db = db
        self._settings = settings
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{new_id('wrk')[-8:]}"
        self.channels = ChannelPool(
            db,
            ChannelEvents(receipts=self.report_receipts, inbound=self.report_inbound),
            concurrency=settings.channel_concurrency,
            box=box,
        )
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
        self._loops = [
            asyncio.create_task(self._claim_loop(), name="dispatch-claim"),
            asyncio.create_task(self._write_loop(), name="dispatch-write"),
            asyncio.create_task(self._sweep_loop(), name="dispatch-sweep"),
        ]

    async def stop(self, timeout: float = 10.0) -> None:
        """Stop claiming, let in-flight sends finish, write every outcome, close channels."""
        self._stopping = True
        self._wake.set()
        if self._sends:
            await asyncio.wait(set(self._sends), timeout=timeout)
        await self._flush()
        for task in self._loops:
            task.cancel()
        for task in self._loops:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.channels.close()
        await self._flush()

    def wake(self) -> None:
        """New due messages were committed: claim now rather than at the next poll."""
        self._wake.set()

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
        claimed = await self._db.transact(
            lambda conn: queue.claim_due(
                conn,
                worker=self.worker_id,
                now=now,
                lease_until=lease_until,
                limit=limit,
                skip_locked=not self._db.is_sqlite,
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
        for message in claimed:
            if message.expires_at is not None and message.expires_at <= now:
                self._finish(decisions.expired(message.id), "expired")
            elif message.attempts > self._settings.max_attempts:
                self._finish(decisions.out_of_attempts(message), "failed")
            else:
                task = asyncio.create_task(self._send(message))
                self._sends.add(task)
                task.add_done_callback(self._sends.discard)

    async def _send(self, message: ClaimedMessage) -> None:
        channel_type = "unknown"
        try:
            live = await self.channels.get(message.channel_id)
            channel_type = live.adapter.type
            outbound = OutboundMessage(
                id=message.id,
                account_id=message.account_id,
                sender=message.sender,
                recipient=message.recipient,
                body=message.body,
                encoding=message.encoding,
                segments=message.segments,
                attempt=message.attempts,
            )
            async with live.slots:
                result = await live.adapter.send(outbound)
            if result.error is not None:
                raise result.error
            outcome = Outcome(
                message.id,
                MessageStatus.SENT,
                provider_message_id=result.provider_message_id,
            )
            self._finish(outcome, "sent", channel_type)
        except SendError as error:
            outcome = decisions.outcome_for_error(message, error, now=now_ms(), settings=self._settings)
            self._finish(outcome, outcome.status.value, channel_type)
        except Exception as exc:  # an adapter bug or an unclassified network error: retry
            log.warning(
                "send raised %s; treating as transient",
                type(exc).__name__,
                extra={"message_id": message.id, "channel_id": message.channel_id},
            )
            unclassified = SendError("channel_error", f"{type(exc).__name__} in the channel", retryable=True)
            outcome = decisions.outcome_for_error(
                message, unclassified, now=now_ms(), settings=self._settings
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
                lambda conn: _write_back(conn, self.worker_id, outcomes, receipts, now)
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
        """Reclaim expired leases, reconcile early receipts, drop expired idempotency keys."""
        while True:
            await asyncio.sleep(1.0)
            try:
                reclaimed, reconciled = await self._db.transact(partial(_sweep, now=now_ms()))
                if reclaimed:
                    LEASES_RECLAIMED.inc(len(reclaimed))
                    log.warning("reclaimed expired leases", extra={"count": len(reclaimed)})
                    self._wake.set()
                if reconciled:
                    RECEIPTS.labels("reconciled").inc(reconciled)
            except Exception:
                log.exception("lease sweep failed")


def _write_back(
    conn: Connection,
    worker: str,
    outcomes: Sequence[Outcome],
    receipts: Sequence[ReceiptUpdate],
    now: int,
) -> tuple[int, int]:
    """Outcomes first, then receipts, so a receipt finds the provider id its send just wrote."""
    for start in range(0, len(outcomes), 1000):
        queue.record_outcomes(conn, worker=worker, outcomes=outcomes[start : start + 1000], now=now)
    applied = kept = 0
    for start in range(0, len(receipts), 1000):
        done, held = queue.apply_receipts(conn, receipts[start : start + 1000], now=now)
        applied += done
        kept += held
    return applied, kept


def _sweep(conn: Connection, *, now: int) -> tuple[list[str], int]:
    purge_expired(conn, now=now)
    return queue.reclaim_expired_leases(conn, now=now), queue.reconcile_pending_receipts(conn, now=now)
