"""End to end: the real ``tidings`` command as a subprocess, against a real ``tidings serve``.

Every command runs as ``python -m tidings.cli`` in a pytest temporary directory, with only the
``TIDINGS_*`` variables set here (none inherited), on loopback ports. The state the commands
create is read back over the HTTP API or through a later command.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.cli import (
    ADMIN_KEY,
    Result,
    Server,
    assert_no_traceback,
    basic,
    cli_env,
    http,
    start_server,
    table_rows,
    tidings,
    tidings_finish,
    tidings_start,
)
from support.ports import free_port

# The module-scoped `tidings serve` (``gateway``) and batch (``csv_send``) are made once per
# worker that runs a test of this module: keep them on one worker (scripts/test: --dist loadgroup).
pytestmark = pytest.mark.xdist_group("e2e-cli-gateway")

BATCH_LINE = re.compile(
    r"batch (?P<id>bat_\w+): (?P<accepted>\d+) accepted, (?P<invalid>\d+) invalid, "
    r"(?P<duplicates>\d+) duplicates"
)


# --- fixtures ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One `tidings serve` with a bootstrap key, shared by the client-command tests."""
    workdir = tmp_path_factory.mktemp("gateway")
    env = cli_env(workdir, TIDINGS_BOOTSTRAP_KEY=ADMIN_KEY, TIDINGS_API_KEY=ADMIN_KEY)
    server = start_server(workdir, env)
    server.env["TIDINGS_API_URL"] = server.url
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def csv_send(gateway: Server) -> tuple[Result, str]:
    """`tidings send --to-file` with a template: 3 valid rows and 1 invalid number."""
    csv_path = gateway.workdir / "numbers.csv"
    csv_path.write_text(
        "phone,name\n+27830000002,Ann\n+27830000003,Bob\n+27830000004,Cy\nabc,Bad\n", encoding="utf-8"
    )
    result = tidings(
        "send", "--to-file", str(csv_path), "--body", "Hi {{name}}", env=gateway.env, cwd=gateway.workdir
    )
    match = BATCH_LINE.search(result.out)
    assert match is not None, result.both
    return result, match["id"]


@pytest.fixture(scope="module")
def normalized(tmp_path_factory: pytest.TempPathFactory) -> Result:
    workdir = tmp_path_factory.mktemp("normalize")
    return tidings(
        "normalize", "0830000000", "+27830000000", "abc", "--country", "ZA", env=cli_env(workdir), cwd=workdir
    )


# --- normalize -----------------------------------------------------------------------------------


def test_normalize_reports_valid_invalid_and_duplicates(normalized: Result) -> None:
    assert normalized.code == 0, normalized.both
    assert_no_traceback(normalized)
    rows = {row[0]: row[1] for row in table_rows(normalized.out)}
    assert rows["0830000000"] == "+27830000000"
    assert rows["abc"] == "invalid: not_a_number"
    assert re.search(r"^1 valid, 1 invalid, 1 duplicates?$", normalized.out, re.MULTILINE), normalized.out


def test_normalize_marks_the_row_that_duplicates_after_normalisation(normalized: Result) -> None:
    rows = {row[0]: row[1] for row in table_rows(normalized.out)}
    assert rows["+27830000000"] == "duplicate"


# --- migrate -------------------------------------------------------------------------------------


def test_migrate_fresh_sqlite_twice(tmp_path: Path) -> None:
    env = cli_env(tmp_path, TIDINGS_DATABASE_URL=f"sqlite:///{tmp_path / 'fresh.db'}")
    for _ in range(2):
        result = tidings("migrate", env=env, cwd=tmp_path)
        assert result.code == 0, result.both
        assert_no_traceback(result)
        assert "newest schema" in result.out
        assert "fresh.db" in result.out
    assert (tmp_path / "fresh.db").is_file()

    # Migrated but empty: the admin commands now get past the schema check.
    after = tidings("keys", "list", env=env, cwd=tmp_path)
    assert after.code == 1
    assert "no account yet" in after.err
    assert "migrate" not in after.err
    assert_no_traceback(after)


# --- serve: bootstrap credentials shown once ----------------------------------------------------


def test_serve_prints_bootstrap_credentials_only_on_first_start(
    tmp_path: Path, servers: list[Server]
) -> None:
    env = cli_env(tmp_path)

    first = start_server(tmp_path, env, tag="1")
    servers.append(first)
    # The printed credentials work against the running server.
    out, _ = first.output()
    rows = {row[0]: row[1] for row in table_rows(out) if len(row) == 2}
    account_id, token = rows["account id"], rows["auth token"]
    admin_key, channel = rows["admin API key"], rows["sandbox channel"]
    assert account_id.startswith("AC")
    assert token
    assert admin_key.startswith("tdk_")
    assert channel.startswith("chn_")
    assert http("GET", first.url + "/v1/messages", key=admin_key)[0] == 200
    assert http("GET", first.url + "/v1/messages", auth=basic(account_id, token))[0] == 200
    assert first.stop() == 0
    out, err = first.output()
    assert out.count("New Tidings install") == 1
    assert f"Tidings listening on {first.url}" in out
    assert "Traceback" not in out + err

    second = start_server(tmp_path, env, tag="2")
    servers.append(second)
    status, _ = http("GET", second.url + "/v1/messages", key=admin_key)
    assert status == 200  # same database, same key
    assert second.stop() == 0
    out, err = second.output()
    assert f"Tidings listening on {second.url}" in out
    assert "New Tidings install" not in out
    for secret in (token, admin_key, account_id):
        assert secret not in out
        assert secret not in err


# --- send and status against a running gateway --------------------------------------------------


def test_send_single_message(gateway: Server) -> None:
    result = tidings("send", "--to", "+27830000001", "--body", "hi", env=gateway.env, cwd=gateway.workdir)
    assert result.code == 0, result.both
    assert_no_traceback(result)
    match = BATCH_LINE.search(result.out)
    assert match is not None, result.out
    assert match["accepted"] == "1"
    assert match["invalid"] == "0"
    assert re.search(r"^done: 1 delivered$", result.out, re.MULTILINE), result.out
    status, batch = http("GET", f"{gateway.url}/v1/batches/{match['id']}", key=ADMIN_KEY)
    assert status == 200
    assert batch["accepted"] == 1
    assert batch["status_counts"] == {"delivered": 1}


def test_send_csv_with_template(csv_send: tuple[Result, str]) -> None:
    result, _ = csv_send
    assert result.code == 0, result.both
    assert_no_traceback(result)
    match = BATCH_LINE.search(result.out)
    assert match is not None
    assert (match["accepted"], match["invalid"], match["duplicates"]) == ("3", "1", "0")
    assert re.search(r"^\s*invalid abc: not_a_number$", result.out, re.MULTILINE), result.out
    done = re.findall(r"^done: (.*)$", result.out, re.MULTILINE)
    assert done == ["3 delivered"], result.out


def test_csv_template_bodies_are_personalised(gateway: Server, csv_send: tuple[Result, str]) -> None:
    _, batch_id = csv_send
    status, page = http("GET", f"{gateway.url}/v1/messages?batch_id={batch_id}", key=ADMIN_KEY)
    assert status == 200
    bodies = {m["to"]: m["body"] for m in page["data"]}
    assert bodies == {"+27830000002": "Hi Ann", "+27830000003": "Hi Bob", "+27830000004": "Hi Cy"}
    assert {m["status"] for m in page["data"]} == {"delivered"}


def test_status_of_batch(gateway: Server, csv_send: tuple[Result, str]) -> None:
    _, batch_id = csv_send
    result = tidings("status", batch_id, env=gateway.env, cwd=gateway.workdir)
    assert result.code == 0, result.both
    assert_no_traceback(result)
    assert ["delivered", "3"] in table_rows(result.out), result.out
    assert re.search(r"batch bat_\w+: 3/3 final", result.out), result.out


def test_status_of_message_shows_history(gateway: Server, csv_send: tuple[Result, str]) -> None:
    _, batch_id = csv_send
    status, page = http("GET", f"{gateway.url}/v1/messages?batch_id={batch_id}", key=ADMIN_KEY)
    assert status == 200
    message = next(m for m in page["data"] if m["to"] == "+27830000002")

    result = tidings("status", message["id"], env=gateway.env, cwd=gateway.workdir)
    assert result.code == 0, result.both
    assert_no_traceback(result)
    assert f"{message['id']} to +27830000002: delivered" in result.out
    statuses = [row[1] for row in table_rows(result.out) if len(row) == 4 and row[0] != "at"]
    wanted = ["queued", "sending", "sent", "delivered"]
    assert [s for s in statuses if s in wanted] == wanted, result.out


# --- keys on the database of the running gateway ------------------------------------------------


def test_keys_create_list_revoke(gateway: Server) -> None:
    created = tidings(
        "keys", "create", "--role", "viewer", "--name", "ro", env=gateway.env, cwd=gateway.workdir
    )
    assert created.code == 0, created.both
    assert_no_traceback(created)
    match = re.search(r"^key (key_\w+) \(viewer\) for (AC\w+):\n(tdk_\S+)$", created.out, re.MULTILINE)
    assert match is not None, created.out
    key_id, secret = match[1], match[3]

    messages = f"{gateway.url}/v1/messages"
    assert http("GET", messages, key=secret)[0] == 200
    status, body = http("POST", messages, key=secret, payload={"to": "+27830000009", "body": "no"})
    assert status == 403, body

    listed = tidings("keys", "list", env=gateway.env, cwd=gateway.workdir)
    assert listed.code == 0, listed.both
    row = next(r for r in table_rows(listed.out) if r[0] == key_id)
    assert row[2:4] == ["ro", "viewer"]
    assert row[5] == ""

    revoked = tidings("keys", "revoke", key_id, env=gateway.env, cwd=gateway.workdir)
    assert revoked.code == 0, revoked.both
    assert f"revoked {key_id}" in revoked.out

    # Runs while the server's credential cache (up to 5 s) expires.
    listing = tidings_start("keys", "list", env=gateway.env, cwd=gateway.workdir)
    try:
        deadline = time.monotonic() + 10
        status = 0
        for _ in range(100):
            status, _ = http("GET", messages, key=secret)
            if status == 401 or time.monotonic() > deadline:
                break
            time.sleep(0.25)
        assert status == 401
    finally:
        listed = tidings_finish(listing)
    assert listed.code == 0, listed.both
    row = next(r for r in table_rows(listed.out) if r[0] == key_id)
    assert row[5] == "yes"


# --- failure paths -------------------------------------------------------------------------------


def test_send_without_api_key(tmp_path: Path) -> None:
    result = tidings("send", "--to", "+27830000001", "--body", "hi", env=cli_env(tmp_path), cwd=tmp_path)
    assert result.code == 2
    assert "TIDINGS_API_KEY" in result.err
    assert_no_traceback(result)


def test_send_invalid_number_is_refused(gateway: Server) -> None:
    result = tidings("send", "--to", "abc", "--body", "hi", env=gateway.env, cwd=gateway.workdir)
    assert result.code == 1
    assert "422 invalid_number" in result.err
    assert "batch" not in result.out
    assert_no_traceback(result)


def test_api_refuses_unmigrated_database(tmp_path: Path) -> None:
    env = cli_env(tmp_path, TIDINGS_PORT=str(free_port()))
    result = tidings("api", env=env, cwd=tmp_path, timeout=60)
    assert result.code == 1
    assert_no_traceback(result)
    errors = [line for line in result.err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.err
    assert "tidings migrate" in errors[0]
    assert "listening" not in result.out


def test_api_with_unreachable_postgres_hides_password(tmp_path: Path) -> None:
    # Nothing listens on a port just released by the kernel.
    url = f"postgresql://nobody:secretpw@127.0.0.1:{free_port()}/x"
    env = cli_env(tmp_path, TIDINGS_DATABASE_URL=url, TIDINGS_PORT=str(free_port()))
    result = tidings("api", env=env, cwd=tmp_path, timeout=60)
    assert result.code == 1
    assert_no_traceback(result)
    errors = [line for line in result.err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.err
    assert "unreachable" in errors[0]
    assert "secretpw" not in result.out
    assert "secretpw" not in result.err


@pytest.mark.parametrize("command", ["worker", "serve"])
def test_unreachable_redis_at_start_is_one_line_naming_it(tmp_path: Path, command: str) -> None:
    url = f"redis://:redispw@127.0.0.1:{free_port()}/0"
    env = cli_env(tmp_path, TIDINGS_REDIS_URL=url, TIDINGS_PORT=str(free_port()))
    assert tidings("migrate", env=env, cwd=tmp_path).code == 0
    result = tidings(command, env=env, cwd=tmp_path, timeout=60)
    assert result.code == 1
    assert_no_traceback(result)
    errors = [line for line in result.err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.err
    assert "Redis" in errors[0] and "unreachable" in errors[0]
    assert "redispw" not in result.out + result.err


def test_key_commands_on_unknown_ids_fail_in_one_line(gateway: Server) -> None:
    for args in (("keys", "revoke", "key_nope"), ("keys", "create", "--account", "AC" + "0" * 32)):
        result = tidings(*args, env=gateway.env, cwd=gateway.workdir)
        assert result.code == 1, result.both
        assert_no_traceback(result)
        assert re.search(r"^error: no such (key|account)", result.err, re.MULTILINE), result.both
