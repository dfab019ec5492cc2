"""Bodies into submit_sm parts (data coding, UDH concatenation) and back, and command status names.

Hand-written because ``smpp34`` is a PDU codec: it carries ``short_message`` bytes and TLVs as
given and knows neither GSM 03.38 text, concatenation headers (3GPP TS 23.040 §9.2.3.24.1) nor
the names of most command statuses (SMPP 3.4 §5.1.3).
"""

from __future__ import annotations

from dataclasses import dataclass

from tidings.core.encoding import GSM7_BASIC, GSM7_EXTENSION, Encoding, analyse, split_segments

GSM7 = 0
IA5 = 1
LATIN1 = 3
UCS2 = 8
UDHI = 0x40  # esm_class bit: short_message starts with a user data header
RECEIPT_TYPES = (0x04, 0x08)  # esm_class message type: SMSC delivery receipt, SME ack
TLV_MESSAGE_PAYLOAD = 0x0424

_TO_SEPTET = {ch: i for i, ch in enumerate(GSM7_BASIC) if ch != "\x1b"}
_ESCAPE = 0x1B
_FROM_SEPTET = {i: ch for ch, i in _TO_SEPTET.items()}
_FROM_EXTENSION = {v: k for k, v in GSM7_EXTENSION.items()}

# SMPP 3.4 §5.1.3 command_status values, by name (for error codes and logs).
STATUS_NAMES = {
    0x00: "ESME_ROK", 0x01: "ESME_RINVMSGLEN", 0x02: "ESME_RINVCMDLEN", 0x03: "ESME_RINVCMDID",
    0x04: "ESME_RINVBNDSTS", 0x05: "ESME_RALYBND", 0x06: "ESME_RINVPRTFLG",
    0x07: "ESME_RINVREGDLVFLG", 0x08: "ESME_RSYSERR", 0x0A: "ESME_RINVSRCADR",
    0x0B: "ESME_RINVDSTADR", 0x0C: "ESME_RINVMSGID", 0x0D: "ESME_RBINDFAIL",
    0x0E: "ESME_RINVPASWD", 0x0F: "ESME_RINVSYSID", 0x11: "ESME_RCANCELFAIL",
    0x13: "ESME_RREPLACEFAIL", 0x14: "ESME_RMSGQFUL", 0x15: "ESME_RINVSERTYP",
    0x33: "ESME_RINVNUMDESTS", 0x34: "ESME_RINVDLNAME", 0x40: "ESME_RINVDESTFLAG",
    0x42: "ESME_RINVSUBREP", 0x43: "ESME_RINVESMCLASS", 0x44: "ESME_RCNTSUBDL",
    0x45: "ESME_RSUBMITFAIL", 0x48: "ESME_RINVSRCTON", 0x49: "ESME_RINVSRCNPI",
    0x50: "ESME_RINVDSTTON", 0x51: "ESME_RINVDSTNPI", 0x53: "ESME_RINVSYSTYP",
    0x54: "ESME_RINVREPFLAG", 0x55: "ESME_RINVNUMMSGS", 0x58: "ESME_RTHROTTLED",
    0x61: "ESME_RINVSCHED", 0x62: "ESME_RINVEXPIRY", 0x63: "ESME_RINVDFTMSGID",
    0x64: "ESME_RX_T_APPN", 0x65: "ESME_RX_P_APPN", 0x66: "ESME_RX_R_APPN",
    0x67: "ESME_RQUERYFAIL", 0xC0: "ESME_RINVOPTPARSTREAM", 0xC1: "ESME_ROPTPARNOTALLWD",
    0xC2: "ESME_RINVPARLEN", 0xC3: "ESME_RMISSINGOPTPARAM", 0xC4: "ESME_RINVOPTPARAMVAL",
    0xFE: "ESME_RDELIVERYFAILURE", 0xFF: "ESME_RUNKNOWNERR",
}  # fmt: skip
THROTTLING = frozenset({0x14, 0x58})  # ESME_RMSGQFUL, ESME_RTHROTTLED: slow down and retry
# Statuses that say "the SMSC could not take it now", not "this message is wrong".
TRANSIENT = THROTTLING | {0x08, 0x64}  # ESME_RSYSERR, ESME_RX_T_APPN


def status_name(status: int) -> str:
    return STATUS_NAMES.get(status, f"0x{status:08X}")


@dataclass(frozen=True, slots=True)
class Part:
    """One submit_sm: its short_message octets and how they are to be read."""

    short_message: bytes
    data_coding: int
    esm_class: int = 0
    payload: bytes | None = None  # message_payload TLV instead of short_message


def gsm7_octets(text: str) -> bytes:
    """GSM 03.38 default alphabet, one septet per octet (SMPP sends it unpacked)."""
    out = bytearray()
    for ch in text:
        septet = _TO_SEPTET.get(ch)
        if septet is not None:
            out.append(septet)
        else:
            out += bytes((_ESCAPE, GSM7_EXTENSION[ch]))
    return bytes(out)


def _encode(text: str, data_coding: int) -> bytes:
    if data_coding == UCS2:
        return text.encode("utf-16-be")
    if data_coding == LATIN1:
        return text.encode("latin-1")
    if data_coding == IA5:
        return text.encode("ascii")
    return gsm7_octets(text)


def data_coding_for(body: str, encoding: str, default_data_coding: int) -> int:
    """8 for UCS-2 bodies; else the channel's default coding where the body fits it, else 0."""
    if encoding == Encoding.UCS2.value or analyse(body).encoding is Encoding.UCS2:
        return UCS2
    if default_data_coding in (LATIN1, IA5):
        try:
            body.encode("latin-1" if default_data_coding == LATIN1 else "ascii")
        except UnicodeEncodeError:
            return GSM7
        return default_data_coding
    return GSM7


def build_parts(body: str, data_coding: int, *, reference: int, payload: bool) -> list[Part]:
    """The submit_sm parts of ``body``: one, or concatenated parts split by the segment rules.

    ``payload``: the whole body in one ``message_payload`` TLV, the SMSC splits it.
    """
    segments = split_segments(body) or [""]
    if payload and len(segments) > 1:
        return [Part(b"", data_coding, payload=_encode(body, data_coding))]
    if len(segments) == 1:
        return [Part(_encode(segments[0], data_coding), data_coding)]
    total = len(segments)
    return [
        # IEI 0x00: concatenated short messages, 8-bit reference (TS 23.040 §9.2.3.24.1).
        Part(
            bytes((5, 0x00, 3, reference & 0xFF, total, seq)) + _encode(text, data_coding), data_coding, UDHI
        )
        for seq, text in enumerate(segments, start=1)
    ]


@dataclass(frozen=True, slots=True)
class Concatenation:
    reference: int
    total: int
    seq: int


def split_udh(short_message: bytes) -> tuple[Concatenation | None, bytes]:
    """The concatenation element of a user data header (8- or 16-bit reference) and the rest."""
    if not short_message:
        return None, short_message
    end = 1 + short_message[0]
    header, rest = short_message[1:end], short_message[end:]
    found = None
    at = 0
    while at + 2 <= len(header):  # bounded by the header's length
        iei, length = header[at], header[at + 1]
        value = header[at + 2 : at + 2 + length]
        if iei == 0x00 and length == 3:
            found = Concatenation(value[0], value[1], value[2])
        elif iei == 0x08 and length == 4:
            found = Concatenation(int.from_bytes(value[:2], "big"), value[2], value[3])
        at += 2 + length
    return found, rest


def decode_text(octets: bytes, data_coding: int) -> str:
    """An MO body as text; unknown codings are read as Latin-1 so nothing is dropped."""
    if data_coding == UCS2:
        return octets.decode("utf-16-be", errors="replace")
    if data_coding in (GSM7, 0x10, 0xF0):
        out: list[str] = []
        escaped = False
        for octet in octets:
            if escaped:
                out.append(_FROM_EXTENSION.get(octet, " "))
                escaped = False
            elif octet == _ESCAPE:
                escaped = True
            else:
                out.append(_FROM_SEPTET.get(octet & 0x7F, "?"))
        return "".join(out)
    if data_coding == IA5:
        return octets.decode("ascii", errors="replace")
    return octets.decode("latin-1")


def address_ton_npi(address: str) -> tuple[str, int, int]:
    """SMPP address fields of a sender: +digits international (1/1), letters alphanumeric (5/0)."""
    if address.startswith("+") and address[1:].isdigit():
        return address[1:], 1, 1
    if address.isdigit():
        return address, 0, 1
    return address, 5, 0


def e164(address: str, ton: int) -> str:
    """An SMPP address as the gateway writes numbers: international ones get their ``+``."""
    if ton == 1 and address.isdigit():
        return "+" + address
    return address
