"""End to end: ``tidings simulate twilio`` runs the fake Twilio as a process that takes messages
and stops cleanly on SIGTERM."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from support.ports import free_port

ACCOUNT = "AC" + "c" * 32
TOKEN = "simulated-token"


def _get(url: str) -> dict[str, object]:
    with urllib.request.urlopen(url, timeout=5) as answer:
        return dict(json.load(answer))


def test_simulate_twilio_takes_messages_and_stops_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIDINGS_")}
    command = [sys.executable, "-m", "tidings.cli", "simulate", "twilio", "--port", str(port)]
    command += ["--account-sid", ACCOUNT, "--auth-token", TOKEN]
    proc = subprocess.Popen(
        command, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                _get(f"{base}/_fake/messages")
                break
            except (urllib.error.URLError, ConnectionError):
                assert proc.poll() is None, proc.communicate()
                assert time.monotonic() < deadline, "the fake did not start listening in 30 s"
                time.sleep(0.1)
        form = urllib.parse.urlencode({"To": "+14155550100", "From": "+15005550006", "Body": "hi"}).encode()
        create = urllib.request.Request(f"{base}/2010-04-01/Accounts/{ACCOUNT}/Messages.json", data=form)
        create.add_header(
            "Authorization", "Basic " + base64.b64encode(f"{ACCOUNT}:{TOKEN}".encode()).decode()
        )
        with urllib.request.urlopen(create, timeout=5) as answer:
            assert answer.status == 201
            sid = json.load(answer)["sid"]
        received = _get(f"{base}/_fake/messages")
        assert received["count"] == 1
        assert [m["sid"] for m in received["messages"]] == [sid]  # type: ignore[attr-defined]
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert f"fake Twilio listening on {base}" in out and ACCOUNT in out
    assert "Traceback" not in err
