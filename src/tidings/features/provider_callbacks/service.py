"""Provider callbacks in: the channel verifies and parses, we store what it found.

Works in every process (``serve``, ``api``): receipts are applied to the database by group
commit, so the callbacks that arrive together share one transaction (a provider reports each
message twice or more, and one commit per callback capped a Twilio channel at a few hundred
messages a second on SQLite); a receipt for a message whose send result is not written yet is kept in
``pending_receipts`` and reconciled by whichever dispatcher sweeps next), inbound messages go
through :class:`InboundService`. A callback that does not verify stores nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sqlalchemy import Connection

from tidings.cache import TTLCache
from tidings.channels.base import (
    CallbackNotFound,
    CallbackRejected,
    CallbackReply,
    CallbackRequest,
    Channel,
    ChannelReports,
    InboundMessage,
    Receipt,
)
from tidings.channels.stored import build_channel
from tidings.core.clock import now_ms
from tidings.crypto import SecretBox
from tidings.features.inbound import InboundService
from tidings.metrics import RECEIPTS
from tidings.store.channels import get_channel
from tidings.store.engine import Database
from tidings.store.group_commit import GroupCommit
from tidings.store.receipts import ReceiptUpdate, apply_receipts
from tidings.web.services import ServiceKey

log = logging.getLogger(__name__)

# Adapters are built from their rows (credentials opened) at most this often per channel.
ADAPTER_CACHE_SECONDS = 5.0


class CallbackService:
    """Takes what providers post to ``/webhooks/{channel_id}/{kind}``: receipts and inbound messages."""

    def __init__(self, db: Database, box: SecretBox, inbound: InboundService) -> None:
        self._db = db
        self._box = box
        self._inbound = inbound
        self._adapters: TTLCache[Channel] = TTLCache(ADAPTER_CACHE_SECONDS, max_entries=1000)
        self._reports = ChannelReports(receipts=self.store_receipts, inbound=self.store_inbound)
        self._receipts = GroupCommit(db, _apply_receipts, name="receipt-writer")

    def start(self) -> None:
        self._receipts.start()

    async def stop(self) -> None:
        await self._receipts.stop()

    async def handle(self, channel_id: str, request: CallbackRequest) -> CallbackReply:
        """Verify, parse and store one callback; raises :class:`CallbackError` (nothing stored)."""
        adapter = await self._adapter(channel_id)
        result = await adapter.parse_callback(request)
        await self.store_receipts(channel_id, result.receipts)
        await self.store_inbound(channel_id, result.inbound)
        return result.reply

    def forget(self, channel_id: str) -> None:
        """The channel changed: build its adapter afresh on its next callback."""
        self._adapters.discard(channel_id)

    async def store_receipts(self, channel_id: str, receipts: Sequence[Receipt]) -> None:
        if not receipts:
            return
        await self._receipts.submit(
            [ReceiptUpdate(channel_id, r.provider_message_id, r.status, r.code, r.detail) for r in receipts]
        )

    async def store_inbound(self, channel_id: str, inbound: Sequence[InboundMessage]) -> None:
        if inbound:
            await self._inbound.receive(channel_id, inbound)

    async def _adapter(self, channel_id: str) -> Channel:
        async def load() -> Channel:
            async with self._db.read() as conn:
                row = await get_channel(conn, channel_id)
            if row is None:
                raise CallbackNotFound("no such channel")
            try:
                return build_channel(row, self._box, self._reports)
            except ValueError as exc:  # pydantic's ValidationError included; never echoes secrets
                log.warning(
                    "channel cannot be opened to verify a callback: %s",
                    type(exc).__name__,
                    extra={"channel_id": channel_id},
                )
                raise CallbackRejected(
                    "this channel's settings or credentials cannot verify webhooks"
                ) from None

        return await self._adapters.get_or_load(channel_id, load)


def _apply_receipts(conn: Connection, updates: list[ReceiptUpdate]) -> None:
    applied, kept = apply_receipts(conn, updates, now=now_ms())
    # Counted inside the transaction: a group that fails is retried caller by caller, which
    # can count a receipt twice; the counters are for rates, not for reconciliation.
    RECEIPTS.labels("applied").inc(applied)
    RECEIPTS.labels("kept").inc(kept)


# How routers reach this service (tidings.web.services).
CALLBACKS: ServiceKey[CallbackService] = ServiceKey("callbacks")
