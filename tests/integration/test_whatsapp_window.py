"""WhatsApp's customer service window and templates through ``POST /v1/messages``, against the
Cloud API fake on loopback: free-form messages only within 24 h of the user's last message,
templates at any time, sent in the Cloud API's template format."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from support.gateway import RunningGateway
from tidings.simulators.whatsapp import FakeWhatsApp
from tidings.store.schema import batches, message_events, messages, service_windows

WROTE = "whatsapp:+14155550123"
NEVER = "whatsapp:+14155550177"
HELLO = {
    "name": "order_update",
    "language": {"code": "en_US"},
    "components": [
        {"type": "header", "parameters": [{"type": "image", "image": {"link": "https://x.test/a.jpg"}}]},
        {
            "type": "body",
            "parameters": [
                {"type": "text", "text": "Ada"},
                {
                    "type": "currency",
                    "currency": {"fallback_value": "$5", "code": "USD", "amount_1000": 5000},
                },
            ],
        },
        {
            "type": "button",
            "sub_type": "quick_reply",
            "index": 0,
            "parameters": [{"type": "payload", "payload": "STOP"}],
        },
    ],
}


@pytest.fixture
async def fake() -> AsyncIterator[FakeWhatsApp]:
    async with FakeWhatsApp(display_phone_number="15550783881", status_delay=0.01) as running:
        yield running


async def _whatsapp_channel(gw: RunningGateway, fake: FakeWhatsApp, name: str = "wa") -> str:
    row = await gw.create_channel(
        type="whatsapp",
        name=name,
        settings={"api_base_url": fake.url, "phone_number_id": fake.phone_number_id},
        credentials={"access_token": fake.access_token, "app_secret": fake.app_secret},
    )
    channel_id = str(row["id"])
    fake.webhook_url = f"{gw.url}/webhooks/{channel_id}/events"  # statuses and inbound, signed
    return channel_id


async def _counts(gw: RunningGateway) -> tuple[int, ...]:
    async with gw.gateway.db.read() as conn:
        return tuple(
            [
                int((await conn.execute(select(func.count()).select_from(table))).scalar_one())
                for table in (messages, batches, message_events)
            ]
        )


async def _write_in(fake: FakeWhatsApp, number: str) -> None:
    """The user writes to the business: a signed inbound notification to the gateway."""
    status, _ = await fake.send_inbound(from_=number, body="hi there")
    assert status == 200


async def test_a_free_form_message_needs_the_user_to_have_written_in_the_last_24_hours(
    gw: RunningGateway, fake: FakeWhatsApp
) -> None:
    await _whatsapp_channel(gw, fake)
    before = await _counts(gw)
    refused = await gw.call("POST", "/v1/messages", {"to": NEVER, "body": "your order", "channel": "wa"})
    assert refused.status == 422, refused.body
    assert refused.body["error"]["code"] == "outside_service_window"
    assert refused.body["error"]["field"] == "to" and NEVER in refused.body["error"]["message"]
    assert await _counts(gw) == before
    await asyncio.sleep(0.1)
    assert fake.received() == [] and fake.requests == 0

    await _write_in(fake, NEVER)
    accepted = await gw.call("POST", "/v1/messages", {"to": NEVER, "body": "your order", "channel": "wa"})
    assert accepted.status == 202, accepted.body
    [message_id] = accepted.body["message_ids"]
    message = await gw.wait_for_status(message_id, {"delivered"})
    [sent] = fake.received(NEVER)
    assert (sent.type, sent.content, message["provider_message_id"]) == (
        "text",
        {"body": "your order"},
        sent.id,
    )
    assert message["template"] is None


async def test_a_window_older_than_24_hours_is_closed(gw: RunningGateway, fake: FakeWhatsApp) -> None:
    channel_id = await _whatsapp_channel(gw, fake)
    await _write_in(fake, WROTE)
    day_ago = 25 * 3_600_000
    await gw.gateway.db.transact(
        lambda conn: conn.execute(
            service_windows.update()
            .where(service_windows.c.channel_id == channel_id)
            .values(last_inbound_at=service_windows.c.last_inbound_at - day_ago)
        )
    )
    refused = await gw.call("POST", "/v1/messages", {"to": WROTE, "body": "late", "channel": "wa"})
    assert (refused.status, refused.body["error"]["code"]) == (422, "outside_service_window")
    await _write_in(fake, WROTE)  # a new message opens it again
    assert (await gw.call("POST", "/v1/messages", {"to": WROTE, "body": "x", "channel": "wa"})).status == 202


async def test_a_template_goes_out_of_the_window_in_the_cloud_api_format(
    gw: RunningGateway, fake: FakeWhatsApp
) -> None:
    await _whatsapp_channel(gw, fake)
    fake.register_template("order_update", "en_US", body_params=2)
    sent = await gw.call("POST", "/v1/messages", {"to": NEVER, "template": HELLO, "channel": "wa"})
    assert sent.status == 202, sent.body
    assert (sent.body["accepted"], sent.body["invalid"]) == (1, [])
    [message_id] = sent.body["message_ids"]
    message = await gw.wait_for_status(message_id, {"delivered"})
    [received] = fake.received(NEVER)
    assert received.type == "template"
    assert received.content == HELLO
    # Without a body the stored one says which template went out; the template is shown as sent.
    assert message["body"] == "[template order_update/en_US]"
    assert message["template"] == HELLO
    listed = await gw.call("GET", f"/v1/messages?batch_id={sent.body['id']}")
    assert listed.body["data"][0]["template"] == HELLO


async def test_a_template_with_a_body_keeps_it_and_no_segment_limit_applies(
    gw_sqlite: RunningGateway, fake: FakeWhatsApp
) -> None:
    await _whatsapp_channel(gw_sqlite, fake)
    long_body = "Ünïcödé " * 150  # UCS-2, 18 segments: over max_segments (10) as an SMS
    template = {"name": "hello_world", "language": "en_US"}  # the code alone is taken too
    sent = await gw_sqlite.call(
        "POST", "/v1/messages", {"to": NEVER, "body": long_body, "template": template, "channel": "wa"}
    )
    assert sent.status == 202, sent.body
    message = await gw_sqlite.wait_for_status(sent.body["message_ids"][0], {"delivered"})
    assert message["body"] == long_body
    assert message["template"] == {"name": "hello_world", "language": {"code": "en_US"}}
    [received] = fake.received(NEVER)
    assert received.content == {"name": "hello_world", "language": {"code": "en_US"}}


async def test_templates_and_free_form_messages_are_not_grouped(
    gw_sqlite: RunningGateway, fake: FakeWhatsApp
) -> None:
    await _whatsapp_channel(gw_sqlite, fake)
    await _write_in(fake, WROTE)
    # The same body, due at the same time, so one claim takes both: only the template differs.
    body, send_at = "[template hello_world/en_US]", _later(seconds=1)
    template = {"name": "hello_world", "language": "en_US"}
    answers = [
        await gw_sqlite.call(
            "POST", "/v1/messages", {"to": WROTE, "send_at": send_at, "channel": "wa"} | extra
        )
        for extra in ({"body": body}, {"template": template})
    ]
    for answer in answers:
        assert answer.status == 202, answer.body
        await gw_sqlite.wait_for_status(answer.body["message_ids"][0], {"delivered"})
    assert sorted(m.type for m in fake.received(WROTE)) == ["template", "text"]


async def test_a_bulk_send_accepts_those_inside_the_window_and_reports_the_others(
    gw: RunningGateway, fake: FakeWhatsApp
) -> None:
    await _whatsapp_channel(gw, fake)
    await _write_in(fake, WROTE)
    others = ["whatsapp:+14155550178", NEVER]
    sent = await gw.call(
        "POST", "/v1/messages", {"to": [NEVER, WROTE, "whatsapp:+14155550178"], "body": "hi", "channel": "wa"}
    )
    assert sent.status == 202, sent.body
    assert sent.body["accepted"] == 1 and sent.body["duplicates"] == 0
    assert sorted(i["input"] for i in sent.body["invalid"]) == sorted(others)
    assert {i["reason"] for i in sent.body["invalid"]} == {"outside_service_window"}
    [message_id] = sent.body["message_ids"]
    message = await gw.wait_for_status(message_id, {"delivered"})
    assert message["to"] == WROTE
    batch = await gw.call("GET", f"/v1/batches/{sent.body['id']}")
    assert (batch.body["accepted"], len(batch.body["invalid"])) == (1, 2)
    assert [m.to for m in fake.received()] == ["14155550123"]

    none_inside = await gw.call("POST", "/v1/messages", {"to": others, "body": "hi", "channel": "wa"})
    assert none_inside.status == 422
    assert none_inside.body["error"]["code"] == "outside_service_window"
    assert none_inside.body["error"]["field"] == "to[0]"


async def test_sms_recipients_on_a_twilio_channel_are_not_checked_but_whatsapp_ones_are(
    gw_sqlite: RunningGateway,
) -> None:
    await gw_sqlite.create_channel(
        type="twilio",
        name="tw",
        settings={"api_base_url": "http://127.0.0.1:9"},
        credentials={"account_sid": "AC" + "d" * 32, "auth_token": "token"},
        senders=["+15005550006"],
    )
    sent = await gw_sqlite.call(
        "POST",
        "/v1/messages",
        {"to": ["+14155550100", NEVER], "body": "hi", "channel": "tw", "send_at": _later()},
    )
    assert sent.status == 202, sent.body
    assert (sent.body["accepted"], sent.body["invalid"]) == (
        1,
        [{"input": NEVER, "reason": "outside_service_window"}],
    )


@pytest.mark.parametrize("channel", ["sandbox", "tw"])
async def test_a_template_on_a_channel_without_templates_is_refused(
    gw_sqlite: RunningGateway, channel: str
) -> None:
    await gw_sqlite.create_channel(
        type="twilio",
        name="tw",
        settings={"api_base_url": "http://127.0.0.1:9"},
        credentials={"account_sid": "AC" + "d" * 32, "auth_token": "token"},
        senders=["+15005550006"],
    )
    before = await _counts(gw_sqlite)
    request: dict[str, Any] = {"to": [NEVER, "+14155550100"], "template": HELLO}
    if channel != "sandbox":
        request["channel"] = channel  # else the default channel: the sandbox
    refused = await gw_sqlite.call("POST", "/v1/messages", request)
    assert refused.status == 422, refused.body
    assert (refused.body["error"]["code"], refused.body["error"]["field"]) == (
        "template_unsupported",
        "template",
    )
    assert await _counts(gw_sqlite) == before


async def test_a_template_moved_to_a_fallback_without_templates_fails_at_send_time(
    gw_sqlite: RunningGateway, fake: FakeWhatsApp
) -> None:
    whatsapp = await _whatsapp_channel(gw_sqlite, fake)
    sandbox = gw_sqlite.gateway.bootstrapped.sandbox_channel_id if gw_sqlite.gateway.bootstrapped else None
    route = {
        "name": "wa",
        "match": {"kind": "whatsapp"},
        "channel_id": whatsapp,
        "fallback_channel_id": sandbox,
    }
    assert (await gw_sqlite.call("POST", "/v1/routes", route)).status == 201
    fake.fail_requests(100)  # every attempt on the WhatsApp channel fails transiently
    sent = await gw_sqlite.call(
        "POST", "/v1/messages", {"to": NEVER, "template": {"name": "hi", "language": "en"}}
    )
    assert sent.status == 202, sent.body
    message = await gw_sqlite.wait_for_status(sent.body["message_ids"][0], {"failed"}, timeout=20)
    assert message["channel_id"] == sandbox and message["routing"]["via_fallback"] is True
    assert message["error"]["code"] == "template_unsupported"
    handset = await gw_sqlite.call("GET", f"/v1/sandbox/handsets/{NEVER}/messages")
    assert handset.body["data"] == []  # never sent as free text


@pytest.mark.parametrize(
    ("template", "field"),
    [
        ({"name": "Hello World", "language": "en_US"}, "template.name"),
        ({"name": "hello", "language": "english"}, "template.language.code"),
        ({"name": "hello", "language": {"code": "en", "policy": "fallback"}}, "template.language.policy"),
        (
            {"name": "hello", "language": "en", "components": [{"type": "footer"}]},
            "template.components[0].type",
        ),
        (
            {
                "name": "hello",
                "language": "en",
                "components": [{"type": "body", "parameters": [{"type": "image"}]}],
            },
            "template.components[0].parameters[0]",
        ),
        (
            {
                "name": "hello",
                "language": "en",
                "components": [
                    {"type": "body", "parameters": [{"type": "image", "image": {"link": "https://x/a"}}]}
                ],
            },
            "template.components[0]",
        ),
        (
            {"name": "hello", "language": "en", "components": [{"type": "button", "sub_type": "url"}]},
            "template.components[0]",
        ),
        (
            {
                "name": "hello",
                "language": "en",
                "components": [
                    {
                        "type": "header",
                        "parameters": [{"type": "image", "image": {"link": "ftp://x/a", "id": "1"}}],
                    }
                ],
            },
            "template.components[0].parameters[0].image.link",
        ),
        (
            {
                "name": "hello",
                "language": "en",
                "components": [
                    {
                        "type": "body",
                        "parameters": [
                            {
                                "type": "currency",
                                "currency": {"fallback_value": "$1", "code": "usd", "amount_1000": 1},
                            }
                        ],
                    }
                ],
            },
            "template.components[0].parameters[0].currency.code",
        ),
    ],
    ids=[
        "name",
        "language",
        "policy",
        "component type",
        "no value",
        "wrong parameter",
        "button",
        "link",
        "currency",
    ],
)
async def test_invalid_templates_are_422_naming_the_field(
    gw_sqlite: RunningGateway, fake: FakeWhatsApp, template: dict[str, Any], field: str
) -> None:
    await _whatsapp_channel(gw_sqlite, fake)
    answer = await gw_sqlite.call(
        "POST", "/v1/messages", {"to": NEVER, "template": template, "channel": "wa"}
    )
    assert answer.status == 422, answer.body
    assert (answer.body["error"]["code"], answer.body["error"]["field"]) == ("invalid_value", field)


async def test_template_shape_errors_are_400(gw_sqlite: RunningGateway, fake: FakeWhatsApp) -> None:
    await _whatsapp_channel(gw_sqlite, fake)
    cases = [
        ({"to": NEVER, "template": {"language": "en"}}, "missing_field", "template.name"),
        (
            {"to": NEVER, "template": {"name": "a", "language": "en", "colour": 1}},
            "unknown_field",
            "template.colour",
        ),
        (
            {"messages": [{"to": NEVER, "body": "x"}], "template": {"name": "a", "language": "en"}},
            "unexpected_field",
            "template",
        ),
    ]
    for body, code, field in cases:
        answer = await gw_sqlite.call("POST", "/v1/messages", {**body, "channel": "wa"})
        assert answer.status == 400, answer.body
        assert (answer.body["error"]["code"], answer.body["error"]["field"]) == (code, field)


def _later(seconds: float = 3600) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()
