"""Loopback ports for servers that cannot bind port 0 themselves, and ports with nothing listening.

In-process servers bind port 0 and read back what the kernel gave them; nothing here is needed
for them. A subprocess (``tidings serve``, ``tidings worker --metrics-port``, ``tidings simulate``)
is told its port on the command line instead, so the port is chosen here and freed before the
child binds it. Chosen from the kernel's ephemeral range, that port could be handed in the
meantime to any other socket bound to port 0 (another pytest-xdist worker's gateway, say), and the
test would then talk to the wrong server. So :func:`free_port` picks from a block below the
ephemeral range that the kernel never hands out, split into one slice per xdist worker: no two
workers of a run can pick the same port, and a port still held (by another developer's run, or a
connection in TIME_WAIT) fails the bind check and is passed over.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import random
import socket
from collections.abc import Iterator
from pathlib import Path

SLICE = 500  # ports per worker: far more than one worker's tests ask for at once


def _reserved_block() -> range:
    """Ports below the ephemeral range (Linux: ``ip_local_port_range``, 32768-60999 by default)."""
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    return range(max(1024, low - 12_000), low)


def _worker_slice() -> range:
    """This worker's own slice of the block: ``gw0`` the first, ``gw1`` the next, ...; a run
    without xdist (``PYTEST_XDIST_WORKER`` unset) takes the first."""
    block = _reserved_block()
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    slices = max(1, len(block) // SLICE)
    start = block.start + (int(worker) % slices if worker.isdigit() else 0) * SLICE
    return range(start, min(start + SLICE, block.stop))


# Start at a random place so two runs at once (two developers on one machine) rarely meet.
_SLICE = _worker_slice()
_candidates = itertools.islice(itertools.cycle(_SLICE), random.randrange(len(_SLICE)), None)


def free_port() -> int:
    """A loopback port free now that no other worker of this run will pick and that the kernel
    gives no port-0 socket; each call a different one until the slice wraps around."""
    for port in itertools.islice(_candidates, len(_SLICE)):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise AssertionError(f"no free loopback port in {_SLICE}")


@contextlib.contextmanager
def closed_port() -> Iterator[int]:
    """A loopback port where a connection is refused, for as long as the block runs.

    The port stays bound (not listening) by a socket held open here: a connection to it is
    refused at once, and no other socket, in this process or another worker, can take it meanwhile.
    """
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        yield int(probe.getsockname()[1])
