"""Start and stop a real ``tidings serve`` process for a benchmark configuration."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

BENCH_KEY = "tdk_bench_0123456789abcdefghijklmnopqrstuvwxyz"


@dataclass
class Config:
    """One column of the comparison: a name and the TIDINGS_* settings that make it."""

    name: str
    env: dict[str, str] = field(default_factory=dict)
    postgres: bool = False
    # Scaled mode: `tidings api` plus this many `tidings worker` processes (0: one `tidings serve`).
    workers: int = 0


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    workdir: Path
    database: str | None
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    async def stop(self) -> None:
        for process in [self.process, *self.workers]:
            process.send_signal(signal.SIGINT)
        for process in [self.process, *self.workers]:
            try:
                await asyncio.wait_for(asyncio.to_thread(process.wait), 30)
            except TimeoutError:
                process.kill()
        if self.database:
            await _drop_database(self.database)
        shutil.rmtree(self.workdir, ignore_errors=True)

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server and its children so far (from /proc)."""
        return cpu_seconds([p.pid for p in [self.process, *self.workers]])


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of these processes and their children so far (from /proc)."""
    total = 0.0
    for pid in [*pids, *(child for parent in pids for child in _children(parent))]:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def start(config: Config) -> Server:
    workdir = Path(tempfile.mkdtemp(prefix="tidings-bench-"))
    port = free_port()
    database = None
    if config.postgres:
        database = f"tidings_bench_{port}"
        await _create_database(database)
        url = f"postgresql://postgres@127.0.0.1:5432/{database}"
        migrate = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tidings.cli",
            "migrate",
            env={**os.environ, "TIDINGS_DATABASE_URL": url},
            cwd=workdir,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        if await migrate.wait() != 0:
            raise RuntimeError("tidings migrate failed")
    else:
        url = f"sqlite:///{workdir / 'tidings.db'}"
    env = {
        **os.environ,
        "TIDINGS_DATABASE_URL": url,
        "TIDINGS_BOOTSTRAP_KEY": BENCH_KEY,
        "TIDINGS_PORT": str(port),
        "TIDINGS_LOG_LEVEL": "WARNING",
        **config.env,
    }
    command = "api" if config.workers else "serve"
    process = _spawn([sys.executable, "-m", "tidings.cli", command], env, workdir)
    server = Server(f"http://127.0.0.1:{port}", process, workdir, database)
    for n in range(config.workers):
        worker = _spawn([sys.executable, "-m", "tidings.cli", "worker"], env, workdir, f"worker-{n}.log")
        server.workers.append(worker)
    async with aiohttp.ClientSession() as session:
        for _ in range(600):
            if process.poll() is not None:
                raise RuntimeError(f"server exited: {(workdir / 'server.log').read_text()[-2000:]}")
            workers_running = all(
                "running" in (workdir / f"worker-{n}.log").read_text(errors="replace")
                for n in range(config.workers)
            )
            try:
                async with session.get(server.url + "/readyz") as response:
                    if response.status == 200 and workers_running:
                        return server
            except aiohttp.ClientConnectionError:
                pass
            await asyncio.sleep(0.1)
    await server.stop()
    raise RuntimeError("server did not become ready in 60 s")


def _spawn(
    command: list[str], env: dict[str, str], workdir: Path, log_name: str = "server.log"
) -> subprocess.Popen[bytes]:
    """The server as a plain child process (it outlives any one event loop of the bench)."""
    with (workdir / log_name).open("wb") as log:
        return subprocess.Popen(command, env=env, cwd=workdir, stdout=log, stderr=subprocess.STDOUT)


async def _create_database(name: str) -> None:
    import asyncpg

    admin = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/postgres")
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()


async def _drop_database(name: str) -> None:
    import asyncpg

    admin = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/postgres")
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()
