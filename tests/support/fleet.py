"""A scaled deployment of real processes: ``tidings migrate``, ``tidings api`` and several
``tidings worker`` processes on one PostgreSQL database, started as subprocesses on loopback
ports (chosen by ``support.ports``), with an HTTP client for the API. The ``fleet`` fixture that
makes one is the scaled tests' own (``tests/scaled/conftest.py``)."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from support.cli import tidings_env
from support.ports import free_port

ADMIN_KEY = "tdk_scaled_admin_key_0123456789abcdefghijklmnopqrstu"
READY_TIMEOUT = 40.0


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@dataclass
class Fleet:
    """The processes of one scaled deployment and an HTTP client for its API."""

    workdir: Path
    env: dict[str, str]
    processes: list[Process] = field(default_factory=list)
    api_url: str = ""
    session: aiohttp.ClientSession | None = None

    def run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "tidings.cli", *args],
            env=self.env,
            cwd=self.workdir,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def spawn(self, name: str, *args: str, **env: str) -> Process:
        log = self.workdir / f"{name}.log"
        with log.open("wb") as handle:
            popen = subprocess.Popen(
                [sys.executable, "-m", "tidings.cli", *args],
                env={**self.env, **env},
                cwd=self.workdir,
                stdout=handle,
                stderr=subprocess.STDOUT,
            )
        process = Process(name, popen, log)
        self.processes.append(process)
        return process

    async def start_api(self, **env: str) -> Process:
        port = free_port()
        process = self.spawn("api", "api", "--port", str(port), **env)
        self.api_url = f"http://127.0.0.1:{port}"
        assert self.session is not None
        await _until(process, self._ready)
        return process

    async def start_worker(self, name: str, *args: str, **env: str) -> Process:
        process = self.spawn(name, "worker", *args, **env)

        async def running() -> bool:
            return "running" in process.output()

        await _until(process, running)
        return process

    async def _ready(self) -> bool:
        assert self.session is not None
        try:
            async with self.session.get(self.api_url + "/readyz") as response:
                return response.status == 200
        except aiohttp.ClientConnectionError:
            return False

    async def call(self, method: str, path: str, json: Any = None) -> tuple[int, Any]:
        assert self.session is not None
        headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
        async with self.session.request(method, self.api_url + path, json=json, headers=headers) as resp:
            return resp.status, await resp.json(content_type=None)

    async def wait_for_batch(self, batch_id: str, *, timeout: float) -> dict[str, Any]:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            status, body = await self.call("GET", f"/v1/batches/{batch_id}")
            assert status == 200, body
            if body["done"] >= body["accepted"]:
                return dict(body)
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"batch not done in {timeout} s: {body}\n{self.logs()}")
            await asyncio.sleep(0.25)

    async def metric(self, port: int, name: str) -> float:
        """One unlabelled sample from a worker's Prometheus endpoint."""
        assert self.session is not None
        async with self.session.get(f"http://127.0.0.1:{port}/metrics") as response:
            text = await response.text()
        for line in text.splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
        raise AssertionError(f"{name} not exported on port {port}")

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.output()[-3000:]}" for p in self.processes)

    def stop_all(self) -> None:
        for process in self.processes:
            if process.popen.poll() is None:
                process.popen.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.popen.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.popen.kill()
                process.popen.wait()


async def _until(process: Process, check: Callable[[], Awaitable[bool]]) -> None:
    deadline = asyncio.get_running_loop().time() + READY_TIMEOUT
    while not await check():
        if process.popen.poll() is not None:
            raise AssertionError(f"{process.name} exited {process.popen.returncode}:\n{process.output()}")
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{process.name} not ready in {READY_TIMEOUT} s:\n{process.output()}")
        await asyncio.sleep(0.1)


def fleet_env(workdir: Path, database_url: str) -> dict[str, str]:
    """What every process of the fleet is started with: one database, key and secret."""
    return tidings_env(
        workdir,
        database_url,
        TIDINGS_BOOTSTRAP_KEY=ADMIN_KEY,
        TIDINGS_SECRET_KEY="scaled-test-secret-key-0123456789abcdef",
        TIDINGS_LOG_FORMAT="console",
    )
