"""Channels and routes declared in the TOML file: applied to the primary account when an API
process starts, idempotent across restarts, changes applied, API-made ones kept, no duplicates
when processes start together."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select

from support.gateway import ADMIN_KEY, UrlFactory
from tidings.channels.stored import open_credentials
from tidings.channels.twilio.channel import TwilioChannel
from tidings.config import Settings
from tidings.declarations import DeclarationError
from tidings.runtime import Gateway
from tidings.store.migrate import upgrade
from tidings.store.schema import channels, routes

SECRET_KEY = "declared-test-instance-secret"
TOKEN = "tok_" + "8" * 28
ACCOUNT_SID = "AC" + "ef" * 16

TWILIO: dict[str, Any] = {
    "name": "tw",
    "type": "twilio",
    "senders": ["+15005550006"],
    "mps": 10,
    "settings": {"api_base_url": "http://127.0.0.1:9"},
    "credentials": {"account_sid": ACCOUNT_SID, "auth_token": "${TIDINGS_TEST_TWILIO_TOKEN}"},
}
SPARE: dict[str, Any] = {"name": "spare", "type": "sandbox", "settings": {"latency_ms": 1}}
US_ROUTE: dict[str, Any] = {
    "name": "us",
    "priority": 10,
    "match": {"country": "us"},
    "channel": "tw",
    "fallback": "spare",
}


def _settings(url: str, tmp_path: Path, **overrides: Any) -> Settings:
    options: dict[str, Any] = {
        "database_url": url,
        "bootstrap_key": ADMIN_KEY,
        "secret_key": SECRET_KEY,
        "data_dir": tmp_path / "data",
        "number_workers": 0,
    }
    return Settings(**{**options, **overrides})


@asynccontextmanager
async def _started(settings: Settings) -> AsyncIterator[Gateway]:
    """An API process's gateway (no dispatcher), started and stopped."""
    gateway = Gateway(settings, run_dispatcher=False)
    await gateway.start()
    try:
        yield gateway
    finally:
        await gateway.stop()


async def _table(gateway: Gateway, table: Any) -> list[dict[str, Any]]:
    async with gateway.db.read() as conn:
        return [dict(r._mapping) for r in await conn.execute(select(table).order_by(table.c.id))]


@pytest.fixture
def token(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("TIDINGS_TEST_TWILIO_TOKEN", TOKEN)
    return TOKEN


async def test_declared_channels_and_routes_are_applied_once_then_updated(
    database_url_factory: UrlFactory, tmp_path: Path, token: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)  # the summary is logged; its secrets never are
    url = await database_url_factory()
    await upgrade(url)
    declared = _settings(url, tmp_path, channels=[TWILIO, SPARE], routes=[US_ROUTE])

    async with _started(declared) as gateway:
        assert gateway.declared is not None
        assert gateway.declared.created == ["channel tw", "channel spare", "route us"]
        admin = await gateway.accounts.authenticate_key(ADMIN_KEY)
        made_by_api = await gateway.channels.create(admin, type="sandbox", name="api-made")
        first_channels = await _table(gateway, channels)
        first_routes = await _table(gateway, routes)

    by_name = {row["name"]: row for row in first_channels}
    assert set(by_name) == {"sandbox", "tw", "spare", "api-made"}
    twilio = by_name["tw"]
    assert twilio["account_id"] == admin.account_id and twilio["mps"] == 10
    assert token not in twilio["credentials_ciphertext"] and "${" not in twilio["credentials_ciphertext"]
    [route] = first_routes
    assert (route["country"], route["channel_id"], route["fallback_channel_id"]) == (
        "US",
        twilio["id"],
        by_name["spare"]["id"],
    )

    # A restart with the same file changes nothing, not even updated_at.
    async with _started(declared) as gateway:
        assert gateway.declared is not None
        assert gateway.declared.created == [] and gateway.declared.updated == []
        assert await _table(gateway, channels) == first_channels
        assert await _table(gateway, routes) == first_routes
        # The credentials came from the environment and open into the adapter.
        opened = open_credentials(TwilioChannel, twilio["credentials_ciphertext"], gateway.box)
        assert opened.auth_token is not None and opened.auth_token.get_secret_value() == token  # type: ignore[attr-defined]

    # A changed file updates what it names, and only that.
    changed = _settings(
        url,
        tmp_path,
        channels=[{**TWILIO, "mps": 25, "default": True}, SPARE],
        routes=[{**US_ROUTE, "priority": 5, "fallback": None}],
    )
    async with _started(changed) as gateway:
        assert gateway.declared is not None
        assert gateway.declared.updated == ["channel tw", "route us"]
        assert gateway.declared.unchanged == ["channel spare"]
        after = {row["name"]: row for row in await _table(gateway, channels)}
        [route] = await _table(gateway, routes)
    assert after["tw"]["mps"] == 25 and after["tw"]["is_default"] is True
    assert after["tw"]["updated_at"] > twilio["updated_at"]
    assert after["sandbox"]["is_default"] is False  # one default per account
    assert after["tw"]["credentials_ciphertext"] == twilio["credentials_ciphertext"]  # same secret
    assert after["api-made"] == {**by_name["api-made"]}  # never touched
    assert made_by_api["id"] == after["api-made"]["id"]
    assert (route["priority"], route["fallback_channel_id"]) == (5, None)
    assert "declared channels and routes: 3 created" in caplog.text
    assert token not in caplog.text


async def test_processes_starting_together_create_no_duplicates(
    make_postgres_url: Callable[[], Awaitable[str]], tmp_path: Path, token: str
) -> None:
    url = await make_postgres_url()
    await upgrade(url)
    settings = _settings(url, tmp_path, channels=[TWILIO, SPARE], routes=[US_ROUTE])
    gateways = [Gateway(settings, run_dispatcher=False) for _ in range(4)]
    try:
        await asyncio.gather(*(g.start() for g in gateways))
        async with gateways[0].db.read() as conn:
            channel_count = (await conn.execute(select(func.count()).select_from(channels))).scalar_one()
            route_count = (await conn.execute(select(func.count()).select_from(routes))).scalar_one()
    finally:
        await asyncio.gather(*(g.stop() for g in gateways))
    assert (channel_count, route_count) == (3, 1)  # sandbox, tw, spare; us
    created = [g.declared.created for g in gateways if g.declared is not None]
    assert sorted(created, key=len)[-1] == ["channel tw", "channel spare", "route us"]
    assert sum(len(c) for c in created) == 3  # exactly one process created them


# (declarations, words the one-line message must contain)
BAD_DECLARATIONS: list[tuple[dict[str, Any], list[str]]] = [
    ({"channels": [{"name": "x", "type": "pigeon"}]}, ["channels[0] (x)", "unknown channel type"]),
    (
        {"channels": [{"name": "x", "type": "sandbox", "settings": {"failure_rate": 3}}]},
        ["channels[0] (x)", "settings.failure_rate"],
    ),
    (
        {"channels": [{**TWILIO, "credentials": {"account_sid": TOKEN, "auth_token": TOKEN}}]},
        ["channels[0] (tw)", "credentials.account_sid"],
    ),
    ({"channels": [{"name": "sandbox", "type": "twilio"}]}, ["channels[0] (sandbox)", "type cannot change"]),
    ({"channels": [{"name": "x", "type": "sandbox", "countries": ["XX"]}]}, ["channels[0] (x)", "'XX'"]),
    ({"routes": [{"name": "r", "channel": "nowhere"}]}, ["routes[0] (r)", '"nowhere"']),
    ({"routes": [{"name": "r", "channel": "sandbox", "fallback": "sandbox"}]}, ["routes[0] (r)", "fallback"]),
    (
        {"routes": [{"name": "r", "channel": "sandbox", "match": {"kind": "pigeon"}}]},
        ["routes[0] (r)", "match.kind"],
    ),
]


@pytest.mark.parametrize(("declarations", "words"), BAD_DECLARATIONS)
async def test_bad_declarations_stop_the_start_with_one_line_and_change_nothing(
    sqlite_url_factory: UrlFactory, tmp_path: Path, declarations: dict[str, Any], words: list[str]
) -> None:
    url = await sqlite_url_factory()
    await upgrade(url)
    async with _started(_settings(url, tmp_path)) as gateway:
        before = await _table(gateway, channels), await _table(gateway, routes)
    gateway = Gateway(_settings(url, tmp_path, **declarations), run_dispatcher=False)
    try:
        with pytest.raises(DeclarationError) as refused:
            await gateway.start()
        message = str(refused.value)
        assert "\n" not in message and TOKEN not in message
        for word in words:
            assert word in message
        assert (await _table(gateway, channels), await _table(gateway, routes)) == before
    finally:
        await gateway.stop()


def test_declarations_are_checked_when_the_settings_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, token: str
) -> None:
    monkeypatch.delenv("TIDINGS_TEST_UNSET", raising=False)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"channels": [TWILIO, TWILIO]}, "declared more than once: tw"),
        (
            {"channels": [{**SPARE, "default": True}, {**TWILIO, "default": True}]},
            "only one declared channel",
        ),
        (
            {"channels": [{**TWILIO, "credentials": {"auth_token": "${TIDINGS_TEST_UNSET}"}}]},
            "TIDINGS_TEST_UNSET is not set",
        ),
        ({"routes": [{"name": "r"}]}, "channel"),
        ({"channels": [{**SPARE, "colour": "red"}]}, "colour"),
    ]
    for declarations, words in cases:
        with pytest.raises(ValidationError) as refused:
            _settings("sqlite:///unused.db", tmp_path, **declarations)
        shown = str(refused.value.errors(include_input=False))
        assert words in shown, (declarations, shown)


def test_references_expand_from_the_environment_and_escape(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TIDINGS_TEST_PART", "abc")
    settings = _settings(
        "sqlite:///unused.db",
        tmp_path,
        channels=[
            {
                **TWILIO,
                "credentials": {"auth_token": "x-${TIDINGS_TEST_PART}-$${TIDINGS_TEST_PART}-$HOME", "n": 5},
                "settings": {"api_base_url": "http://${TIDINGS_TEST_PART}.invalid"},
            }
        ],
    )
    [declared] = settings.channels
    assert declared.credentials is not None
    token = declared.credentials["auth_token"]
    assert token.get_secret_value() == "x-abc-${TIDINGS_TEST_PART}-$HOME"  # type: ignore[union-attr]
    assert declared.credentials["n"] == 5
    assert declared.settings == {"api_base_url": "http://abc.invalid"}
    assert "x-abc" not in repr(settings)  # credentials stay out of reprs
