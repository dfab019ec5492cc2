"""The contract every channel keeps, proved against its provider's fake through a real gateway:
sends recorded once with the provider's id, transient errors retried, permanent ones failed with
the provider's code, receipts applied, inbound stored, forged webhooks refused with nothing
stored, and credentials never in a log line or a response."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from sqlalchemy import select

from contract.providers import ProviderFake
from support.gateway import GatewayFactory, RunningGateway, UrlFactory
from tidings.core.clock import now_ms
from tidings.features.inbound.service import open_service_windows
from tidings.logs import JsonFormatter
from tidings.store.schema import channels


async def _gateway(
    gateway_factory: GatewayFactory, database_url_factory: UrlFactory, provider: ProviderFake
) -> tuple[RunningGateway, str]:
    gw = await gateway_factory(database_url_factory)
    row = await gw.create_channel(
        type=provider.channel_type,
        name="provider",
        settings=provider.settings(gw.url),
        credentials=provider.credentials(),
        senders=[provider.sender],
    )
    provider.subscribe(f"{gw.url}/webhooks/{row['id']}")
    # WhatsApp's customer service window: the contract's WhatsApp recipients wrote to the channel
    # lately (as the fake's window says), so the gateway takes free-form messages to them.
    wrote = [
        a
        for a in (provider.recipient, provider.refused_recipient, provider.lost_recipient)
        if a.startswith("whatsapp:")
    ]
    if wrote:
        now = now_ms()
        await gw.gateway.db.transact(lambda conn: open_service_windows(conn, row["id"], wrote, at=now))
    return gw, str(row["id"])


async def _send(gw: RunningGateway, to: str, body: str = "contract test") -> str:
    sent = await gw.call("POST", "/v1/messages", {"to": to, "body": body, "channel": "provider"})
    assert sent.status == 202, sent.body
    return str(sent.body["message_ids"][0])


async def _events(gw: RunningGateway, message_id: str) -> list[tuple[str, str | None]]:
    events = await gw.call("GET", f"/v1/messages/{message_id}/events")
    return [(e["status"], e["code"]) for e in events.body["data"]]


async def _inbound(gw: RunningGateway, *, expect: int = 0) -> list[dict[str, Any]]:
    """Inbound messages; waits (≤ 5 s) for ``expect`` of them, as providers without webhooks
    (SMPP) hand them over on their connection, not in the request that returned."""
    for _ in range(250):
        listed = list((await gw.call("GET", "/v1/messages?direction=inbound")).body["data"])
        if len(listed) >= expect:
            return listed
        await asyncio.sleep(0.02)
    return listed


async def test_a_send_reaches_the_provider_once_and_keeps_its_id(
    gateway_factory: GatewayFactory, database_url_factory: UrlFactory, provider: ProviderFake
) -> None:
    gw, _ = await _gateway(gateway_factory, database_url_factory, provider)
    message_id = await _send(gw, provider.recipient)
    message = await gw.wait_for_status(message_id, {"sent", "delivered"})
    assert message["provider_message_id"]
    assert provider.received(provider.recipient) == [message["provider_message_id"]]
    assert message["attempts"] == 1


async def test_transient_errors_are_retried_then_sent(
    gateway_factory: GatewayFactory, database_url_factory: UrlFactory, provider: ProviderFake
) -> None:
    gw, _ = await _gateway(gateway_factory, database_url_factory, provider)
    provider.fail_transiently(2)
    message_id = await _send(gw, provider.recipient)
    message = await gw.wait_for_status(message_id, {"sent", "delivered"})
    assert message["attempts"] == 3
    assert provider.received(provider.recipient) == [message["provider_message_id"]]
    retries = [code for status, code in await _events(gw, message_id) if status == "queued" and code]
    assert len(retries) == 2 and all(code.startswith(provider.channel_type) for code in retries)


async def test_permanent_errors_fail_at_once_with_the_providers_code(
    gateway_factory: GatewayFactory, database_url_factory: UrlFactory, provider: ProviderFake
) -> None:
    gw, _ = await _gateway(gateway_factory, database_url_factory, provider)
    refused = provider.refused_recipient
    code = provider.refuse(refused)
    message_id = await _send(gw, refused)
    message = await gw.wait_for_status(message_id, {"failed"})
    assert message["error"]["code"] == code and message["error"]["message"]
    assert message["attempts"] == 1
    assert provider.received(refused) == []


async def test_receipts_move_messages_to_their_final_status(
    gateway_factory: GatewayFactory, database_url_factory: UrlFactory, provider: ProviderFake
) -> None:
    gw, _ = await _gateway(gateway_factory, database_url_factory, provider)
    lost = provider.lost_recipient
    code = provider.undeliverable(lost) if provider.reports_undelivered else None
    delivered = await _send(gw, provider.recipient)
    undelivered = await _send(gw, lost) if code is not None else None
    assert (await gw.wait_for_status(delivered, {"delivered"}))["error"] is None
    if undelivered is not None:
        failed = await gw.wait_for_status(undelivered, {"undelivered"})
        assert failed["error"]["code"] == code
    assert [s for s, _ in await _events(gw, delivered)][-2:] == ["sent", "delivered"]


async def test_inbound_messages_are_stored(
    gateway_factory: GatewayFactory, database_url_factory: UrlFactory, provider: ProviderFake
) -> None:
    gw, channel_id = await _gateway(gateway_factory, database_url_factory, provider)
    url = f"{gw.url}/webhooks/{channel_id}/{provider.inbound_kind}"
    assert await provider.send_inbound(url, sender=provider.inbound_sender, body="hello gateway") == 200
    [stored] = await _inbound(gw, expect=1)
    assert (stored["from"], stored["to"], stored["body"]) == (
        provider.inbound_sender,
        provider.sender,
        "hello gateway",
    )
    assert (stored["status"], stored["channel_id"]) == ("received", channel_id)


async def test_forged_webhooks_are_refused_and_change_nothing(
    gateway_factory: GatewayFactory, database_url_factory: UrlFactory, provider: ProviderFake
) -> None:
    gw, channel_id = await _gateway(gateway_factory, database_url_factory, provider)
    if provider.webhook_receipts:
        provider.hold_receipts()
    message_id = await _send(gw, provider.recipient)
    # Without receipt webhooks the adapter reports delivery itself, so the status settles there.
    message = await gw.wait_for_status(message_id, {"sent" if provider.webhook_receipts else "delivered"})
    receipts = f"{gw.url}/webhooks/{channel_id}/{provider.receipt_kind}"
    inbound = f"{gw.url}/webhooks/{channel_id}/{provider.inbound_kind}"

    # Without webhooks there is nothing to forge: every post is refused as not found.
    refused, code = (403, "invalid_signature") if provider.webhooks else (404, "not_found")
    sender = provider.inbound_sender
    assert await provider.send_inbound(inbound, sender=sender, body="forged", forged=True) == refused
    if provider.webhook_receipts:
        assert await provider.send_receipt(receipts, message["provider_message_id"], forged=True) == 403
    unsigned = await gw.call(
        "POST", f"/webhooks/{channel_id}/{provider.inbound_kind}", data=b"x=1", auth=False
    )
    assert unsigned.status == refused and unsigned.body["error"]["code"] == code
    assert await _inbound(gw) == []
    assert (await gw.call("GET", f"/v1/messages/{message_id}")).body["status"] == message["status"]

    if provider.webhook_receipts:
        assert await provider.send_receipt(receipts, message["provider_message_id"]) == 200
        await gw.wait_for_status(message_id, {"delivered"})


async def test_unknown_webhooks_answer_404(
    gateway_factory: GatewayFactory, database_url_factory: UrlFactory, provider: ProviderFake
) -> None:
    gw, channel_id = await _gateway(gateway_factory, database_url_factory, provider)
    for path in (f"/webhooks/{channel_id}/no-such-kind", "/webhooks/chn_missing/status"):
        answer = await gw.call("POST", path, data=b"a=b", auth=False)
        assert answer.status == 404 and answer.body["error"]["code"] == "not_found"


async def test_credentials_never_reach_logs_or_responses(
    gateway_factory: GatewayFactory,
    database_url_factory: UrlFactory,
    provider: ProviderFake,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    gw, channel_id = await _gateway(gateway_factory, database_url_factory, provider)
    provider.refuse(provider.refused_recipient)
    provider.fail_transiently(1)
    answers = [
        await gw.call(
            "POST",
            "/v1/messages",
            {"to": [provider.recipient, provider.refused_recipient], "body": "x", "channel": "provider"},
        )
    ]
    for message_id in answers[0].body["message_ids"]:
        await gw.wait_for_status(message_id, {"delivered", "failed"})
    await provider.send_inbound(
        f"{gw.url}/webhooks/{channel_id}/{provider.inbound_kind}", sender=provider.inbound_sender, body="hi"
    )
    answers += [
        await gw.call("GET", "/v1/messages?limit=100"),
        await gw.call("POST", f"/webhooks/{channel_id}/{provider.receipt_kind}", data=b"a=b", auth=False),
        await gw.call("POST", "/v1/messages", {"to": "+1", "body": "x", "channel": "provider"}),
    ]
    async with gw.gateway.db.read() as conn:
        row = (await conn.execute(select(channels).where(channels.c.id == channel_id))).one()._mapping

    formatter = JsonFormatter()
    texts = [caplog.text, *(formatter.format(r) for r in caplog.records)]
    texts += [repr(a.body) + repr(a.headers) for a in answers]
    texts += [str(row["settings"]), str(row["credentials_ciphertext"])]
    for secret in provider.secrets():
        leaks = [text for text in texts if secret in text]
        assert leaks == [], f"a credential leaked into {len(leaks)} place(s)"
    assert row["credentials_ciphertext"]
