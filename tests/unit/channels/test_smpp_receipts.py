"""Receipt parsing, id bases and part tracking, without a socket."""

from __future__ import annotations

from tidings.channels.smpp import receipts
from tidings.channels.smpp.codec import build_parts, split_udh
from tidings.channels.smpp.inbound import MoPart, Reassembler
from tidings.core.statuses import MessageStatus


def test_receipt_text_and_tlvs() -> None:
    text = b"id:0A1B sub:001 dlvrd:000 submit date:2401011200 done date:2401011201 stat:UNDELIV err:034"
    assert receipts.parse(text, {}) == receipts.PartReceipt("0A1B", "UNDELIV", "034")
    tlvs = {receipts.TLV_RECEIPTED_MESSAGE_ID: b"77\x00", receipts.TLV_MESSAGE_STATE: bytes((2,))}
    assert receipts.parse(b"", tlvs) == receipts.PartReceipt("77", "DELIVRD", None)
    assert receipts.parse(b"no id here", {}) is None


def test_ids_convert_between_bases() -> None:
    assert receipts.convert("2571", "decimal", "hex") == "a0b"
    assert receipts.convert("0A0B", "hex", "decimal") == "2571"
    assert receipts.convert("00A0B", "hex", "hex") == "a0b"
    assert receipts.convert("AbC", "opaque", "opaque") == "AbC"
    assert receipts.convert("not-a-number", "decimal", "hex") == "not-a-number"


def test_intermediate_states_are_dropped() -> None:
    assert receipts.to_receipt("1", receipts.PartReceipt("1", "ENROUTE", None)) is None
    assert receipts.to_receipt("1", receipts.PartReceipt("1", "REJECTD", "000")) == receipts.Receipt(
        "1", MessageStatus.FAILED, "smpp_rejectd", "stat:REJECTD err:000"
    )


def test_a_multipart_message_settles_once_every_part_has_a_receipt() -> None:
    book = receipts.ReceiptBook(hold_seconds=10)
    delivered = receipts.PartReceipt("x", "DELIVRD", "000")
    assert book.received("p2", delivered) == []  # before its submit_sm_resp: held
    assert book.submitted(["p1", "p2", "p3"]) == []
    assert book.received("p1", delivered) == []
    [receipt] = book.received("p3", delivered)
    assert (receipt.provider_message_id, receipt.status) == ("p1", MessageStatus.DELIVERED)
    assert book.groups == {} and book.held == {}


def test_incomplete_mo_messages_are_delivered_after_the_timeout() -> None:
    mo = Reassembler(timeout_seconds=0)
    [first, _] = build_parts("a" * 200, 0, reference=9, payload=False)
    assert split_udh(first.short_message)[0] is not None
    assert mo.add(MoPart("2783", 1, "1555", 1, first.esm_class, 0, first.short_message)) is None
    [partial] = mo.expired()
    assert partial.sender == "+2783" and partial.body == "a" * 153 and partial.extra["incomplete"] is True
