"""Delivery receipts from deliver_sm, and matching them to messages across parts and id bases.

The receipt text format is SMPP 3.4 Appendix B ("id:… sub:… dlvrd:… submit date:… done date:…
stat:… err:… text:…"), vendor-specific and parsed leniently; the ``receipted_message_id`` and
``message_state`` TLVs (§5.3.2.12, §5.3.2.35) win when present.
"""

from __future__ import annotations

import re
import time
from collections import OrderedDict
from dataclasses import dataclass, field

from tidings.channels.base import Receipt
from tidings.channels.smpp.config import IdBase
from tidings.core.statuses import MessageStatus

TLV_RECEIPTED_MESSAGE_ID = 0x001E
TLV_MESSAGE_STATE = 0x0427
TLV_NETWORK_ERROR_CODE = 0x0423
_FIELD = re.compile(r"(id|stat|err):(\S*)", re.IGNORECASE)
# message_state values (§5.2.28) as the receipt text spells them.
_STATES = {
    1: "ENROUTE",
    2: "DELIVRD",
    3: "EXPIRED",
    4: "DELETED",
    5: "UNDELIV",
    6: "ACCEPTD",
    7: "UNKNOWN",
    8: "REJECTD",
}
# Final states only; ENROUTE/ACCEPTD are intermediate and dropped (the send already said "sent").
STATUSES = {
    "DELIVRD": MessageStatus.DELIVERED,
    "UNDELIV": MessageStatus.UNDELIVERED,
    "EXPIRED": MessageStatus.UNDELIVERED,
    "DELETED": MessageStatus.UNDELIVERED,
    "UNKNOWN": MessageStatus.UNDELIVERED,
    "REJECTD": MessageStatus.FAILED,
}
MAX_GROUPS = 200_000  # multi-part messages tracked in memory per channel; the oldest go first


@dataclass(frozen=True, slots=True)
class PartReceipt:
    message_id: str  # as the receipt gives it
    state: str  # DELIVRD, UNDELIV, ...
    error: str | None


def parse(text: bytes, tlvs: dict[int, bytes]) -> PartReceipt | None:
    """The receipt in a deliver_sm, or None when it names no message id."""
    found = {k.lower(): v for k, v in _FIELD.findall(text.decode("latin-1"))}
    message_id = tlvs.get(TLV_RECEIPTED_MESSAGE_ID, b"").rstrip(b"\x00").decode("latin-1") or found.get("id")
    if not message_id:
        return None
    state_value = tlvs.get(TLV_MESSAGE_STATE)
    state = _STATES.get(state_value[0], "UNKNOWN") if state_value else found.get("stat", "UNKNOWN").upper()
    error = found.get("err")
    if error is None and TLV_NETWORK_ERROR_CODE in tlvs:
        error = tlvs[TLV_NETWORK_ERROR_CODE].hex()
    return PartReceipt(message_id, state, error)


def canonical(message_id: str, base: IdBase) -> str:
    """An id in one form per value: hex lower-case and decimal without leading zeros."""
    try:
        if base == "hex":
            return format(int(message_id, 16), "x")
        if base == "decimal":
            return str(int(message_id, 10))
    except ValueError:
        pass
    return message_id


def convert(message_id: str, receipt_base: IdBase, message_base: IdBase) -> str:
    """A receipt's id in the base the submit_sm_resp ids were recorded in."""
    if receipt_base == "opaque" or message_base == "opaque" or receipt_base == message_base:
        return canonical(message_id, message_base)
    try:
        value = int(message_id, 16 if receipt_base == "hex" else 10)
    except ValueError:
        return message_id
    return format(value, "x") if message_base == "hex" else str(value)


def to_receipt(provider_id: str, part: PartReceipt) -> Receipt | None:
    status = STATUSES.get(part.state)
    if status is None:
        return None
    if status is MessageStatus.DELIVERED:
        return Receipt(provider_id, status)
    code = f"smpp_{part.state.lower()}"
    if part.error and part.error.strip("0"):
        code += f"_{part.error}"
    return Receipt(provider_id, status, code, f"stat:{part.state} err:{part.error or '-'}")


@dataclass
class _Group:
    first_id: str
    waiting: set[str]
    worst: Receipt | None = None


@dataclass
class ReceiptBook:
    """Part ids of multi-part messages and receipts that came before their submit_sm_resp.

    In memory per channel: after a restart a part's receipt is reported under its own id, so the
    first part's receipt (its id is the message's provider id) settles the message and the
    others are kept unmatched by the gateway.
    """

    hold_seconds: float
    groups: OrderedDict[str, _Group] = field(default_factory=OrderedDict)
    held: OrderedDict[str, tuple[float, PartReceipt]] = field(default_factory=OrderedDict)
    # Single-part ids answered lately: their receipts go out at once instead of being held.
    recent: OrderedDict[str, None] = field(default_factory=OrderedDict)

    def submitted(self, part_ids: list[str]) -> list[Receipt]:
        """A message's parts were all answered; receipts they settle (held ones that came early)."""
        if len(part_ids) > 1:
            group = _Group(part_ids[0], set(part_ids))
            for part_id in part_ids:
                self.groups[part_id] = group
            while len(self.groups) > MAX_GROUPS:
                self.groups.popitem(last=False)
        elif part_ids and part_ids[0] not in self.held:
            self.recent[part_ids[0]] = None
            while len(self.recent) > MAX_GROUPS:
                self.recent.popitem(last=False)
        out: list[Receipt] = []
        for part_id in part_ids:
            early = self.held.pop(part_id, None)
            if early is not None:
                out += self.received(part_id, early[1], known=True)
        return out

    def received(self, part_id: str, part: PartReceipt, *, known: bool = False) -> list[Receipt]:
        """A part's receipt; the message's receipt once every part has one."""
        group = self.groups.get(part_id)
        if group is None:
            answered = part_id in self.recent
            self.recent.pop(part_id, None)
            if not known and not answered and self.hold_seconds > 0:
                self.held[part_id] = (time.monotonic(), part)
                return []
            receipt = to_receipt(part_id, part)
            return [receipt] if receipt else []
        receipt = to_receipt(group.first_id, part)
        if receipt is None:
            return []
        group.waiting.discard(part_id)
        del self.groups[part_id]
        # The message is delivered only if every part is; else the first part that was not.
        if group.worst is None or group.worst.status is MessageStatus.DELIVERED:
            group.worst = receipt
        return [group.worst] if not group.waiting else []

    def expired(self) -> list[Receipt]:
        """Held receipts whose submit_sm_resp never came here: to the gateway as they are."""
        limit = time.monotonic() - self.hold_seconds
        out: list[Receipt] = []
        while self.held:  # bounded: each turn removes one
            part_id, (at, part) = next(iter(self.held.items()))
            if at > limit:
                break
            del self.held[part_id]
            receipt = to_receipt(part_id, part)
            if receipt:
                out.append(receipt)
        return out
