"""A fake SMSC on ``smpp34``'s server: takes binds and submits, sends receipts and MO messages.

Steered in Python: ``throttle(n)``, ``refuse(number)``, ``undeliverable(number)``, ``drop()``,
``inject_mo(...)``, ``receipt_delay``, ``response_delay``, ``receipts``, ``receipt_before_resp``
and the id bases.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import socket
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Literal

import smpp34

from tidings.channels.smpp.codec import UCS2, UDHI, gsm7_octets
from tidings.channels.smpp.nodelay import set_nodelay
from tidings.channels.smpp.session import INBOUND_CAPACITY
from tidings.core.encoding import Encoding, analyse, split_segments
from tidings.simulators.receipts import ReceiptTasks

RECEIPT_TRIES = 8  # about 30 s of retries before a receipt is given up
TLV_RECEIPTED_MESSAGE_ID = 0x001E
TLV_MESSAGE_STATE = 0x0427
_STATE_VALUES = {
    "DELIVRD": 2,
    "EXPIRED": 3,
    "DELETED": 4,
    "UNDELIV": 5,
    "ACCEPTD": 6,
    "UNKNOWN": 7,
    "REJECTD": 8,
}


@dataclass(frozen=True, slots=True)
class Submitted:
    message_id: str  # as answered in submit_sm_resp
    source: str
    destination: str
    short_message: bytes
    data_coding: int
    esm_class: int
    tlvs: dict[int, bytes]
    session_id: str
    at: float


@dataclass
class FakeSmsc:
    host: str = "127.0.0.1"
    port: int = 0  # 0: a free port, chosen at start
    system_id: str = "FAKESMSC"
    receipt_delay: float = 0.0
    response_delay: float = 0.0  # before each submit_sm_resp: a distant or loaded SMSC
    receipts: bool = True
    receipt_before_resp: bool = False  # the receipt is written before submit_sm_resp
    id_base: Literal["decimal", "hex"] = "decimal"
    receipt_id_base: Literal["decimal", "hex"] | None = None  # None: same as id_base
    received_messages: list[Submitted] = field(default_factory=list)
    refused: dict[str, int] = field(default_factory=dict)
    lost: dict[str, str] = field(default_factory=dict)  # number -> err
    binds: int = 0
    _throttle: list[int] = field(default_factory=list)
    _sessions: dict[str, smpp34.Esme] = field(default_factory=dict)
    _server: smpp34.Server | None = None
    _loop_task: asyncio.Task[None] | None = None
    _receipt_tasks: ReceiptTasks = field(default_factory=ReceiptTasks)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1_000_000))

    async def start(self) -> str:
        if not self.port:
            self.port = free_port(self.host)
        self._server = smpp34.Server(
            host=self.host, port=self.port, system_id=self.system_id, inbound_capacity=INBOUND_CAPACITY
        )
        await self._server.start()
        self._loop_task = asyncio.create_task(self._serve())
        return f"{self.host}:{self.port}"

    async def close(self) -> None:
        if self._loop_task is not None:
            self._loop_task.cancel()
        await self._receipt_tasks.cancel()
        if self._server is not None:
            await self._server.stop()

    # -- steering ------------------------------------------------------------------------------
    def throttle(self, count: int, status: int = 0x58) -> None:
        """Answer the next ``count`` submits with ESME_RTHROTTLED (or ``status``)."""
        self._throttle += [status] * count

    def refuse(self, number: str, status: int = 0x0B) -> None:
        """Answer submits to ``number`` (digits, no +) with ESME_RINVDSTADR (or ``status``)."""
        self.refused[number.removeprefix("+")] = status

    def undeliverable(self, number: str, err: str = "001") -> None:
        self.lost[number.removeprefix("+")] = err

    @property
    def sessions(self) -> int:
        return len(self._sessions)

    async def drop(self) -> None:
        """Unbind every session, as an SMSC restarting would."""
        for esme in list(self._sessions.values()):
            with contextlib.suppress(Exception):
                await esme.unbind()
        self._sessions.clear()

    def received(self, destination: str) -> list[Submitted]:
        number = destination.removeprefix("+")
        return [m for m in self.received_messages if m.destination == number]

    async def inject_mo(self, source: str, destination: str, body: str, *, reference: int = 7) -> None:
        """A mobile-originated message, split into UDH-concatenated parts when it is long."""
        esme = self._receiver()
        ucs2 = analyse(body).encoding is Encoding.UCS2
        segments = split_segments(body) or [""]
        for seq, text in enumerate(segments, start=1):
            octets = text.encode("utf-16-be") if ucs2 else gsm7_octets(text)
            esm_class = 0
            if len(segments) > 1:
                octets = bytes((5, 0, 3, reference, len(segments), seq)) + octets
                esm_class = UDHI
            await esme.deliver_sm(
                destination.removeprefix("+"), octets, source_addr=source.removeprefix("+"),
                source_addr_ton=1 if source.startswith("+") else 0,
                dest_addr_ton=1 if destination.startswith("+") else 0,
                esm_class=esm_class, data_coding=UCS2 if ucs2 else 0,
            )  # fmt: skip

    async def send_receipt(
        self, message_id: str, state: str = "DELIVRD", err: str = "000", *, text: bool = True
    ) -> None:
        """A receipt for ``message_id``: in the text (``text``) or in TLVs only."""
        esme = self._receiver()
        body = receipt_text(message_id, state, err)
        tlvs = [
            smpp34.Tlv(TLV_RECEIPTED_MESSAGE_ID, message_id.encode() + b"\x00"),
            smpp34.Tlv(TLV_MESSAGE_STATE, bytes((_STATE_VALUES.get(state, 7),))),
        ]
        await esme.deliver_sm("0", body.encode() if text else b"", esm_class=0x04, tlvs=[] if text else tlvs)

    def spawn_receipt(self, message_id: str, state: str = "DELIVRD", err: str = "000") -> None:
        """A receipt for ``message_id`` handed to the library on the loop's next turn, without
        waiting for its answer (so many can be in flight at once, as from a busy SMSC)."""
        self._receipt_tasks.spawn(self._deliver_receipt("", message_id, state, err, 0))

    # -- serving -------------------------------------------------------------------------------
    def _receiver(self) -> smpp34.Esme:
        for esme in self._sessions.values():
            if esme.can_receive:
                return esme
        raise RuntimeError("no bound session can receive")

    async def _serve(self) -> None:
        assert self._server is not None
        while True:  # until close() cancels it
            event = await self._server.next()
            if isinstance(event, smpp34.Esme):
                set_nodelay(local_port=self.port)
                self._sessions[event.session_id] = event
                self.binds += 1
            elif isinstance(event, smpp34.Unbound):
                self._sessions.pop(event.session_id, None)
            elif isinstance(event, smpp34.SubmitSmEvent):
                self._submit(event)

    def _submit(self, event: smpp34.SubmitSmEvent) -> None:
        if self._throttle:
            event.reject(self._throttle.pop(0))
            return
        if event.destination_addr in self.refused:
            event.reject(self.refused[event.destination_addr])
            return
        number = next(self._ids)
        message_id = format(number, "x") if self.id_base == "hex" else str(number)
        tlvs = {t.tag: t.value for t in event.tlvs}
        self.received_messages.append(
            Submitted(
                message_id, event.source_addr, event.destination_addr, event.short_message,
                event.data_coding, event.esm_class, tlvs, event.session_id, time.time(),
            )
        )  # fmt: skip
        receipt = None
        if self.receipts and event.registered_delivery & 1:
            base = self.receipt_id_base or self.id_base
            receipted = format(number, "x") if base == "hex" else str(number)
            err = self.lost.get(event.destination_addr)
            state = "DELIVRD" if err is None else "UNDELIV"
            receipt = self._deliver_receipt(
                event.session_id, receipted, state, err or "000", self.receipt_delay
            )
        if receipt is not None and self.receipt_before_resp:
            # The receipt goes out first and the answer only once it has been taken.
            self._receipt_tasks.spawn(self._then_accept(receipt, event, message_id))
        elif self.response_delay:
            self._receipt_tasks.spawn(self._accept_later(event, message_id, receipt))
        else:
            event.accept(message_id)
            if receipt is not None:
                self._receipt_tasks.spawn(receipt)

    async def _accept_later(
        self, event: smpp34.SubmitSmEvent, message_id: str, receipt: Coroutine[object, object, None] | None
    ) -> None:
        await asyncio.sleep(self.response_delay)
        event.accept(message_id)
        if receipt is not None:
            await receipt

    async def _then_accept(
        self, receipt: Coroutine[object, object, None], event: smpp34.SubmitSmEvent, message_id: str
    ) -> None:
        await receipt
        event.accept(message_id)

    async def _deliver_receipt(
        self, session_id: str, message_id: str, state: str, err: str, delay: float
    ) -> None:
        """Deliver a receipt; refused or unanswered, retried after a growing pause, as SMSCs
        do (an ESME answers deliver_sm with an error when it cannot take more just now)."""
        if delay:
            await asyncio.sleep(delay)
        text = receipt_text(message_id, state, err).encode()
        pause = 0.2
        for _ in range(RECEIPT_TRIES):
            esme = self._sessions.get(session_id)
            if esme is None or not esme.can_receive:
                esme = next((e for e in self._sessions.values() if e.can_receive), None)
            if esme is not None:
                with contextlib.suppress(smpp34.SmppError):
                    if (await esme.deliver_sm("0", text, esm_class=0x04)).is_success:
                        return
            await asyncio.sleep(pause)
            pause = min(pause * 2, 5.0)


def receipt_text(message_id: str, state: str, err: str) -> str:
    """SMPP 3.4 Appendix B's receipt text, as most SMSCs write it."""
    now = time.strftime("%y%m%d%H%M", time.gmtime())
    return f"id:{message_id} sub:001 dlvrd:001 submit date:{now} done date:{now} stat:{state} err:{err} text:"


def free_port(host: str = "127.0.0.1") -> int:
    """A port free right now (smpp34's server does not report the one it got for port 0)."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])
