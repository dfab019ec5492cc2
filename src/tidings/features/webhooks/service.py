"""Provider webhooks in: the channel verifies and parses, we store what it found.

Works in every process (``serve``, ``api``): receipts are applied straight to the database in
one transaction (a receipt for a message whose send result is not written yet is kept in
``pending_receipts`` and reconciled by whichever dispatcher sweeps next), inbound messages go
through :class:`InboundService`. A webhook that does not verify stores nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from tidings.cache import TTLCache
from tidings.channels.base import (
    Channel,
    ChannelEvents,
    InboundMessage,
    Receipt,
    WebhookNotFound,
    WebhookRejected,
    WebhookReply,
    WebhookRequest,
)
from tidings.channels.stored import build_channel
from tidings.core.clock import now_ms
from tidings.crypto import SecretBox
from tidings.features.channels.repository import get_channel
from tidings.features.inbound.service import InboundService
from tidings.metrics import RECEIPTS
from tidings.store.engine import Database
from tidings.store.queue import ReceiptUpdate, apply_receipts

log = logging.getLogger(__name__)

# Adapters are built from their rows (credentials opened) at most this often per channel.
ADAPTER_CACHE_SECONDS = 5.0


class WebhookService:
    def __init__(self, db: Database, box: SecretBox, inbound: InboundService) -> None:
        self._db = db
        self._box = box
        self._inbound = inbound
        self._adapters: TTLCache[Channel] = TTLCache(ADAPTER_CACHE_SECONDS, max_entries=1000)
        self._events = ChannelEvents(receipts=self.store_receipts, inbound=self.store_inbound)

    async def handle(self, channel_id: str, request: WebhookRequest) -> WebhookReply:
        """Verify, parse and store one webhook; raises :class:`WebhookError` (nothing stored)."""
        adapter = await self._adapter(channel_id)
        result = await adapter.parse_webhook(request)
        await self.store_receipts(channel_id, result.receipts)
        await self.store_inbound(channel_id, result.inbound)
        return result.reply

    def forget(self, channel_id: str) -> None:
        """The channel changed: build its adapter afresh on its next webhook."""
        self._adapters.discard(channel_id)

    async def store_receipts(self, channel_id: str, receipts: Sequence[Receipt]) -> None:
        if not receipts:
            return
        updates = [
            ReceiptUpdate(channel_id, r.provider_message_id, r.status, r.code, r.detail) for r in receipts
        ]
        now = now_ms()
        applied, kept = await self._db.transact(lambda conn: apply_receipts(conn, updates, now=now))
        RECEIPTS.labels("applied").inc(applied)
        RECEIPTS.labels("kept").inc(kept)

    async def store_inbound(self, channel_id: str, inbound: Sequence[InboundMessage]) -> None:
        if inbound:
            await self._inbound.receive(channel_id, inbound)

    async def _adapter(self, channel_id: str) -> Channel:
        async def load() -> Channel:
            async with self._db.read() as conn:
                row = await get_channel(conn, channel_id)
            if row is None:
                raise WebhookNotFound("no such channel")
            try:
                return build_channel(row, self._box, self._events)
            except ValueError as exc:  # pydantic's ValidationError included; never echoes secrets
                log.warning(
                    "channel cannot be opened to verify a webhook: %s",
                    type(exc).__name__,
                    extra={"channel_id": channel_id},
                )
                raise WebhookRejected(
                    "this channel's settings or credentials cannot verify webhooks"
                ) from None

        return await self._adapters.get_or_load(channel_id, load)
