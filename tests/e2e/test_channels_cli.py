"""End to end: ``tidings channels`` against a real ``tidings serve``, the README walkthrough with
``tidings simulate twilio``, and channels and routes declared in a TOML config file."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.cli import (
    ADMIN_KEY,
    Server,
    assert_no_traceback,
    cli_env,
    http,
    start_server,
    table_rows,
    tidings,
)
from support.ports import free_port

FAKE_SID = "AC" + "1f" * 16
FAKE_TOKEN = "fake-twilio-token-0123456789"
ADDED = re.compile(r"^added (?P<type>\w+) channel (?P<name>\S+) (?P<id>chn_\w+)$", re.MULTILINE)


@pytest.fixture
def fake_twilio(tmp_path: Path) -> Iterator[str]:
    """``tidings simulate twilio`` on a free loopback port, with known credentials."""
    port = free_port()
    command = [sys.executable, "-m", "tidings.cli", "simulate", "twilio", "--port", str(port)]
    command += ["--account-sid", FAKE_SID, "--auth-token", FAKE_TOKEN, "--callback-delay", "0.1"]
    proc = subprocess.Popen(
        command, env=cli_env(tmp_path), cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                with urllib.request.urlopen(f"{url}/_fake/messages", timeout=2):
                    break
            except (urllib.error.URLError, ConnectionError):
                assert proc.poll() is None, proc.communicate()
                time.sleep(0.1)
        else:
            raise AssertionError("the fake Twilio did not start listening")
        yield url
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)


def _serve(tmp_path: Path, servers: list[Server], **extra: str) -> Server:
    env = cli_env(tmp_path, TIDINGS_BOOTSTRAP_KEY=ADMIN_KEY, TIDINGS_API_KEY=ADMIN_KEY, **extra)
    server = start_server(tmp_path, env)
    server.env["TIDINGS_API_URL"] = server.url
    servers.append(server)
    return server


def test_channels_add_list_show_and_remove(tmp_path: Path, servers: list[Server]) -> None:
    server = _serve(tmp_path, servers)
    run = {"env": server.env, "cwd": tmp_path}

    added = tidings(
        "channels", "add", "sandbox", "--name", "paced", "--setting", "latency_ms=5",
        "--setting", 'reject_numbers=["+14155550199"]', "--mps", "20", "--sender", "+15005550006",
        "--default", **run,
    )  # fmt: skip
    assert added.code == 0, added.both
    match = ADDED.search(added.out)
    assert match is not None and match["name"] == "paced", added.out
    sandbox_id = match["id"]

    twilio = tidings(
        "channels", "add", "twilio", "--name", "tw", "--setting", "api_base_url=http://127.0.0.1:9",
        "--credential", f"account_sid={FAKE_SID}", "--credential", f"auth_token={FAKE_TOKEN}", **run,
    )  # fmt: skip
    assert twilio.code == 0, twilio.both
    twilio_match = ADDED.search(twilio.out)
    assert twilio_match is not None
    twilio_id = twilio_match["id"]

    listed = tidings("channels", "list", **run)
    assert listed.code == 0, listed.both
    rows = {row[1]: row for row in table_rows(listed.out) if row[0].startswith("chn_")}
    assert set(rows) == {"sandbox", "paced", "tw"}
    assert rows["paced"][:6] == [sandbox_id, "paced", "sandbox", "yes", "20", "1"]
    assert rows["sandbox"][3] == ""  # no longer the default
    assert rows["tw"][7] == "set" and rows["paced"][7] == ""

    shown = tidings("channels", "show", twilio_id, **run)
    assert shown.code == 0, shown.both
    fields = {row[0]: row[1] for row in table_rows(shown.out)}
    assert fields["credentials"] == "set (never shown)"
    assert fields["settings.api_base_url"] == '"http://127.0.0.1:9"'
    paced = {row[0]: row[1] for row in table_rows(tidings("channels", "show", sandbox_id, **run).out)}
    assert paced["settings.reject_numbers"] == '["+14155550199"]' and paced["senders"] == "+15005550006"

    # A message without a channel now goes through the new default.
    status, batch = http(
        "POST", f"{server.url}/v1/messages", key=ADMIN_KEY, payload={"to": "+14155550100", "body": "hi"}
    )
    assert status == 202 and batch["channel_id"] == sandbox_id

    removed = tidings("channels", "remove", twilio_id, **run)
    assert removed.code == 0 and f"removed {twilio_id}" in removed.out
    gone = tidings("channels", "show", twilio_id, **run)
    assert gone.code == 1 and gone.err.strip() == "error: 404 channel_not_found: no such channel"

    outputs = [added, twilio, listed, shown, removed, gone]
    for result in outputs:
        assert_no_traceback(result)
        assert FAKE_TOKEN not in result.both
    server.stop()
    assert FAKE_TOKEN not in "".join(server.output())


def test_channels_errors_are_one_line(tmp_path: Path, servers: list[Server]) -> None:
    server = _serve(tmp_path, servers)
    run = {"env": server.env, "cwd": tmp_path}
    cases = [
        (["add", "pigeon", "--name", "p"], 1, "error: 422 unknown_channel_type"),
        (["add", "sandbox", "--name", "sandbox"], 1, "error: 409 channel_exists"),
        (["add", "sandbox", "--name", "x", "--setting", "failure_rate=7"], 1, "settings.failure_rate"),
        (
            ["add", "twilio", "--name", "t", "--credential", f"account_sid={FAKE_TOKEN}"],
            1,
            "error: 422 invalid_credentials",
        ),
        (["add", "twilio", "--name", "t", "--credential", FAKE_TOKEN], 2, "--credential takes key=value"),
        (["remove", "chn_nope"], 1, "error: 404 channel_not_found"),
    ]
    for args, code, words in cases:
        result = tidings("channels", *args, **run)
        assert result.code == code, (args, result.both)
        assert words in result.err, (args, result.err)
        assert len(result.err.strip().splitlines()) == 1, result.err
        assert FAKE_TOKEN not in result.both
        assert_no_traceback(result)
    status, page = http("GET", f"{server.url}/v1/channels", key=ADMIN_KEY)
    assert status == 200 and [c["name"] for c in page["data"]] == ["sandbox"]

    keyless = {k: v for k, v in server.env.items() if k != "TIDINGS_API_KEY"}
    result = tidings("channels", "list", env=keyless, cwd=tmp_path)
    assert result.code == 2 and "TIDINGS_API_KEY" in result.err


def test_readme_walkthrough_with_the_simulated_twilio(
    tmp_path: Path, servers: list[Server], fake_twilio: str
) -> None:
    server = _serve(tmp_path, servers)
    run = {"env": server.env, "cwd": tmp_path}
    added = tidings(
        "channels", "add", "twilio", "--name", "twilio",
        "--setting", f"api_base_url={fake_twilio}", "--setting", f"public_base_url={server.url}",
        "--credential", f"account_sid={FAKE_SID}", "--credential", f"auth_token={FAKE_TOKEN}",
        "--sender", "+15005550006", **run,
    )  # fmt: skip
    assert added.code == 0, added.both

    sent = tidings("send", "--to", "+14155550100", "--body", "hello", "--channel", "twilio", **run)
    assert sent.code == 0, sent.both
    assert re.search(r"^done: 1 delivered$", sent.out, re.MULTILINE), sent.out
    with urllib.request.urlopen(f"{fake_twilio}/_fake/messages", timeout=5) as answer:
        import json

        received = json.load(answer)
    assert [(m["to"], m["body"]) for m in received["messages"]] == [("+14155550100", "hello")]
    server.stop()
    assert FAKE_TOKEN not in "".join(server.output()) + sent.both + added.both


CONFIG = """
[[channels]]
name = "tw"
type = "twilio"
senders = ["+15005550006"]
mps = 10
settings = {{ api_base_url = "http://127.0.0.1:9" }}
credentials = {{ account_sid = "{sid}", auth_token = "${{TIDINGS_E2E_TWILIO_TOKEN}}" }}

[[routes]]
name = "united states"
priority = {priority}
match = {{ country = "US" }}
channel = "tw"
fallback = "sandbox"
"""


def test_declared_channels_and_routes_apply_at_start(tmp_path: Path, servers: list[Server]) -> None:
    config = tmp_path / "tidings.toml"
    config.write_text(CONFIG.format(sid=FAKE_SID, priority=10), encoding="utf-8")
    token = {"TIDINGS_E2E_TWILIO_TOKEN": FAKE_TOKEN, "TIDINGS_CONFIG": str(config)}

    first = _serve(tmp_path, servers, **token)
    out, _ = first.output()
    assert "declared channels and routes: 2 created, 0 updated, 0 unchanged" in out
    status, page = http("GET", f"{first.url}/v1/channels", key=ADMIN_KEY)
    assert status == 200
    channel = next(c for c in page["data"] if c["name"] == "tw")
    assert channel["has_credentials"] and channel["mps"] == 10
    status, listed = http("GET", f"{first.url}/v1/routes", key=ADMIN_KEY)
    assert [(r["name"], r["priority"], r["channel_id"]) for r in listed["data"]] == [
        ("united states", 10, channel["id"])
    ]
    assert first.stop() == 0

    second = _serve(tmp_path, servers, **token)
    assert "0 created, 0 updated, 2 unchanged" in second.output()[0]
    assert second.stop() == 0

    config.write_text(CONFIG.format(sid=FAKE_SID, priority=3), encoding="utf-8")
    third = _serve(tmp_path, servers, **token)
    assert "0 created, 1 updated, 1 unchanged" in third.output()[0]
    status, listed = http("GET", f"{third.url}/v1/routes", key=ADMIN_KEY)
    assert [r["priority"] for r in listed["data"]] == [3]
    assert third.stop() == 0
    for server in (first, second, third):
        assert FAKE_TOKEN not in "".join(server.output())


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ('[[channels]]\nname = "x"\ntype = "pigeon"\n', "channels[0] (x): unknown channel type 'pigeon'"),
        (
            f'[[channels]]\nname = "x"\ntype = "twilio"\ncredentials = {{ account_sid = "{FAKE_TOKEN}" }}\n',
            "channels[0] (x): credentials",
        ),
        ('[[channels]]\nname = "x"\ntype = "twilio"\ncredentials = { auth_token = "${NOT_SET_ANYWHERE}" }\n',
         "environment variable NOT_SET_ANYWHERE is not set"),
        ('[[routes]]\nname = "r"\nchannel = "nowhere"\n', 'routes[0] (r): channel: the primary'),
        ("[[channels]\nname = 1\n", "invalid configuration"),
    ],
)  # fmt: skip
def test_bad_config_file_refuses_to_start_with_one_line(tmp_path: Path, content: str, words: str) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(content, encoding="utf-8")
    env = cli_env(tmp_path, TIDINGS_BOOTSTRAP_KEY=ADMIN_KEY, TIDINGS_PORT=str(free_port()))
    env["TIDINGS_LOG_LEVEL"] = "WARNING"  # the migration's own info lines aside
    result = tidings("--config", str(config), "serve", env=env, cwd=tmp_path, timeout=60)
    assert result.code == 2, result.both
    assert_no_traceback(result)
    assert words in result.err, result.err
    assert len(result.err.strip().splitlines()) == 1, result.err
    assert FAKE_TOKEN not in result.both
    assert "listening" not in result.out
