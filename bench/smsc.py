"""The fake SMSC as its own process (``tidings simulate smpp``), so the bench measures the gateway
speaking SMPP over loopback to a separate server, as it would to a carrier."""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from bench.server import free_port


@dataclass
class FakeSmscProcess:
    port: int
    process: subprocess.Popen[bytes]

    async def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        try:
            await asyncio.wait_for(asyncio.to_thread(self.process.wait), 15)
        except TimeoutError:
            self.process.kill()


async def start_fake_smsc(workdir: Path, response_delay: float = 0.0) -> FakeSmscProcess:
    port = free_port()
    process = _spawn(workdir, port, response_delay)
    fake = FakeSmscProcess(port, process)
    for _ in range(300):  # up to 30 s
        if process.poll() is not None:
            raise RuntimeError(f"fake SMSC exited: {(workdir / 'fake-smsc.log').read_text()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return fake
        except OSError:
            await asyncio.sleep(0.1)
    await fake.stop()
    raise RuntimeError("fake SMSC did not start in 30 s")


def _spawn(workdir: Path, port: int, response_delay: float) -> subprocess.Popen[bytes]:
    with (workdir / "fake-smsc.log").open("wb") as log:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tidings.cli",
                "simulate",
                "smpp",
                "--port",
                str(port),
                "--receipt-delay",
                "0",
                "--response-delay",
                str(response_delay),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
