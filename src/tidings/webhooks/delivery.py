"""The webhook deliverer: claims due deliveries from the outbox, POSTs them signed, records results.

One per worker process, started wherever the dispatcher runs. Like the dispatcher it has a claim
loop (polling; several processes share the work through leases and ``SKIP LOCKED``), POSTs run as
tasks bounded by ``max_in_flight`` over one pooled aiohttp session, and a write loop records their
results in batches. Order per message and URL is kept by the claim query, not in memory, so it
holds across processes and restarts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import aiohttp
from sqlalchemy import Connection

from tidings import __version__
from tidings.config import WebhookSettings
from tidings.core.clock import now_ms
from tidings.core.events import event_id
from tidings.core.ids import new_id
from tidings.core.retry import backoff_seconds
from tidings.crypto import SecretBox
from tidings.metrics import WEBHOOK_DELIVERIES, WEBHOOK_IN_FLIGHT
from tidings.store import outbox
from tidings.store.engine import Database
from tidings.store.outbox import ClaimedDelivery, DeliveryResult
from tidings.webhooks.formats import DeliveryFormat, NativeJson

log = logging.getLogger(__name__)

# What a delivery records of a receiver's answer: enough to debug, never a whole page.
_ERROR_TEXT_LIMIT = 300


@dataclass(frozen=True, slots=True)
class Attempt:
    """One claimed delivery, ready to POST: its body, its format and the key that signs it."""

    delivery: ClaimedDelivery
    body: bytes
    event_id: str
    key: str
    format: DeliveryFormat


class Deliverer:
    def __init__(
        self,
        db: Database,
        box: SecretBox,
        settings: WebhookSettings,
        *,
        formats: Sequence[DeliveryFormat] = (),
        worker_id: str | None = None,
    ) -> None:
        self._db = db
        self._box = box
        self._settings = settings
        # The native JSON, and the formats the runtime hands in (Twilio's form) by their names.
        self._formats: dict[str | None, DeliveryFormat] = {None: NativeJson()}
        self._formats.update({f.name: f for f in formats})
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{new_id('whk')[-8:]}"
        self._session: aiohttp.ClientSession | None = None
        self._wake = asyncio.Event()
        self._flush_wake = asyncio.Event()
        self._room = asyncio.Event()
        self._stopping = False
        self._results: list[DeliveryResult] = []
        self._posts: dict[asyncio.Task[None], int] = {}
        self._loops: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        connector = aiohttp.TCPConnector(
            limit=self._settings.max_in_flight, limit_per_host=self._settings.connections_per_host
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(total=self._settings.timeout_seconds),
            headers={"User-Agent": f"Tidings-Webhooks/{__version__}"},
        )
        self._loops = [
            asyncio.create_task(self._claim_loop(), name="webhooks-claim"),
            asyncio.create_task(self._write_loop(), name="webhooks-write"),
        ]

    async def stop(self, timeout: float = 5.0) -> None:
        """Stop claiming, give POSTs under way a moment, record results, hand back the rest."""
        self._stopping = True
        self._wake.set()
        self._room.set()
        claim_loop, write_loop = self._loops or (None, None)
        if claim_loop is not None:
            # Let a claim under way finish rather than cancel it: on SQLite its transaction
            # commits in the writer thread regardless, and the rows it leased would be lost to
            # everyone until the lease ran out.
            await asyncio.wait({claim_loop}, timeout=timeout)
            claim_loop.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await claim_loop
        if self._posts:
            await asyncio.wait(set(self._posts), timeout=timeout)
        unfinished = list(self._posts.items())
        for task, _ in unfinished:
            task.cancel()
        for task, _ in unfinished:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if write_loop is not None:
            write_loop.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await write_loop
        await self._flush()
        if unfinished:
            ids = [delivery_id for _, delivery_id in unfinished]
            now = now_ms()
            # Another process (or this one restarted) takes them at once instead of after the lease.
            await self._db.transact(
                lambda conn: outbox.release(conn, worker=self.worker_id, delivery_ids=ids, now=now)
            )
        if self._session is not None:
            await self._session.close()
            self._session = None

    def wake(self) -> None:
        """New deliveries may be due: claim now rather than at the next poll."""
        self._wake.set()

    # -- claiming and posting -------------------------------------------------------------------

    async def _claim_loop(self) -> None:
        settings = self._settings
        while not self._stopping:
            room = settings.max_in_flight - len(self._posts)
            if room <= 0:
                self._room.clear()
                await self._room.wait()
                continue
            limit = min(room, settings.claim_batch_size)
            try:
                attempts = await self._claim(limit)
            except Exception:
                log.exception("webhook claim failed; retrying after the poll interval")
                attempts = []
            for attempt in attempts:
                task = asyncio.create_task(self._post(attempt))
                self._posts[task] = attempt.delivery.id
                task.add_done_callback(self._posted)
            WEBHOOK_IN_FLIGHT.set(len(self._posts))
            if len(attempts) == limit:
                continue
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), settings.poll_interval_seconds)

    def _posted(self, task: asyncio.Task[None]) -> None:
        self._posts.pop(task, None)
        WEBHOOK_IN_FLIGHT.set(len(self._posts))
        self._room.set()

    async def _claim(self, limit: int) -> list[Attempt]:
        now = now_ms()
        lease_until = now + int(self._settings.lease_seconds * 1000)
        return await self._db.transact(
            lambda conn: _claim(
                conn,
                self._box,
                self._formats,
                worker=self.worker_id,
                now=now,
                lease_until=lease_until,
                limit=limit,
                skip_locked=not self._db.is_sqlite,
            )
        )

    async def _post(self, attempt: Attempt) -> None:
        assert self._session is not None
        delivery = attempt.delivery
        headers = attempt.format.headers(
            key=attempt.key, url=delivery.url, body=attempt.body, event_id=attempt.event_id, delivery=delivery
        )
        error: str | None
        try:
            # Redirects are not followed: the receiver was named by its owner, and following
            # one would send signed events wherever a compromised receiver points.
            async with self._session.post(
                delivery.url, data=attempt.body, headers=headers, allow_redirects=False
            ) as response:
                if 200 <= response.status < 300:
                    error = None
                else:
                    text = (await response.content.read(_ERROR_TEXT_LIMIT)).decode("utf-8", "replace")
                    error = f"HTTP {response.status}: {text}".strip()
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            # The exception's type, not its text: aiohttp's messages can echo the URL, which
            # may carry a token in its query string.
            error = f"{type(exc).__name__} while connecting or sending"
        self._record(delivery, error)

    def _record(self, delivery: ClaimedDelivery, error: str | None) -> None:
        now = now_ms()
        if error is None:
            result = DeliveryResult(delivery.id, outbox.DELIVERED)
            WEBHOOK_DELIVERIES.labels("delivered").inc()
        else:
            delay_ms = int(
                1000
                * backoff_seconds(
                    delivery.attempts,
                    base=self._settings.retry_base_seconds,
                    cap=self._settings.retry_max_seconds,
                )
            )
            give_up_at = delivery.created_at + int(self._settings.give_up_after_seconds * 1000)
            if now + delay_ms > give_up_at:
                result = DeliveryResult(delivery.id, outbox.FAILED, error)
                WEBHOOK_DELIVERIES.labels("failed").inc()
                log.warning(
                    "webhook delivery failed for good",
                    extra={"delivery_id": delivery.id, "attempts": delivery.attempts},
                )
            else:
                result = DeliveryResult(delivery.id, outbox.PENDING, error, now + delay_ms)
                WEBHOOK_DELIVERIES.labels("retried").inc()
        self._results.append(result)
        self._flush_wake.set()

    # -- writing back ---------------------------------------------------------------------------

    async def _write_loop(self) -> None:
        while True:
            await self._flush_wake.wait()
            await asyncio.sleep(0.02)  # let results gather so one transaction writes many
            self._flush_wake.clear()
            try:
                await self._flush()
            except Exception:
                log.exception("writing webhook results failed; will retry")
                self._flush_wake.set()
                await asyncio.sleep(1)

    async def _flush(self) -> None:
        results, self._results = self._results, []
        if not results:
            return
        now = now_ms()
        try:
            await self._db.transact(
                lambda conn: outbox.record_results(conn, worker=self.worker_id, results=results, now=now)
            )
        except BaseException:
            self._results[:0] = results
            raise
        # A finished delivery may unblock the next event of the same message.
        self._wake.set()


def _claim(
    conn: Connection,
    box: SecretBox,
    formats: Mapping[str | None, DeliveryFormat],
    *,
    worker: str,
    now: int,
    lease_until: int,
    limit: int,
    skip_locked: bool,
) -> list[Attempt]:
    """One transaction: lease due deliveries, render the bodies not rendered yet (each in its
    format), find the keys that sign them."""
    claimed = outbox.claim_due(
        conn, worker=worker, now=now, lease_until=lease_until, limit=limit, skip_locked=skip_locked
    )
    if not claimed:
        return []
    orphans = []
    known = []
    for delivery in claimed:
        if delivery.format in formats:
            known.append(delivery)
        else:
            # Written by a gateway that had this format (a newer or differently built one).
            orphans.append(DeliveryResult(delivery.id, outbox.FAILED, f"no {delivery.format} format here"))
    events = outbox.events_with_messages(
        conn, [d.event_id for d in known if d.payload is None and d.event_id is not None]
    )
    rendered = {
        d.id: formats[d.format].render(events[d.event_id])
        for d in known
        if d.payload is None and d.event_id is not None and d.event_id in events
    }
    outbox.store_payloads(conn, rendered)
    accounts_by_format: dict[str | None, set[str]] = {}
    for d in known:
        accounts_by_format.setdefault(d.format, set()).add(d.account_id)
    keys = {
        name: formats[name].signing_keys(conn, box, account_ids, now=now)
        for name, account_ids in accounts_by_format.items()
    }
    attempts = []
    for delivery in known:
        body = delivery.payload if delivery.payload is not None else rendered.get(delivery.id)
        key = keys[delivery.format].get(delivery.account_id)
        if body is None:
            # Neither a payload nor an event to render one from: retrying cannot help.
            orphans.append(DeliveryResult(delivery.id, outbox.FAILED, "the event no longer exists"))
            continue
        if key is None:
            orphans.append(DeliveryResult(delivery.id, outbox.FAILED, "no key to sign it with"))
            continue
        public_id = event_id(delivery.event_id) if delivery.event_id is not None else f"dlv_{delivery.id}"
        attempts.append(Attempt(delivery, body.encode(), public_id, key, formats[delivery.format]))
    outbox.record_results(conn, worker=worker, results=orphans, now=now)
    return attempts
