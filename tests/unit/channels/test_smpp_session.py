"""SMPP sessions against the smsc SMSC over loopback TCP: binds, the window, reconnects, throttling."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from tidings.channels.base import SendError
from tidings.core.statuses import MessageStatus
from tidings.simulators.smpp import FakeSmsc
from unit.channels.smpp_harness import Reported, bound, channel, eventually, message


async def test_binds_sends_and_reports_the_receipt(smsc: FakeSmsc) -> None:
    reported = Reported()
    adapter = channel(smsc, reported)
    await adapter.start()
    try:
        await bound(adapter)
        result = await adapter.send(message("hello"))
        [submitted] = smsc.received("+27830000001")
        assert result.provider_message_id == submitted.message_id
        assert (submitted.source, submitted.short_message, submitted.data_coding) == ("15550001", b"hello", 0)
        await eventually(lambda: len(reported.receipts) == 1)
        assert reported.receipts[0].provider_message_id == submitted.message_id
        assert reported.receipts[0].status is MessageStatus.DELIVERED
    finally:
        await adapter.close()
    await eventually(lambda: smsc.sessions == 0)  # unbound on close


async def test_submits_are_windowed_and_spread_over_sessions(smsc: FakeSmsc) -> None:
    adapter = channel(smsc, Reported(), sessions=2, window=4)
    await adapter.start()
    try:
        await bound(adapter)
        peak = 0

        async def watch() -> None:
            nonlocal peak
            for _ in range(500):
                peak = max(peak, *(s.outstanding for s in adapter.sessions))
                await asyncio.sleep(0)

        watcher = asyncio.create_task(watch())
        results = await adapter.send_many([message(f"m{n}") for n in range(200)])
        watcher.cancel()
        assert all(r.error is None for r in results)
        assert len({r.provider_message_id for r in results}) == 200
        assert 1 < peak <= 4
        # Spread by load, the window's waiters included: not the first windowful to one session
        # and everything after to the other.
        per_session = Counter(m.session_id for m in smsc.received_messages)
        assert len(per_session) == 2 and min(per_session.values()) >= 60, per_session
    finally:
        await adapter.close()


async def test_reconnects_after_a_drop_without_losing_or_repeating(smsc: FakeSmsc) -> None:
    reported = Reported()
    adapter = channel(smsc, reported, bind_wait_seconds=5)
    await adapter.start()
    try:
        await bound(adapter)
        await adapter.send(message("before"))
        await smsc.drop()
        await eventually(lambda: not adapter.sessions[0].bound or adapter.sessions[0].binds > 1)
        results = await adapter.send_many([message(f"after {n}") for n in range(20)])
        assert all(r.error is None for r in results), [r.error for r in results]
        bodies = [m.short_message for m in smsc.received_messages]
        assert len(bodies) == len(set(bodies)) == 21
        assert adapter.sessions[0].binds == 2
        # The new bind carries the receipts too.
        sent_after = {r.provider_message_id for r in results}
        await eventually(lambda: sent_after <= {r.provider_message_id for r in reported.receipts})
    finally:
        await adapter.close()


async def test_liveness_check_rebinds_a_dead_session(smsc: FakeSmsc) -> None:
    adapter = channel(smsc, Reported())
    await adapter.start()
    try:
        await bound(adapter)
        client = adapter.sessions[0].transmitter.client
        assert client is not None and await client.is_alive()
        await client.stop()  # what the core does when enquire_link goes unanswered
        await eventually(lambda: adapter.sessions[0].binds == 2 and adapter.sessions[0].bound)
        assert (await adapter.send(message())).provider_message_id
    finally:
        await adapter.close()


async def test_a_dead_bind_found_by_a_failed_submit_takes_no_more(smsc: FakeSmsc) -> None:
    """Only the submits outstanding when the bind died are unconfirmed; those still waiting for
    the window are refused unsent (retryable), not written to a dead bind one after another."""
    adapter = channel(smsc, Reported(), window=2, bind_wait_seconds=0.01)
    await adapter.start()
    try:
        await bound(adapter)
        client = adapter.sessions[0].transmitter.client
        assert client is not None
        await client.stop()  # the core's bind is gone; the reader has not seen it yet
        results = await adapter.send_many([message(f"m{n}") for n in range(50)])
        errors = [r.error for r in results]
        assert all(e is not None for e in errors)
        unconfirmed = [e for e in errors if e is not None and e.code == "smpp_unconfirmed"]
        assert len(unconfirmed) <= 2
        assert all(e.retryable for e in errors if e is not None and e.code != "smpp_unconfirmed")
    finally:
        await adapter.close()


async def test_without_a_bind_a_send_is_requeued_unsent() -> None:
    smsc = FakeSmsc()  # never started: nothing listens
    smsc.port = 1
    adapter = channel(smsc, Reported(), bind_wait_seconds=0.2)
    await adapter.start()
    try:
        with pytest.raises(SendError) as raised:
            await adapter.send(message())
        assert raised.value.retryable and raised.value.code == "smpp_not_bound"
    finally:
        await adapter.close()


async def test_throttling_pauses_the_session_and_asks_for_a_retry(smsc: FakeSmsc) -> None:
    adapter = channel(smsc, Reported())
    await adapter.start()
    try:
        await bound(adapter)
        smsc.throttle(1)
        with pytest.raises(SendError) as raised:
            await adapter.send(message())
        assert raised.value.retryable and raised.value.code == "smpp_esme_rthrottled"
        assert raised.value.retry_after == pytest.approx(0.05)
        assert adapter.sessions[0].paused_until > 0
        smsc.throttle(1, status=0x14)
        with pytest.raises(SendError) as queue_full:
            await adapter.send(message())
        assert queue_full.value.code == "smpp_esme_rmsgqful" and queue_full.value.retryable
        assert (await adapter.send(message())).provider_message_id
    finally:
        await adapter.close()


async def test_permanent_statuses_fail_with_their_name(smsc: FakeSmsc) -> None:
    adapter = channel(smsc, Reported())
    await adapter.start()
    try:
        await bound(adapter)
        smsc.refuse("+27830000009")
        with pytest.raises(SendError) as raised:
            await adapter.send(message(to="+27830000009"))
        assert not raised.value.retryable
        assert raised.value.code == "smpp_esme_rinvdstadr" and "ESME_RINVDSTADR" in raised.value.message
    finally:
        await adapter.close()


async def test_transmitter_and_receiver_binds(smsc: FakeSmsc) -> None:
    reported = Reported()
    adapter = channel(smsc, reported, bind_mode="transmitter_receiver")
    await adapter.start()
    try:
        await bound(adapter)
        await eventually(lambda: smsc.sessions == 2)
        await adapter.send(message())
        await eventually(lambda: len(reported.receipts) == 1)
    finally:
        await adapter.close()
