"""The real ``tidings`` command as a subprocess: one-shot commands, a running ``tidings serve`` (or
``api``) on a loopback port, and plain HTTP calls to it from synchronous tests.

Every command runs as ``python -m tidings.cli`` with only the ``TIDINGS_*`` variables given here
(none inherited from the developer's shell), in the test's own temporary directory. Used by the
end-to-end tests (``tests/e2e``) and, for the environment, by the scaled fleet (``support.fleet``).
"""

from __future__ import annotations

import asyncio
import base64
import json as jsonlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import aiohttp

from support.ports import free_port

ADMIN_KEY = "tdk_e2e_admin_key_0123456789abcdefghijklmnopqrstuvwx"  # TIDINGS_BOOTSTRAP_KEY of the servers
READY_TIMEOUT = 30.0
COMMAND_TIMEOUT = 120.0


def tidings_env(workdir: Path, database_url: str, **extra: str) -> dict[str, str]:
    """The parent's environment without any TIDINGS_* variable, plus plain-output settings, a
    loopback host, the database and a data directory inside ``workdir``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIDINGS_")}
    env.update(
        {
            "COLUMNS": "200",
            "NO_COLOR": "1",
            "PYTHONUNBUFFERED": "1",
            "TIDINGS_HOST": "127.0.0.1",
            "TIDINGS_DATABASE_URL": database_url,
            "TIDINGS_DATA_DIR": str(workdir / "data"),
            "TIDINGS_NUMBER_WORKERS": "0",
        }
    )
    env.update(extra)
    return env


def cli_env(workdir: Path, **extra: str) -> dict[str, str]:
    """:func:`tidings_env` on a SQLite file in ``workdir``, for a terminal without features."""
    return tidings_env(workdir, f"sqlite:///{workdir / 'tidings.db'}", **{"TERM": "dumb", **extra})


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def both(self) -> str:
        return self.out + self.err


def tidings_start(*args: str, env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tidings.cli", *args],
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def tidings_finish(proc: subprocess.Popen[str], timeout: float = COMMAND_TIMEOUT) -> Result:
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate(timeout=10)
        raise
    return Result(proc.returncode, out, err)


def tidings(*args: str, env: dict[str, str], cwd: Path, timeout: float = COMMAND_TIMEOUT) -> Result:
    return tidings_finish(tidings_start(*args, env=env, cwd=cwd), timeout)


def table_rows(text: str) -> list[list[str]]:
    """The body cells of every Rich table in ``text`` (rows drawn with │ separators)."""
    rows = []
    for line in text.splitlines():
        if line.count("│") >= 2:
            rows.append([cell.strip() for cell in line.strip().strip("│").split("│")])
    return rows


def http(
    method: str, url: str, *, key: str | None = None, payload: Any = None, auth: str | None = None
) -> tuple[int, Any]:
    """One request with a fresh aiohttp session (tests here are synchronous)."""

    async def go() -> tuple[int, Any]:
        headers = {}
        if key is not None:
            headers["Authorization"] = f"Bearer {key}"
        if auth is not None:
            headers["Authorization"] = auth
        timeout = aiohttp.ClientTimeout(total=10)
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.request(method, url, json=payload, headers=headers) as response,
        ):
            text = await response.text()
            try:
                body = jsonlib.loads(text) if text else None
            except ValueError:
                body = text
            return response.status, body

    return asyncio.run(go())


def basic(account_id: str, token: str) -> str:
    return "Basic " + base64.b64encode(f"{account_id}:{token}".encode()).decode()


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    url: str
    workdir: Path
    env: dict[str, str]
    stdout_path: Path
    stderr_path: Path
    files: list[IO[bytes]] = field(default_factory=list)

    def output(self) -> tuple[str, str]:
        return (
            self.stdout_path.read_text(errors="replace"),
            self.stderr_path.read_text(errors="replace"),
        )

    def stop(self) -> int:
        """SIGINT, then kill if it has not exited; returns the exit code."""
        try:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGINT)
                try:
                    self.proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(timeout=10)
            return int(self.proc.returncode)
        finally:
            for handle in self.files:
                handle.close()
            self.files.clear()


def start_server(workdir: Path, env: dict[str, str], *, command: str = "serve", tag: str = "") -> Server:
    port = free_port()
    env = {**env, "TIDINGS_PORT": str(port)}
    stdout_path = workdir / f"{command}{tag}.out"
    stderr_path = workdir / f"{command}{tag}.err"
    out = stdout_path.open("wb")
    errf = stderr_path.open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "tidings.cli", command],
        env=env,
        cwd=workdir,
        stdout=out,
        stderr=errf,
    )
    server = Server(proc, f"http://127.0.0.1:{port}", workdir, env, stdout_path, stderr_path, [out, errf])
    try:
        wait_ready(server)
    except BaseException:
        server.stop()
        raise
    return server


def wait_ready(server: Server) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    for _ in range(1000):
        if server.proc.poll() is not None:
            _, err = server.output()
            raise AssertionError(f"server exited with {server.proc.returncode}:\n{err[-3000:]}")
        try:
            status, _ = http("GET", server.url + "/readyz")
            if status == 200:
                return
        except (aiohttp.ClientError, OSError, TimeoutError):
            pass
        if time.monotonic() > deadline:
            break
        time.sleep(0.1)
    _, err = server.output()
    raise AssertionError(f"server at {server.url} not ready after {READY_TIMEOUT} s:\n{err[-3000:]}")


def assert_no_traceback(result: Result) -> None:
    assert "Traceback" not in result.out
    assert "Traceback" not in result.err
