"""The sandbox channel: a simulated carrier with latency, failures and delivery receipts.

It accepts every address form (``+1…``, ``whatsapp:+1…``, ``telegram:<id>``, ``viber:<id>``) and
reports a receipt after ``receipt_delay_ms``. Numbers listed in ``reject_numbers`` are refused
permanently and those in ``undeliverable_numbers`` get an ``undelivered`` receipt, so tests and
demos can show every outcome deterministically; ``failure_rate`` adds random transient errors.
"""

from __future__ import annotations

import asyncio
import random
import secrets
from collections.abc import Sequence

from pydantic import Field

from tidings.channels.base import (
    Channel,
    ChannelCredentials,
    ChannelReports,
    ChannelSettings,
    OutboundMessage,
    Receipt,
    SendError,
    SendResult,
)
from tidings.core.statuses import MessageStatus
from tidings.metrics import SANDBOX_PROVIDER_CALLS


class SandboxSettings(ChannelSettings):
    latency_ms: float = Field(default=0, ge=0, le=60_000)
    failure_rate: float = Field(default=0, ge=0, le=1)
    undelivered_rate: float = Field(default=0, ge=0, le=1)
    receipt_delay_ms: float = Field(default=0, ge=0, le=3_600_000)
    reject_numbers: list[str] = Field(default_factory=list)
    undeliverable_numbers: list[str] = Field(default_factory=list)


class SandboxChannel(Channel):
    type = "sandbox"
    settings_model = SandboxSettings

    def __init__(
        self,
        channel_id: str,
        settings: ChannelSettings,
        reports: ChannelReports,
        credentials: ChannelCredentials | None = None,
    ) -> None:
        super().__init__(channel_id, settings, reports, credentials)
        assert isinstance(settings, SandboxSettings)
        self.config = settings
        self._rejected = frozenset(settings.reject_numbers)
        self._undeliverable = frozenset(settings.undeliverable_numbers)
        self._due_receipts: list[Receipt] = []
        self._flush_scheduled = False
        self._closed = False
        self._random = random.Random()

    async def send(self, message: OutboundMessage) -> SendResult:
        SANDBOX_PROVIDER_CALLS.labels(self.channel_id, "send").inc()
        if self.config.latency_ms:
            await asyncio.sleep(self.config.latency_ms / 1000)
        return self._accept(message)

    async def send_many(self, messages: Sequence[OutboundMessage]) -> list[SendResult]:
        # One simulated provider call for the whole group, as a bulk API would behave.
        SANDBOX_PROVIDER_CALLS.labels(self.channel_id, "send_many").inc()
        if self.config.latency_ms:
            await asyncio.sleep(self.config.latency_ms / 1000)
        results = []
        for message in messages:
            try:
                results.append(self._accept(message))
            except SendError as error:
                results.append(SendResult(message.id, error=error))
        return results

    async def close(self) -> None:
        # Receipts still due are dropped, as a real carrier's would be lost with the link; their
        # messages stay `sent`, which is the truth the gateway knows.
        self._closed = True

    def _accept(self, message: OutboundMessage) -> SendResult:
        if message.recipient in self._rejected:
            raise SendError("sandbox_rejected", "the sandbox carrier refuses this number", retryable=False)
        if self.config.failure_rate and self._random.random() < self.config.failure_rate:
            raise SendError("sandbox_unavailable", "simulated transient carrier error", retryable=True)
        provider_id = "SBX" + secrets.token_hex(12)
        undelivered = message.recipient in self._undeliverable or (
            self.config.undelivered_rate and self._random.random() < self.config.undelivered_rate
        )
        receipt = (
            Receipt(provider_id, MessageStatus.UNDELIVERED, "sandbox_undelivered", "handset unreachable")
            if undelivered
            else Receipt(provider_id, MessageStatus.DELIVERED)
        )
        self._schedule_receipt(receipt)
        return SendResult(message.id, provider_message_id=provider_id)

    def _schedule_receipt(self, receipt: Receipt) -> None:
        if self.config.receipt_delay_ms:
            delay = self.config.receipt_delay_ms / 1000
            asyncio.get_running_loop().call_later(delay, self._release, receipt)
        else:
            self._release(receipt)

    def _release(self, receipt: Receipt) -> None:
        # Receipts due together leave in one report, like a carrier's batched DLR stream.
        if self._closed:
            return
        self._due_receipts.append(receipt)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        receipts, self._due_receipts = self._due_receipts, []
        if receipts:
            task = asyncio.get_running_loop().create_task(self.reports.receipts(self.channel_id, receipts))
            _background.add(task)
            task.add_done_callback(_background.discard)


_background: set[asyncio.Task[None]] = set()
