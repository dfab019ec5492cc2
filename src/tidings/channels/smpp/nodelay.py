"""Turn Nagle's algorithm off on ``smpp34``'s sockets.

smpp34 1.5.0 leaves Nagle on, and SMPP is a stream of small PDUs both ways: a ``submit_sm``
written while an earlier PDU is unacknowledged waits for the peer's delayed ACK, 40 ms on Linux.
Measured on the bench (one bind, window 10): submit round trips of 5 ms at the median and 43 ms
at the 90th percentile, so one bind moved under 1,000 msg/s. The sockets live in the library's
Rust core and are not exposed, so they are found among this process's descriptors by their
ports and the option is set on a duplicate descriptor (an option belongs to the socket, not
to the descriptor). Where ``/proc/self/fd`` does not exist nothing is found and nothing changes.
"""

from __future__ import annotations

import os
import socket
import stat
from collections.abc import Iterator
from pathlib import Path

_FDS = Path("/proc/self/fd")


def tcp_sockets() -> Iterator[socket.socket]:
    """This process's TCP sockets (IPv4 and IPv6), each as a duplicate descriptor that is
    closed when the caller moves on to the next."""
    try:
        names = os.listdir(_FDS)
    except OSError:
        return
    for name in names:
        try:
            fd = int(name)
            if not stat.S_ISSOCK(os.fstat(fd).st_mode):
                continue
            sock = socket.socket(fileno=os.dup(fd))
        except (ValueError, OSError):
            continue  # closed meanwhile, or not a socket Python can wrap
        with sock:
            if sock.type == socket.SOCK_STREAM and sock.family in (socket.AF_INET, socket.AF_INET6):
                yield sock


def set_nodelay(*, peer_port: int | None = None, local_port: int | None = None) -> int:
    """Set TCP_NODELAY on every TCP socket connected to ``peer_port`` (another SMPP link to the
    same port gains the same) or bound to ``local_port`` (the listener too); return how many."""
    matched = 0
    for sock in tcp_sockets():
        try:
            if peer_port is not None and sock.getpeername()[1] != peer_port:
                continue
            if local_port is not None and sock.getsockname()[1] != local_port:
                continue
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            continue  # not connected (a listening socket), or gone
        matched += 1
    return matched
