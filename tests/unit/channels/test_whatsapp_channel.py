"""The WhatsApp adapter against the fake Cloud API over real loopback HTTP: the message objects it
sends (text, media, templates), what it keeps, how it classifies failures, its webhooks."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

import pytest
from aiohttp import web

from support.channels import IGNORE_REPORTS, outbound
from support.ports import closed_port
from tidings.channels.base import (
    CallbackNotFound,
    CallbackRejected,
    CallbackRequest,
    OutboundMessage,
    SendError,
)
from tidings.channels.whatsapp.channel import WhatsAppChannel
from tidings.channels.whatsapp.config import WhatsAppCredentials, WhatsAppSettings
from tidings.channels.whatsapp.signature import compute_signature
from tidings.simulators.whatsapp import FakeWhatsApp

CUSTOMER = "whatsapp:+14155550100"
VERIFY_TOKEN = "verify-me-please"


@pytest.fixture
async def fake() -> AsyncIterator[FakeWhatsApp]:
    async with FakeWhatsApp() as running:
        running.open_window(CUSTOMER)
        yield running


def _build(fake: FakeWhatsApp, credentials: dict[str, Any] | None = None, **settings: Any) -> WhatsAppChannel:
    options: dict[str, Any] = {"api_base_url": fake.url, "phone_number_id": fake.phone_number_id, **settings}
    secrets = credentials or {
        "access_token": fake.access_token,
        "app_secret": fake.app_secret,
        "verify_token": VERIFY_TOKEN,
    }
    return WhatsAppChannel(
        "chn_whatsapp_test",
        WhatsAppSettings.model_validate(options),
        IGNORE_REPORTS,
        WhatsAppCredentials.model_validate(secrets),
    )


async def _channel(
    fake: FakeWhatsApp, credentials: dict[str, Any] | None = None, **settings: Any
) -> WhatsAppChannel:
    channel = _build(fake, credentials, **settings)
    await channel.start()
    return channel


def _message(
    to: str = CUSTOMER, body: str = "hello", *, template: Mapping[str, Any] | None = None, **more: Any
) -> OutboundMessage:
    return outbound(to, "+15550783881", body, template=template, **more)


async def _send(channel: WhatsAppChannel, message: OutboundMessage) -> str | None:
    try:
        return (await channel.send(message)).provider_message_id
    finally:
        await channel.close()


async def test_text_is_sent_to_the_digits_and_the_wamid_kept(fake: FakeWhatsApp) -> None:
    wamid = await _send(await _channel(fake), _message())
    [received] = fake.received()
    assert wamid == received.id and received.id.startswith("wamid.")
    assert (received.to, received.type, received.content) == ("14155550100", "text", {"body": "hello"})


async def test_a_bare_e164_recipient_is_the_same_whatsapp_number(fake: FakeWhatsApp) -> None:
    await _send(await _channel(fake), _message(to="+14155550100"))
    assert [m.to for m in fake.received(CUSTOMER)] == ["14155550100"]


async def test_link_previews_are_asked_for_when_configured(fake: FakeWhatsApp) -> None:
    await _send(await _channel(fake, link_previews=True), _message(body="see https://example.com"))
    assert fake.received()[0].content == {"body": "see https://example.com", "preview_url": True}


@pytest.mark.parametrize(
    ("url", "kind", "content"),
    [
        ("https://x.example/cat.jpg", "image", {"link": "https://x.example/cat.jpg", "caption": "look"}),
        (
            "https://x.example/a.pdf?sig=1",
            "document",
            {"link": "https://x.example/a.pdf?sig=1", "caption": "look"},
        ),
        ("https://x.example/clip.mp4", "video", {"link": "https://x.example/clip.mp4", "caption": "look"}),
    ],
)
async def test_media_goes_by_link_with_the_body_as_caption(
    fake: FakeWhatsApp, url: str, kind: str, content: dict[str, str]
) -> None:
    await _send(await _channel(fake), _message(body="look", media_urls=(url,)))
    [received] = fake.received()
    assert (received.type, received.content) == (kind, content)


async def test_audio_takes_no_caption_and_goes_without_one(fake: FakeWhatsApp) -> None:
    await _send(await _channel(fake), _message(body="", media_urls=("https://x.example/v.ogg",)))
    assert (fake.received()[0].type, fake.received()[0].content) == (
        "audio",
        {"link": "https://x.example/v.ogg"},
    )
    channel = await _channel(fake)
    with pytest.raises(SendError) as caught:
        await _send(channel, _message(body="words", media_urls=("https://x.example/v.ogg",)))
    assert (caught.value.code, caught.value.retryable) == ("whatsapp_caption_not_supported", False)
    assert fake.requests == 1


async def test_templates_are_sent_as_given_even_outside_the_window(fake: FakeWhatsApp) -> None:
    template = {
        "name": "order_update",
        "language": {"code": "en_US"},
        "components": [{"type": "body", "parameters": [{"type": "text", "text": "A-17"}]}],
    }
    fake.register_template("order_update", "en_US", body_params=1)
    stranger = "whatsapp:+14155550199"
    wamid = await _send(await _channel(fake), _message(to=stranger, body="", template=template))
    [received] = fake.received(stranger)
    assert (received.id, received.type, received.content) == (wamid, "template", template)


async def test_free_form_outside_the_window_fails_permanently_with_131047(fake: FakeWhatsApp) -> None:
    fake.open_window("+14155550177", at=time.time() - 25 * 3600)  # wrote yesterday: closed again
    for to in ("whatsapp:+14155550199", "whatsapp:+14155550177"):
        channel = await _channel(fake)
        with pytest.raises(SendError) as caught:
            await _send(channel, _message(to=to))
        assert (caught.value.code, caught.value.retryable) == ("whatsapp_131047", False)
        assert "Re-engagement message" in caught.value.message and "24 hours" in caught.value.message
    assert fake.received() == []


async def test_template_errors_are_permanent_and_keep_metas_message(fake: FakeWhatsApp) -> None:
    fake.register_template("order_update", "en_US", body_params=1)
    cases = [({"name": "missing", "language": {"code": "en_US"}}, "whatsapp_132001"),
             ({"name": "order_update", "language": {"code": "en_US"}}, "whatsapp_132000")]  # fmt: skip
    for template, code in cases:
        channel = await _channel(fake)
        with pytest.raises(SendError) as caught:
            await _send(channel, _message(template=template))
        assert (caught.value.code, caught.value.retryable) == (code, False)
        assert caught.value.message.startswith(f"(#{code.removeprefix('whatsapp_')})")


async def test_refused_numbers_fail_permanently_with_metas_code(fake: FakeWhatsApp) -> None:
    fake.refuse("+14155550100", 131030)
    with pytest.raises(SendError) as caught:
        await _send(await _channel(fake), _message())
    assert (caught.value.code, caught.value.retryable) == ("whatsapp_131030", False)
    assert fake.received() == []


@pytest.mark.parametrize("recipient", ["telegram:12345", "whatsapp:14155550100", "+12"])
async def test_recipients_that_are_not_whatsapp_numbers_fail_without_calling_meta(
    fake: FakeWhatsApp, recipient: str
) -> None:
    with pytest.raises(SendError) as caught:
        await _send(await _channel(fake), _message(to=recipient))
    assert (caught.value.code, caught.value.retryable) == ("whatsapp_bad_recipient", False)
    assert fake.requests == 0


async def test_a_wrong_token_fails_permanently_with_190_and_no_secret_in_the_error(
    fake: FakeWhatsApp,
) -> None:
    channel = await _channel(fake, {"access_token": "EAA-not-the-token"})
    with pytest.raises(SendError) as caught:
        await _send(channel, _message())
    assert (caught.value.code, caught.value.retryable) == ("whatsapp_190", False)
    assert "EAA-not-the-token" not in str(caught.value) and fake.access_token not in str(caught.value)


async def test_a_wrong_phone_number_id_is_a_permanent_100(fake: FakeWhatsApp) -> None:
    with pytest.raises(SendError) as caught:
        await _send(await _channel(fake, phone_number_id="1234"), _message())
    assert (caught.value.code, caught.value.retryable) == ("whatsapp_100", False)


@pytest.mark.parametrize(
    ("status", "code"), [(500, "whatsapp_131000"), (503, "whatsapp_2"), (429, "whatsapp_130429")]
)
async def test_server_errors_and_throttling_are_transient(fake: FakeWhatsApp, status: int, code: str) -> None:
    fake.fail_requests(1, status=status)
    channel = await _channel(fake)
    try:
        with pytest.raises(SendError) as caught:
            await channel.send(_message())
        retried = await channel.send(_message())
    finally:
        await channel.close()
    assert (caught.value.code, caught.value.retryable) == (code, True)
    assert retried.provider_message_id == fake.received()[0].id and fake.requests == 2


async def test_timeouts_and_refused_connections_are_transient(fake: FakeWhatsApp) -> None:
    fake.latency = 2.0
    with pytest.raises(SendError) as slow:
        await _send(await _channel(fake, timeout_seconds=0.2), _message())
    # The port refuses: bound, nothing listening.
    with closed_port() as port, pytest.raises(SendError) as refused:
        await _send(await _channel(fake, api_base_url=f"http://127.0.0.1:{port}"), _message())
    for caught in (slow, refused):
        assert (caught.value.code, caught.value.retryable) == ("whatsapp_network", True)


async def test_one_session_carries_concurrent_sends(fake: FakeWhatsApp) -> None:
    numbers = [f"+1415555{n:04d}" for n in range(100)]
    for number in numbers:
        fake.open_window(number)
    channel = await _channel(fake)
    try:
        results = await asyncio.gather(*(channel.send(_message(to=n)) for n in numbers))
    finally:
        await channel.close()
    assert len({r.provider_message_id for r in results}) == 100
    assert fake.summary() == {"count": 100, "requests": 100, "distinct": 100, "duplicates": 0}


async def test_statuses_from_the_fake_verify_and_become_receipts(fake: FakeWhatsApp) -> None:
    channel = _build(fake)
    wamid = "wamid.HBgLMTQxNTU1NTAxMDAVAgARGBI"

    async def hook(request: web.Request) -> web.Response:
        body = await request.read()
        headers = {k.lower(): v for k, v in request.headers.items()}
        result = await channel.parse_callback(CallbackRequest("events", "", headers, body))
        return web.json_response({"receipts": [r.status.value for r in result.receipts]})

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    try:
        status, text = await fake.send_status(url, wamid, "read", recipient=CUSTOMER)
        failed_status, failed_text = await fake.send_status(url, wamid, "failed", error_code=131026)
    finally:
        await runner.cleanup()
    assert (status, text) == (200, '{"receipts": ["delivered"]}')
    assert (failed_status, failed_text) == (200, '{"receipts": ["undelivered"]}')


async def test_notifications_with_a_wrong_or_missing_signature_are_refused(fake: FakeWhatsApp) -> None:
    channel = _build(fake)
    body = b'{"object":"whatsapp_business_account","entry":[]}'
    good = compute_signature(fake.app_secret, body)
    assert (
        await channel.parse_callback(CallbackRequest("events", "", {"x-hub-signature-256": good}, body))
    ).receipts == []
    for headers in (
        {"x-hub-signature-256": compute_signature("other-secret", body)},
        {},
        {"x-hub-signature-256": "sha256="},
    ):
        with pytest.raises(CallbackRejected):
            await channel.parse_callback(CallbackRequest("events", "", headers, body))
    with pytest.raises(CallbackRejected):  # a byte changed after signing
        await channel.parse_callback(
            CallbackRequest("events", "", {"x-hub-signature-256": good}, body + b" ")
        )


async def test_without_an_app_secret_every_notification_is_refused(fake: FakeWhatsApp) -> None:
    channel = _build(fake, {"access_token": fake.access_token})
    body = b'{"object":"whatsapp_business_account","entry":[]}'
    with pytest.raises(CallbackRejected):
        await channel.parse_callback(
            CallbackRequest("events", "", {"x-hub-signature-256": "sha256=00"}, body)
        )
    with pytest.raises(CallbackRejected):
        await channel.parse_callback(
            CallbackRequest("events", "hub.mode=subscribe&hub.challenge=1&hub.verify_token=x", {}, b"", "GET")
        )


@pytest.mark.parametrize(
    ("query", "answer"),
    [
        ("hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=verify-me-please", b"1158201444"),
        ("hub.verify_token=verify-me-please&hub.challenge=42&hub.mode=subscribe", b"42"),
        ("hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=wrong", None),
        ("hub.mode=unsubscribe&hub.challenge=1158201444&hub.verify_token=verify-me-please", None),
        ("hub.mode=subscribe&hub.verify_token=verify-me-please", None),
        ("", None),
    ],
)
async def test_the_get_handshake_echoes_the_challenge_only_for_the_verify_token(
    fake: FakeWhatsApp, query: str, answer: bytes | None
) -> None:
    channel = _build(fake)
    request = CallbackRequest("events", query, {}, b"", "GET")
    if answer is None:
        with pytest.raises(CallbackRejected):
            await channel.parse_callback(request)
        return
    reply = (await channel.parse_callback(request)).reply
    assert (reply.status, reply.body, reply.content_type) == (200, answer, "text/plain")


async def test_other_kinds_and_methods_are_not_found(fake: FakeWhatsApp) -> None:
    channel = _build(fake)
    for request in (CallbackRequest("status", "", {}, b"{}"), CallbackRequest("events", "", {}, b"", "PUT")):
        with pytest.raises(CallbackNotFound):
            await channel.parse_callback(request)


def test_credentials_never_show_in_reprs() -> None:
    credentials = WhatsAppCredentials.model_validate(
        {"access_token": "EAAtok-123456", "app_secret": "sec-654321", "verify_token": "ver-112233"}
    )
    channel = WhatsAppChannel("chn_r", WhatsAppSettings(phone_number_id="1"), IGNORE_REPORTS, credentials)
    for text in (repr(credentials), str(credentials), repr(channel), credentials.model_dump_json()):
        for secret in ("EAAtok-123456", "sec-654321", "ver-112233"):
            assert secret not in text


@pytest.mark.parametrize(
    ("settings", "credentials"),
    [
        ({}, {"access_token": "t"}),
        ({"phone_number_id": "not digits"}, {"access_token": "t"}),
        ({"phone_number_id": "1", "api_version": "21"}, {"access_token": "t"}),
        ({"phone_number_id": "1"}, {}),
        ({"phone_number_id": "1"}, {"access_token": "t", "extra": "x"}),
    ],
)
def test_incomplete_configuration_is_refused(settings: dict[str, str], credentials: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        WhatsAppSettings.model_validate(settings)
        WhatsAppCredentials.model_validate(credentials)
