"""Channel credentials: validated by the type's model, sealed at rest, opened only to build the
adapter, never echoed when refused."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from support.gateway import RunningGateway
from tidings.channels.base import ChannelReports
from tidings.channels.stored import build_channel
from tidings.channels.twilio.channel import TwilioChannel
from tidings.crypto import SecretBox
from tidings.errors import Unprocessable
from tidings.store.schema import channels

TOKEN = "tok_" + "7" * 28
ACCOUNT = "AC" + "ab" * 16


async def _nothing(_: str, __: Any) -> None:
    return None


EVENTS = ChannelReports(receipts=_nothing, inbound=_nothing)


async def _create(gw: RunningGateway, **options: Any) -> dict[str, Any]:
    return await gw.create_channel(**options)


async def _row(gw: RunningGateway, channel_id: str) -> dict[str, Any]:
    async with gw.gateway.db.read() as conn:
        return dict((await conn.execute(select(channels).where(channels.c.id == channel_id))).one()._mapping)


async def test_credentials_are_sealed_and_open_into_the_adapter(gw: RunningGateway) -> None:
    created = await _create(
        gw, type="twilio", name="tw", credentials={"account_sid": ACCOUNT, "auth_token": TOKEN}
    )
    row = await _row(gw, created["id"])
    assert TOKEN not in row["credentials_ciphertext"] and TOKEN not in row["settings"]
    adapter = build_channel(row, gw.gateway.box, EVENTS)
    assert isinstance(adapter, TwilioChannel)
    assert adapter.secrets.basic_auth() == (ACCOUNT, TOKEN)
    with pytest.raises(ValueError):
        build_channel(row, SecretBox("another instance secret"), EVENTS)
    with pytest.raises(ValueError):
        build_channel(row, None, EVENTS)


async def test_sandbox_channels_need_no_credentials(gw: RunningGateway) -> None:
    created = await _create(gw, type="sandbox", name="sb")
    row = await _row(gw, created["id"])
    assert row["credentials_ciphertext"] is None
    assert build_channel(row, None, EVENTS).type == "sandbox"


@pytest.mark.parametrize(
    ("type_", "credentials", "field"),
    [
        ("twilio", {"account_sid": ACCOUNT}, "credentials"),
        ("twilio", {"account_sid": "AC123", "auth_token": TOKEN}, "credentials.account_sid"),
        ("twilio", {"account_sid": ACCOUNT, "auth_token": TOKEN, "password": TOKEN}, "credentials.password"),
        ("twilio", None, "credentials.account_sid"),
        ("sandbox", {"auth_token": TOKEN}, "credentials.auth_token"),
    ],
)
async def test_bad_credentials_are_refused_without_echoing_them(
    gw: RunningGateway, type_: str, credentials: dict[str, str] | None, field: str
) -> None:
    with pytest.raises(Unprocessable) as caught:
        await _create(gw, type=type_, name="bad", credentials=credentials)
    assert caught.value.code == "invalid_credentials"
    assert caught.value.field == field
    assert TOKEN not in caught.value.message


async def test_a_twilio_channel_without_usable_credentials_is_retried_then_failed(gw: RunningGateway) -> None:
    """A row whose credentials cannot be opened is a channel error, retried: never a crash."""
    created = await _create(
        gw, type="twilio", name="tw", credentials={"account_sid": ACCOUNT, "auth_token": TOKEN}
    )
    async with gw.gateway.db.write() as conn:
        await conn.execute(
            channels.update()
            .where(channels.c.id == created["id"])
            .values(credentials_ciphertext="not-a-token")
        )
    sent = await gw.call("POST", "/v1/messages", {"to": "+14155550100", "body": "x", "channel": "tw"})
    message = await gw.wait_for_status(sent.body["message_ids"][0], {"failed"}, timeout=20)
    assert message["error"]["code"] == "channel_error"
