"""Nagle off on the SMPP sockets, and a receipt burst that outruns Python without losing any."""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path

import pytest

from tidings.channels.smpp.nodelay import set_nodelay, tcp_sockets
from tidings.simulators.smpp import FakeSmsc
from unit.channels.smpp_harness import Reported, bound, channel, eventually, message


def _nodelay_by_local_port(peer_port: int) -> dict[int, int]:
    """TCP_NODELAY of each of this process's TCP sockets connected to ``peer_port``."""
    found: dict[int, int] = {}
    for sock in tcp_sockets():
        try:
            if sock.getpeername()[1] == peer_port:
                found[sock.getsockname()[1]] = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        except OSError:
            continue
    return found


pytestmark = pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc (Linux)")


def test_set_nodelay_touches_only_the_matching_sockets() -> None:
    with socket.create_server(("127.0.0.1", 0)) as server, socket.create_server(("127.0.0.1", 0)) as other:
        port, other_port = server.getsockname()[1], other.getsockname()[1]
        with (
            socket.create_connection(("127.0.0.1", port)) as ours,
            socket.create_connection(("127.0.0.1", other_port)) as theirs,
        ):
            accepted, _ = server.accept()
            with accepted:
                assert set_nodelay(peer_port=port) == 1
                assert ours.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
                assert theirs.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0
                assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0
                assert set_nodelay(local_port=port) == 2  # the listener and the accepted socket
                assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
                ours.sendall(b"still open")  # the duplicate was closed, the socket was not
                assert accepted.recv(64) == b"still open"


async def test_both_ends_of_a_bind_send_without_nagle(smsc: FakeSmsc) -> None:
    adapter = channel(smsc, Reported())
    await adapter.start()
    try:
        await bound(adapter)
        ends = _nodelay_by_local_port(smsc.port)  # the channel's end, connected to the smsc
        assert len(ends) == 1 and all(ends.values())
        [local_port] = ends
        fake_end = _nodelay_by_local_port(local_port)  # the smsc's end, connected to the channel
        assert len(fake_end) == 1 and all(fake_end.values())
        assert (await adapter.send(message())).error is None
    finally:
        await adapter.close()


async def test_a_receipt_burst_while_python_is_busy_is_held_not_refused(smsc: FakeSmsc) -> None:
    """Receipts queue in the library's core while the event loop is busy elsewhere; with its
    default queue the core refused part of such a burst and the receipts were lost."""
    smsc.receipts = False  # no receipts with the submits: the burst comes all at once below
    reported = Reported()
    adapter = channel(smsc, reported)
    await adapter.start()
    try:
        await bound(adapter)
        results = await adapter.send_many([message(f"m{n}") for n in range(3_000)])
        assert all(r.error is None for r in results)
        ids = [m.message_id for m in smsc.received_messages]
        for message_id in ids:
            smsc.spawn_receipt(message_id)
        await asyncio.sleep(0)  # each receipt task takes its first step: the PDUs leave
        time.sleep(0.3)  # noqa: ASYNC251 -- hold the loop so the channel's core has to queue them
        await eventually(lambda: len(reported.receipts) == len(ids), seconds=30)
        assert {r.provider_message_id for r in reported.receipts} == set(ids)
    finally:
        await adapter.close()
