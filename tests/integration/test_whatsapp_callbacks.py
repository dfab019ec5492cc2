"""Meta's callbacks (its "webhooks") through the real ingress: the GET handshake (``hub.challenge``) on
``/webhooks/{channel_id}/{kind}``, channels that take no GET, and a signed notification stored."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from support.gateway import RunningGateway
from tidings.simulators.whatsapp import FakeWhatsApp

VERIFY_TOKEN = "meatyhamhock"  # Meta's own example


@pytest.fixture
async def fake() -> AsyncIterator[FakeWhatsApp]:
    async with FakeWhatsApp(display_phone_number="15550783881") as running:
        yield running


async def _whatsapp_channel(gw: RunningGateway, fake: FakeWhatsApp, **credentials: Any) -> str:
    row = await gw.create_channel(
        type="whatsapp",
        name="wa",
        settings={"api_base_url": fake.url, "phone_number_id": fake.phone_number_id},
        credentials={"access_token": fake.access_token, "app_secret": fake.app_secret, **credentials},
    )
    return str(row["id"])


async def test_the_handshake_echoes_the_challenge_for_the_right_token(
    gw_sqlite: RunningGateway, fake: FakeWhatsApp
) -> None:
    channel_id = await _whatsapp_channel(gw_sqlite, fake, verify_token=VERIFY_TOKEN)
    url = f"{gw_sqlite.url}/webhooks/{channel_id}/events"
    assert await fake.verify_webhook(url, VERIFY_TOKEN, "1158201444") == (200, "1158201444")
    query = "hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=" + VERIFY_TOKEN
    answer = await gw_sqlite.call("GET", f"/webhooks/{channel_id}/events?{query}", auth=False)
    assert (answer.status, answer.body) == (200, 1158201444)  # the body is the challenge, as text
    assert answer.headers["Content-Type"].startswith("text/plain")


@pytest.mark.parametrize(
    "query",
    [
        "hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=wrong",
        "hub.mode=subscribe&hub.challenge=1158201444",
        "hub.mode=unsubscribe&hub.challenge=1158201444&hub.verify_token=" + VERIFY_TOKEN,
        "",
    ],
    ids=["wrong token", "no token", "not subscribe", "nothing"],
)
async def test_a_wrong_or_missing_token_is_403_and_echoes_nothing(
    gw_sqlite: RunningGateway, fake: FakeWhatsApp, query: str
) -> None:
    channel_id = await _whatsapp_channel(gw_sqlite, fake, verify_token=VERIFY_TOKEN)
    answer = await gw_sqlite.call("GET", f"/webhooks/{channel_id}/events?{query}", auth=False)
    assert answer.status == 403 and answer.body["error"]["code"] == "invalid_signature"
    assert "1158201444" not in str(answer.body) and VERIFY_TOKEN not in str(answer.body)


async def test_without_a_verify_token_the_handshake_is_refused(
    gw_sqlite: RunningGateway, fake: FakeWhatsApp
) -> None:
    channel_id = await _whatsapp_channel(gw_sqlite, fake)
    status, _ = await fake.verify_webhook(f"{gw_sqlite.url}/webhooks/{channel_id}/events", "anything")
    assert status == 403


async def test_channels_without_a_handshake_answer_get_with_404(
    gw_sqlite: RunningGateway, fake: FakeWhatsApp
) -> None:
    twilio = await gw_sqlite.create_channel(
        type="twilio",
        name="tw",
        settings={"public_base_url": gw_sqlite.url},
        credentials={"account_sid": "AC" + "d" * 32, "auth_token": "webhook-token"},
    )
    assert gw_sqlite.gateway.bootstrapped is not None
    whatsapp = await _whatsapp_channel(gw_sqlite, fake, verify_token=VERIFY_TOKEN)
    query = "?hub.mode=subscribe&hub.challenge=1&hub.verify_token=" + VERIFY_TOKEN
    paths = [
        f"/webhooks/{twilio['id']}/status",
        f"/webhooks/{twilio['id']}/inbound",
        f"/webhooks/{gw_sqlite.gateway.bootstrapped.sandbox_channel_id}/status",
        f"/webhooks/{whatsapp}/status",
        "/webhooks/chn_missing/events",
    ]
    for path in paths:
        answer = await gw_sqlite.call("GET", path + query, auth=False)
        assert (answer.status, answer.body["error"]["code"]) == (404, "not_found"), path


async def test_a_signed_inbound_notification_is_stored_and_a_forged_one_is_not(
    gw_sqlite: RunningGateway, fake: FakeWhatsApp
) -> None:
    channel_id = await _whatsapp_channel(gw_sqlite, fake)
    fake.webhook_url = f"{gw_sqlite.url}/webhooks/{channel_id}/events"
    forged = await fake.send_inbound(from_="+14155550123", body="forged", signature="sha256=" + "0" * 64)
    assert forged[0] == 403
    image = {"id": "1003383421387256", "mime_type": "image/jpeg", "sha256": "abc=", "caption": "the receipt"}
    assert (await fake.send_inbound(from_="+14155550123", kind="image", content=image))[0] == 200
    listed = await gw_sqlite.call("GET", "/v1/messages?direction=inbound")
    [stored] = listed.body["data"]
    assert (stored["from"], stored["to"], stored["body"], stored["channel_id"]) == (
        "whatsapp:+14155550123",
        "whatsapp:+15550783881",
        "the receipt",
        channel_id,
    )
    assert stored["provider_message_id"].startswith("wamid.")
