"""What the channel adapters' tests build adapters and messages with: events that go nowhere, an
outbound message with the fields every test leaves alone, the SendError a send or poll must
raise, and polling until receipts are final."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence
from typing import Any

import pytest

from tidings.channels.base import Channel, ChannelReports, InboundMessage, OutboundMessage, Receipt, SendError


async def _ignore_receipts(_: str, __: Sequence[Receipt]) -> None:
    return None


async def _ignore_inbound(_: str, __: Sequence[InboundMessage]) -> None:
    return None


# For adapters whose receipts and inbound messages the test reads elsewhere (or not at all).
IGNORE_REPORTS = ChannelReports(receipts=_ignore_receipts, inbound=_ignore_inbound)


def outbound(to: str, sender: str | None, body: str = "hello", **more: Any) -> OutboundMessage:
    """A first attempt at a one-segment GSM-7 message ``msg_1`` of account ``AC1``."""
    return OutboundMessage(
        id="msg_1", account_id="AC1", sender=sender, recipient=to, body=body, encoding="GSM-7",
        segments=1, attempt=1, **more,
    )  # fmt: skip


async def send_error(channel: Channel, message: OutboundMessage) -> SendError:
    """The SendError that sending ``message`` on the started ``channel`` raises (the test fails if
    it raises none); the channel is closed either way."""
    return await _error(channel, channel.send(message))


async def poll_error(channel: Channel, ids: Sequence[str]) -> SendError:
    """The SendError that polling ``ids`` on the started ``channel`` raises; closed either way."""
    return await _error(channel, channel.poll(ids))


async def _error(channel: Channel, call: Awaitable[object]) -> SendError:
    try:
        with pytest.raises(SendError) as caught:
            await call
    finally:
        await channel.close()
    return caught.value


async def poll_until_final(channel: Channel, ids: list[str], timeout: float = 5.0) -> list[Receipt]:
    """Poll every 50 ms until each of ``ids`` has a receipt; fail after ``timeout`` seconds."""
    for _ in range(int(timeout / 0.05)):
        receipts = await channel.poll(ids)
        if len(receipts) == len(ids):
            return receipts
        await asyncio.sleep(0.05)
    raise AssertionError("the fake never reported a final status")
