"""Mobile-originated deliver_sm into inbound messages, concatenated parts reassembled first.

Parts are joined as octets and decoded once, so a character split across parts survives; a
message whose parts do not all arrive within ``mo_reassembly_seconds`` is delivered with what
came, marked ``incomplete``, rather than dropped.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from tidings.channels.base import InboundMessage
from tidings.channels.smpp.codec import UDHI, decode_text, e164, split_udh

MAX_PENDING = 10_000  # partial MO messages held at once; the oldest are flushed first


@dataclass(frozen=True, slots=True)
class MoPart:
    source: str
    source_ton: int
    destination: str
    dest_ton: int
    esm_class: int
    data_coding: int
    short_message: bytes


@dataclass
class _Partial:
    started: float
    total: int
    first: MoPart
    parts: dict[int, bytes] = field(default_factory=dict)


@dataclass
class Reassembler:
    timeout_seconds: float
    pending: dict[tuple[str, str, int, int], _Partial] = field(default_factory=dict)

    def add(self, part: MoPart) -> InboundMessage | None:
        """The whole message once its last part is in; None while parts are missing."""
        concatenation, octets = (
            split_udh(part.short_message) if part.esm_class & UDHI else (None, part.short_message)
        )
        if concatenation is None or concatenation.total <= 1:
            return _message(part, octets, parts=1)
        key = (part.source, part.destination, concatenation.reference, concatenation.total)
        partial = self.pending.setdefault(key, _Partial(time.monotonic(), concatenation.total, part))
        partial.parts[concatenation.seq] = octets
        if len(partial.parts) < partial.total:
            return None
        del self.pending[key]
        return _joined(partial)

    def expired(self) -> list[InboundMessage]:
        """Partial messages past the timeout (or over the cap), delivered with what arrived."""
        limit = time.monotonic() - self.timeout_seconds
        stale = [k for k, p in self.pending.items() if p.started < limit]
        overflow = max(0, len(self.pending) - len(stale) - MAX_PENDING)
        stale += [k for k in self.pending if k not in stale][:overflow]
        return [_joined(self.pending.pop(key)) for key in stale]


def _joined(partial: _Partial) -> InboundMessage:
    octets = b"".join(partial.parts[seq] for seq in sorted(partial.parts))
    message = _message(partial.first, octets, parts=partial.total)
    if len(partial.parts) < partial.total:
        message.extra["incomplete"] = True
    return message


def _message(part: MoPart, octets: bytes, *, parts: int) -> InboundMessage:
    extra: dict[str, object] = {"data_coding": part.data_coding}
    if parts > 1:
        extra["parts"] = parts
    return InboundMessage(
        sender=e164(part.source, part.source_ton),
        recipient=e164(part.destination, part.dest_ton),
        body=decode_text(octets, part.data_coding),
        extra=extra,
    )
