"""The SMPP adapter: one channel = N sessions to one SMSC; receipts and MO arrive on the binds.

A message's provider id is its first part's SMSC id (canonical form when the id base is known);
the other parts' ids are kept in memory (``receipts.ReceiptBook``) so the message's receipt is
reported once every part has one. SMPP has no callbacks: ``parse_callback`` stays the base's 404.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Sequence

import smpp34

from tidings.channels.base import (
    Channel,
    ChannelCredentials,
    ChannelReports,
    ChannelSettings,
    InboundMessage,
    OutboundMessage,
    Receipt,
    SendError,
    SendResult,
)
from tidings.channels.smpp import receipts
from tidings.channels.smpp.codec import (
    RECEIPT_TYPES,
    THROTTLING,
    TLV_MESSAGE_PAYLOAD,
    TRANSIENT,
    Part,
    address_ton_npi,
    build_parts,
    data_coding_for,
    status_name,
)
from tidings.channels.smpp.config import SmppCredentials, SmppSettings
from tidings.channels.smpp.inbound import MoPart, Reassembler
from tidings.channels.smpp.session import NotBound, SmppSession, Unconfirmed

PART_RETRIES = 10  # a later part throttled or without a bind: retried in place, not resent whole
_background: set[asyncio.Task[object]] = set()


class SmppChannel(Channel):
    type = "smpp"
    listens = True  # receipts and MO arrive on the bind
    pipeline_group = 100  # send_many submits concurrently, within the sessions' windows
    settings_model = SmppSettings
    credentials_model = SmppCredentials

    def __init__(
        self,
        channel_id: str,
        settings: ChannelSettings,
        reports: ChannelReports,
        credentials: ChannelCredentials | None = None,
    ) -> None:
        super().__init__(channel_id, settings, reports, credentials)
        assert isinstance(settings, SmppSettings) and isinstance(credentials, SmppCredentials)
        self.config = settings
        password = credentials.password.get_secret_value()
        self.sessions = [
            SmppSession(f"{channel_id}/{n}", settings, password, self._on_deliver)
            for n in range(settings.sessions)
        ]
        self.book = receipts.ReceiptBook(settings.receipt_hold_seconds)
        self.mo = Reassembler(settings.mo_reassembly_seconds)
        self._reference = random.randrange(256)
        self._receipts: list[Receipt] = []
        self._inbound: list[InboundMessage] = []
        self._flush_scheduled = False
        self._sweeper: asyncio.Task[None] | None = None
        self._closed = asyncio.Event()

    async def start(self) -> None:
        for session in self.sessions:
            session.start()
        self._sweeper = asyncio.create_task(self._sweep())

    async def close(self) -> None:
        self._closed.set()
        await asyncio.gather(*(session.close() for session in self.sessions))
        if self._sweeper is not None:
            self._sweeper.cancel()
        self._flush()

    async def send_many(self, messages: Sequence[OutboundMessage]) -> list[SendResult]:
        # Concurrently, so the group fills the sessions' windows instead of one submit at a time.
        async def one(message: OutboundMessage) -> SendResult:
            try:
                return await self.send(message)
            except SendError as error:
                return SendResult(message.id, error=error)

        return list(await asyncio.gather(*(one(m) for m in messages)))

    async def send(self, message: OutboundMessage) -> SendResult:
        session = await self._session()
        coding = data_coding_for(message.body, message.encoding, self.config.default_data_coding)
        self._reference = (self._reference + 1) % 256
        parts = build_parts(
            message.body,
            coding,
            reference=self._reference,
            payload=self.config.long_messages == "message_payload",
        )
        address, ton, npi = address_ton_npi(message.sender or "")
        source = (
            address,
            ton if self.config.source_addr_ton is None else self.config.source_addr_ton,
            npi if self.config.source_addr_npi is None else self.config.source_addr_npi,
        )
        ids: list[str] = []
        for index, part in enumerate(parts):
            ids.append(await self._submit(session, message, part, source, index, len(parts)))
        self._report(self.book.submitted(ids), [])
        return SendResult(message.id, provider_message_id=ids[0])

    async def _session(self) -> SmppSession:
        """The bound session with the fewest submits out or waiting; waits a little for a bind."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.config.bind_wait_seconds
        while True:  # bounded by bind_wait_seconds
            bound = [s for s in self.sessions if s.bound]
            if bound:
                return min(bound, key=lambda s: s.load)
            if loop.time() >= deadline or self._closed.is_set():
                raise SendError("smpp_not_bound", "no SMPP session is bound", retryable=True, retry_after=1)
            await asyncio.sleep(0.02)

    async def _submit(
        self,
        session: SmppSession,
        message: OutboundMessage,
        part: Part,
        source: tuple[str, int, int],
        index: int,
        total: int,
    ) -> str:
        """The SMSC's id for one part. A failure on the first part leaves nothing sent, so it may
        be retried whole; on a later part it is retried here, then fails the message."""
        destination = message.recipient.removeprefix("+")
        ton_npi = (self.config.dest_addr_ton, self.config.dest_addr_npi)
        sent = f" after {index} of {total} parts" if index else ""
        for _ in range(PART_RETRIES):
            try:
                resp = await session.submit(destination, part, source=source, dest_ton_npi=ton_npi)
            except NotBound:
                if index == 0:
                    raise SendError(
                        "smpp_not_bound", "the SMPP bind dropped", retryable=True, retry_after=1
                    ) from None
                await asyncio.sleep(self.config.reconnect_min_seconds)
                continue
            except Unconfirmed as error:
                raise SendError(
                    "smpp_unconfirmed",
                    f"no submit_sm_resp ({error}){sent}: the SMSC may have taken it",
                    retryable=self.config.resend_unconfirmed and index == 0,
                ) from None
            status = resp.command_status
            if status == 0:
                if not resp.message_id:
                    raise SendError(
                        "smpp_bad_response", f"submit_sm_resp without a message_id{sent}", retryable=False
                    )
                return receipts.canonical(resp.message_id, self.config.message_id_base)
            name = status_name(status)
            if index == 0 and status in TRANSIENT:
                retry_after = self.config.throttle_backoff_seconds if status in THROTTLING else None
                raise SendError(
                    f"smpp_{name.lower()}",
                    f"{name} (0x{status:08X})",
                    retryable=True,
                    retry_after=retry_after,
                )
            if status not in TRANSIENT:
                raise SendError(f"smpp_{name.lower()}", f"{name} (0x{status:08X}){sent}", retryable=False)
            await asyncio.sleep(self.config.throttle_backoff_seconds)
        raise SendError(
            "smpp_partial", f"gave up{sent}: the SMSC kept refusing the next part", retryable=False
        )

    def _on_deliver(self, event: smpp34.DeliverSmEvent) -> None:
        tlvs = {tlv.tag: tlv.value for tlv in event.tlvs}
        if event.esm_class & 0x3C in RECEIPT_TYPES:
            part = receipts.parse(event.short_message, tlvs)
            if part is not None:
                pid = receipts.convert(
                    part.message_id, self.config.receipt_id_base, self.config.message_id_base
                )
                self._report(self.book.received(pid, part), [])
            return
        body = event.short_message or tlvs.get(TLV_MESSAGE_PAYLOAD, b"")
        mo = MoPart(
            event.source_addr, event.source_addr_ton, event.destination_addr, event.dest_addr_ton,
            event.esm_class, event.data_coding, body,
        )  # fmt: skip
        whole = self.mo.add(mo)
        if whole is not None:
            self._report([], [whole])

    def _report(self, found: list[Receipt], inbound: list[InboundMessage]) -> None:
        # Everything due in one loop turn leaves in one call: one transaction, not one per PDU.
        self._receipts += found
        self._inbound += inbound
        if (self._receipts or self._inbound) and not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        found, self._receipts = self._receipts, []
        inbound, self._inbound = self._inbound, []
        loop = asyncio.get_running_loop()
        if found:
            _keep(loop.create_task(self.reports.receipts(self.channel_id, found)))
        if inbound:
            _keep(loop.create_task(self.reports.inbound(self.channel_id, inbound)))

    async def _sweep(self) -> None:
        """Release held receipts and stale partial MO messages; runs until close()."""
        while not self._closed.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closed.wait(), 0.5)
            self._report(self.book.expired(), self.mo.expired())


def _keep(task: asyncio.Task[object]) -> None:
    _background.add(task)
    task.add_done_callback(_background.discard)
