"""SMPP bodies and receipts against the smsc SMSC: parts with UDH, codings, id bases, MO parts."""

from __future__ import annotations

import pytest

from tidings.channels.smpp.codec import decode_text
from tidings.core.statuses import MessageStatus
from tidings.simulators.smpp import FakeSmsc
from unit.channels.smpp_harness import Reported, bound, channel, eventually, message


async def test_long_messages_go_as_udh_parts_and_are_delivered_when_all_parts_are(smsc: FakeSmsc) -> None:
    reported = Reported()
    smsc.receipt_delay = 0.05
    adapter = channel(smsc, reported)
    await adapter.start()
    try:
        await bound(adapter)
        body = "x" * 150 + "{" * 10 + "y" * 150  # extension characters cost two septets
        result = await adapter.send(message(body))
        parts = smsc.received("+27830000001")
        assert len(parts) == 3 and result.provider_message_id == parts[0].message_id
        headers = [p.short_message[:6] for p in parts]
        reference = headers[0][3]
        assert headers == [bytes((5, 0, 3, reference, 3, seq)) for seq in (1, 2, 3)]
        assert all(p.esm_class & 0x40 for p in parts)
        assert "".join(decode_text(p.short_message[6:], 0) for p in parts) == body
        await eventually(lambda: len(reported.receipts) == 1)
        await adapter.send(message("short"))
        await eventually(lambda: len(reported.receipts) == 2)
        assert reported.receipts[0].provider_message_id == parts[0].message_id
    finally:
        await adapter.close()


async def test_one_undelivered_part_makes_the_message_undelivered(smsc: FakeSmsc) -> None:
    reported = Reported()
    smsc.undeliverable("+27830000002", err="011")
    adapter = channel(smsc, reported)
    await adapter.start()
    try:
        await bound(adapter)
        result = await adapter.send(message("z" * 200, to="+27830000002"))
        await eventually(lambda: len(reported.receipts) == 1)
        [receipt] = reported.receipts
        assert (receipt.provider_message_id, receipt.status) == (
            result.provider_message_id,
            MessageStatus.UNDELIVERED,
        )
        assert receipt.code == "smpp_undeliv_011"
    finally:
        await adapter.close()


async def test_ucs2_latin1_and_message_payload(smsc: FakeSmsc) -> None:
    adapter = channel(smsc, Reported(), default_data_coding=3, long_messages="message_payload")
    await adapter.start()
    try:
        await bound(adapter)
        await adapter.send(message("привет 👋", to="+1"))
        await adapter.send(message("café à la carte", to="+2"))
        await adapter.send(message("Δ is not Latin-1", to="+3"))
        await adapter.send(message("é" * 300, to="+4"))
        [ucs2], [latin1], [gsm], [payload] = (smsc.received(n) for n in ("1", "2", "3", "4"))
        assert (ucs2.data_coding, ucs2.short_message) == (8, "привет 👋".encode("utf-16-be"))
        assert (latin1.data_coding, latin1.short_message) == (3, "café à la carte".encode("latin-1"))
        assert gsm.data_coding == 0 and gsm.short_message[0] == 0x10  # Δ in GSM 03.38
        assert payload.short_message == b"" and payload.tlvs[0x0424] == ("é" * 300).encode("latin-1")
    finally:
        await adapter.close()


async def test_a_receipt_before_the_submit_sm_resp_is_matched(smsc: FakeSmsc) -> None:
    reported = Reported()
    smsc.receipt_before_resp = True
    adapter = channel(smsc, reported)
    await adapter.start()
    try:
        await bound(adapter)
        single = await adapter.send(message("one"))
        await eventually(lambda: len(reported.receipts) == 1)
        assert reported.receipts[0].provider_message_id == single.provider_message_id
        double = await adapter.send(message("w" * 300))
        await eventually(lambda: len(reported.receipts) == 2)
        assert reported.receipts[1].provider_message_id == double.provider_message_id
    finally:
        await adapter.close()


@pytest.mark.parametrize(
    ("id_base", "receipt_base"), [("hex", "decimal"), ("decimal", "hex"), ("hex", "hex")]
)
async def test_receipt_ids_in_another_base_are_matched(
    smsc: FakeSmsc, id_base: str, receipt_base: str
) -> None:
    reported = Reported()
    smsc.id_base = id_base  # type: ignore[assignment]
    smsc.receipt_id_base = receipt_base  # type: ignore[assignment]
    adapter = channel(smsc, reported, message_id_base=id_base, receipt_id_base=receipt_base)
    await adapter.start()
    try:
        await bound(adapter)
        result = await adapter.send(message("abc"))
        await eventually(lambda: len(reported.receipts) == 1)
        assert reported.receipts[0].provider_message_id == result.provider_message_id
    finally:
        await adapter.close()


async def test_tlv_only_receipts_and_unknown_ids_are_reported_after_the_hold(smsc: FakeSmsc) -> None:
    reported = Reported()
    smsc.receipts = False
    adapter = channel(smsc, reported, receipt_hold_seconds=0.2)
    await adapter.start()
    try:
        await bound(adapter)
        result = await adapter.send(message())
        assert result.provider_message_id is not None
        await smsc.send_receipt(result.provider_message_id, "EXPIRED", text=False)
        await smsc.send_receipt("999", "DELIVRD")  # never submitted here (another process, a restart)
        await eventually(lambda: len(reported.receipts) == 1)
        assert reported.receipts[0].status is MessageStatus.UNDELIVERED
        await eventually(lambda: len(reported.receipts) == 2)
        assert reported.receipts[1].provider_message_id == "999"
    finally:
        await adapter.close()


async def test_mo_messages_are_reassembled_before_they_are_reported(smsc: FakeSmsc) -> None:
    reported = Reported()
    adapter = channel(smsc, reported)
    await adapter.start()
    try:
        await bound(adapter)
        await eventually(lambda: smsc.sessions == 1)
        long = "Ünïcode ✓ " * 20
        await smsc.inject_mo("+27830000005", "+15550001", "hi there")
        await smsc.inject_mo("+27830000006", "+15550001", long)
        await eventually(lambda: len(reported.inbound) == 2)
        short, whole = reported.inbound
        assert (short.sender, short.recipient, short.body) == ("+27830000005", "+15550001", "hi there")
        assert whole.body == long and whole.extra["parts"] == 3
    finally:
        await adapter.close()
