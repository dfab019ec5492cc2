"""The fake SMSC speaks SMPP to a plain smpp34 client: binds, submits, receipts, MO, steering."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys

import smpp34

from tidings.simulators.smpp import FakeSmsc, free_port


async def test_submits_receipts_throttling_refusals_and_mo() -> None:
    fake = FakeSmsc(id_base="hex")
    await fake.start()
    client = smpp34.Client(host="127.0.0.1", port=fake.port, system_id="esme", password="pw")
    try:
        smsc = await client.connect()
        ok = await smsc.submit_sm("27830000001", b"hi", source_addr="1", registered_delivery=1)
        assert ok.is_success and ok.message_id == format(1_000_000, "x")
        receipt = await asyncio.wait_for(smsc.next(), 5)
        assert isinstance(receipt, smpp34.DeliverSmEvent) and receipt.esm_class == 0x04
        assert receipt.short_message.startswith(f"id:{ok.message_id} ".encode())
        assert b"stat:DELIVRD err:000" in receipt.short_message

        fake.throttle(1)
        fake.refuse("+27830000002")
        throttled = await smsc.submit_sm("27830000001", b"x")
        refused = await smsc.submit_sm("27830000002", b"x")
        assert (throttled.command_status, refused.command_status) == (0x58, 0x0B)
        assert [m.message_id for m in fake.received("+27830000001")] == [ok.message_id]

        await fake.inject_mo("+27830000003", "+15550001", "é" * 200)
        parts = [await asyncio.wait_for(smsc.next(), 5) for _ in range(2)]
        assert all(isinstance(p, smpp34.DeliverSmEvent) and p.esm_class == 0x40 for p in parts)

        await fake.drop()
        assert isinstance(await asyncio.wait_for(smsc.next(), 5), smpp34.Disconnected)
    finally:
        await client.stop()
        await fake.close()


async def test_a_receipt_not_taken_is_delivered_again_on_the_next_bind() -> None:
    """An ESME that cannot take more deliver_sm refuses them (smpp34's core drops the bind); the
    fake, like an SMSC, keeps each receipt not taken and delivers it on a later bind."""
    fake = FakeSmsc()
    await fake.start()
    ids = {f"id:{1_000_000 + n}".encode() for n in range(5)}
    got: set[bytes] = set()
    full = smpp34.Client(host="127.0.0.1", port=fake.port, system_id="e", password="p", inbound_capacity=1)
    fresh = smpp34.Client(host="127.0.0.1", port=fake.port, system_id="e", password="p")
    try:
        smsc = await full.connect()
        for n in range(5):
            await smsc.submit_sm(f"2783000000{n}", b"hi")  # no receipt asked: sent below at once
        for n in range(5):
            fake.spawn_receipt(str(1_000_000 + n))
        await asyncio.sleep(0.3)  # nothing read: past the first, the client's core refuses them
        with contextlib.suppress(TimeoutError):
            while isinstance(event := await asyncio.wait_for(smsc.next(), 2), smpp34.DeliverSmEvent):
                got.add(event.short_message.split()[0])
        assert got < ids  # some were refused
        smsc = await fresh.connect()
        while got != ids:
            event = await asyncio.wait_for(smsc.next(), 15)
            assert isinstance(event, smpp34.DeliverSmEvent)
            got.add(event.short_message.split()[0])
    finally:
        await full.stop()
        await fresh.stop()
        await fake.close()


async def test_the_cli_serves_a_fake_smsc() -> None:
    port = free_port()
    process = _spawn(port)
    try:
        for _ in range(100):  # up to 10 s for the process to listen
            client = smpp34.Client(host="127.0.0.1", port=port, system_id="esme", password="pw")
            try:
                smsc = await client.connect()
                break
            except smpp34.SmppError:
                await asyncio.sleep(0.1)
        else:
            raise AssertionError("the fake SMSC did not start")
        assert (await smsc.submit_sm("1", b"x")).is_success
        await smsc.unbind()
        await client.stop()
    finally:
        process.terminate()
        process.wait(10)


def _spawn(port: int) -> subprocess.Popen[bytes]:
    command = [
        sys.executable,
        "-m",
        "tidings.cli",
        "simulate",
        "smpp",
        "--port",
        str(port),
        "--receipt-delay",
        "0",
    ]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def test_a_response_delay_holds_each_answer_and_its_receipt() -> None:
    fake = FakeSmsc(response_delay=0.5)
    await fake.start()
    client = smpp34.Client(host="127.0.0.1", port=fake.port, system_id="esme", password="pw")
    try:
        smsc = await client.connect()
        submit = asyncio.ensure_future(smsc.submit_sm("27830000001", b"hi", registered_delivery=1))
        await asyncio.sleep(0.1)
        assert not submit.done()  # taken (recorded) but not yet answered
        assert len(fake.received_messages) == 1
        answered = await asyncio.wait_for(submit, 5)
        assert answered.is_success
        receipt = await asyncio.wait_for(smsc.next(), 5)
        assert isinstance(receipt, smpp34.DeliverSmEvent)
        assert receipt.short_message.startswith(f"id:{answered.message_id} ".encode())
    finally:
        await client.stop()
        await fake.close()
