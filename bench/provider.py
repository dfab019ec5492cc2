"""A fake provider as its own process (``tidings simulate twilio``), so the bench measures the
gateway talking HTTP to a separate server, as it would to Twilio."""

from __future__ import annotations

import asyncio
import secrets
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from bench.server import free_port


@dataclass
class FakeTwilioProcess:
    url: str
    account_sid: str
    auth_token: str
    process: subprocess.Popen[bytes]

    async def configure(self, **settings: Any) -> None:
        """Change the fake's behaviour (latency, callback_delay, ...) over its /_fake API."""
        async with (
            aiohttp.ClientSession() as session,
            session.post(f"{self.url}/_fake/config", json=settings) as response,
        ):
            if response.status != 200:
                raise RuntimeError(f"fake refused its config: {await response.text()}")

    async def reset(self) -> None:
        async with (
            aiohttp.ClientSession() as session,
            session.post(f"{self.url}/_fake/reset") as response,
        ):
            await response.read()

    async def counts(self) -> dict[str, int]:
        """Messages accepted, create requests, distinct (To, Body) pairs and duplicates since the
        last reset (asked for one number never sent, so the listing itself stays empty)."""
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{self.url}/_fake/messages", params={"to": "none"}) as response,
        ):
            listed = await response.json()
        return {key: int(listed[key]) for key in ("count", "requests", "distinct", "duplicates")}

    async def received_at(self) -> list[float]:
        """When the fake accepted each message it holds (epoch seconds)."""
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{self.url}/_fake/messages") as response,
        ):
            listed = await response.json()
        return [float(m["created_at"]) for m in listed["messages"]]

    async def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        try:
            await asyncio.wait_for(asyncio.to_thread(self.process.wait), 15)
        except TimeoutError:
            self.process.kill()


async def start_fake_twilio(workdir: Path) -> FakeTwilioProcess:
    port = free_port()
    account_sid = "AC" + secrets.token_hex(16)
    auth_token = secrets.token_hex(16)
    process = _spawn(workdir, port, account_sid, auth_token)
    fake = FakeTwilioProcess(f"http://127.0.0.1:{port}", account_sid, auth_token, process)
    async with aiohttp.ClientSession() as session:
        for _ in range(300):
            if process.poll() is not None:
                raise RuntimeError(f"fake Twilio exited: {(workdir / 'fake-twilio.log').read_text()[-2000:]}")
            try:
                async with session.get(f"{fake.url}/_fake/messages") as response:
                    if response.status == 200:
                        return fake
            except aiohttp.ClientConnectionError:
                pass
            await asyncio.sleep(0.1)
    await fake.stop()
    raise RuntimeError("fake Twilio did not start in 30 s")


def _spawn(workdir: Path, port: int, account_sid: str, auth_token: str) -> subprocess.Popen[bytes]:
    with (workdir / "fake-twilio.log").open("wb") as log:
        return subprocess.Popen(
            [
                sys.executable, "-m", "tidings.cli", "simulate", "twilio",
                "--port", str(port), "--account-sid", account_sid, "--auth-token", auth_token,
                "--callback-delay", "0",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
