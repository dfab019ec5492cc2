"""A channel wired to a fake SMSC over loopback, with the receipts and inbound it reports."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

from support.web import eventually
from tidings.channels.base import ChannelReports, InboundMessage, OutboundMessage, Receipt
from tidings.channels.smpp.channel import SmppChannel
from tidings.channels.smpp.config import SmppCredentials, SmppSettings
from tidings.core.encoding import analyse
from tidings.simulators.smpp import FakeSmsc

_ids = itertools.count(1)


class Reported:
    def __init__(self) -> None:
        self.receipts: list[Receipt] = []
        self.inbound: list[InboundMessage] = []

    async def on_receipts(self, channel_id: str, receipts: Sequence[Receipt]) -> None:
        self.receipts += receipts

    async def on_inbound(self, channel_id: str, inbound: Sequence[InboundMessage]) -> None:
        self.inbound += inbound

    def reports(self) -> ChannelReports:
        return ChannelReports(self.on_receipts, self.on_inbound)


def channel(fake: FakeSmsc, reported: Reported, **settings: Any) -> SmppChannel:
    config = SmppSettings(
        host="127.0.0.1", port=fake.port, system_id="esme", reconnect_min_seconds=0.05,
        reconnect_max_seconds=0.2, enquire_link_seconds=0.5, throttle_backoff_seconds=0.05, **settings,
    )  # fmt: skip
    return SmppChannel("chn_smpp", config, reported.reports(), SmppCredentials(password="secret"))


def message(
    body: str = "hello", to: str = "+27830000001", sender: str | None = "+15550001"
) -> OutboundMessage:
    info = analyse(body)
    return OutboundMessage(
        f"msg_{next(_ids)}", "acc_1", sender, to, body, info.encoding.value, info.segments, 1
    )


async def bound(adapter: SmppChannel, sessions: int | None = None) -> None:
    want = len(adapter.sessions) if sessions is None else sessions
    await eventually(lambda: sum(s.bound for s in adapter.sessions) >= want)
