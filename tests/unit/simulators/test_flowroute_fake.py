"""The fake Flowroute speaks Flowroute's documented wire format: sends, errors, message records,
delivery receipts and inbound callbacks, and it can be steered in Python and over HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from support.web import eventually, serving
from tidings.simulators.flowroute import FakeFlowroute

JSON_API = "application/vnd.api+json"


class Hook:
    """A loopback webhook receiver that records the JSON documents and queries that arrive."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, dict[str, Any]]] = []  # (query, content type, document)
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.calls.append((request.query_string, request.content_type, await request.json()))
        return web.Response(text="")


@pytest.fixture
async def fake() -> AsyncIterator[FakeFlowroute]:
    async with FakeFlowroute() as running:
        yield running


@pytest.fixture
async def hook() -> AsyncIterator[Hook]:
    receiver = Hook()
    async with serving([web.post("/hook", receiver.handle)]) as base:
        receiver.url = f"{base}/hook"
        yield receiver


def _auth(fake: FakeFlowroute, secret: str | None = None) -> dict[str, str]:
    return {"Authorization": aiohttp.encode_basic_auth(fake.access_key, secret or fake.secret_key)}


def _document(**attributes: Any) -> dict[str, Any]:
    return {"data": {"type": "message", "attributes": {"from": "12065550100", "body": "hi", **attributes}}}


async def _post(
    http: aiohttp.ClientSession,
    fake: FakeFlowroute,
    payload: Any,
    *,
    version: str = "v2.1",
    headers: dict[str, str] | None = None,
    content_type: str = JSON_API,
) -> tuple[int, str, Any]:
    sent = headers if headers is not None else _auth(fake)
    async with http.post(
        f"{fake.url}/{version}/messages",
        json=payload,
        headers={**sent, "Content-Type": content_type},
    ) as answer:
        return answer.status, answer.content_type, await answer.json(content_type=None)


async def test_a_send_is_accepted_with_an_mdr2_id_and_can_be_looked_up(
    fake: FakeFlowroute, http: aiohttp.ClientSession
) -> None:
    status, content_type, answer = await _post(http, fake, _document(to="14155550100"))
    record_id = answer["data"]["id"]
    assert (status, content_type, answer["data"]["type"]) == (202, JSON_API, "message")
    assert record_id.startswith("mdr2-") and answer["data"]["links"]["self"].endswith(
        f"/v2.1/messages/{record_id}"
    )
    async with http.get(f"{fake.url}/v2.1/messages/{record_id}", headers=_auth(fake)) as looked_up:
        record = (await looked_up.json(content_type=None))["data"]
    assert record["id"] == record_id
    attributes = record["attributes"]
    assert (attributes["to"], attributes["from"], attributes["body"]) == ("14155550100", "12065550100", "hi")
    assert (attributes["direction"], attributes["is_mms"], attributes["delivery_receipts"]) == (
        "outbound",
        False,
        [],
    )


async def test_the_compact_format_and_mms_are_taken(fake: FakeFlowroute, http: aiohttp.ClientSession) -> None:
    compact = {"to": "14155550100", "from": "12065550100", "body": "x", "is_mms": "true"}
    media = _document(to="14155550101", body="", media_urls=["https://x.example/a.gif"])
    assert (await _post(http, fake, compact))[0] == 202
    assert (await _post(http, fake, media))[0] == 202
    assert [(m.is_mms, m.media_urls) for m in fake.received()] == [
        (True, []),
        (True, ["https://x.example/a.gif"]),
    ]


@pytest.mark.parametrize(
    ("version", "payload", "status", "detail"),
    [
        ("v2.1", _document(), 422, "'to' is required"),
        (
            "v2.1",
            {"data": {"type": "message", "attributes": {"to": "14155550100", "body": "x"}}},
            422,
            "'from'",
        ),
        ("v2.1", _document(to="14155550100", body=""), 422, "'body' is required"),
        ("v2.1", _document(to="+14155550100"), 422, "11-digit North American"),
        ("v2.2", _document(to="14155550100", **{"from": "+12065550100"}), 422, "E.164"),
        ("v2.1", {"data": {"type": "number", "attributes": {}}}, 422, "data.type must be 'message'"),
        ("v2.1", [1, 2], 422, "JSON object"),
    ],
    ids=[
        "no to",
        "no from",
        "no body or media",
        "v2.1 with plus",
        "v2.2 without plus",
        "wrong type",
        "array",
    ],
)
async def test_bad_sends_get_flowroutes_error_document(
    fake: FakeFlowroute, http: aiohttp.ClientSession, version: str, payload: Any, status: int, detail: str
) -> None:
    answered, content_type, body = await _post(http, fake, payload, version=version)
    [error] = body["errors"]
    assert (answered, content_type, error["status"], error["title"]) == (
        status,
        JSON_API,
        status,
        "Unprocessable Entity",
    )
    assert detail in error["detail"] and len(error["id"]) == 36
    assert fake.received() == [] and fake.requests == 1


async def test_auth_content_type_and_json_are_checked(
    fake: FakeFlowroute, http: aiohttp.ClientSession
) -> None:
    ok = _document(to="14155550100")
    assert (await _post(http, fake, ok, headers={}))[0] == 401
    assert (await _post(http, fake, ok, headers=_auth(fake, "wrong")))[0] == 401
    assert (await _post(http, fake, ok, content_type="text/plain"))[0] == 415
    assert (await _post(http, fake, ok, content_type="application/json"))[0] == 202
    async with http.post(
        f"{fake.url}/v2.1/messages", data=b"{not json", headers={**_auth(fake), "Content-Type": JSON_API}
    ) as answer:
        assert answer.status == 400
    async with http.post(f"{fake.url}/v2.3/messages", json=ok, headers=_auth(fake)) as answer:
        assert answer.status == 404
    async with http.get(f"{fake.url}/v2.1/messages/mdr2-nope", headers=_auth(fake)) as answer:
        assert answer.status == 404


async def test_delivery_receipts_go_to_each_messages_dlr_callback(
    fake: FakeFlowroute, http: aiohttp.ClientSession, hook: Hook
) -> None:
    fake.set_undeliverable("+14155550101", 1005)
    fake.callback_delay = 0.05
    for to in ("14155550100", "14155550101"):
        await _post(http, fake, _document(to=to, dlr_callback=f"{hook.url}?token=abc"))
    await _post(http, fake, _document(to="14155550102"))  # no dlr_callback: no receipts
    await eventually(lambda: len(hook.calls) == 4)
    await asyncio.sleep(0.1)
    assert len(hook.calls) == 4 and {q for q, _, _ in hook.calls} == {"token=abc"}
    delivered, undelivered, _ = fake.received()
    seen = {
        (doc["data"]["id"], doc["data"]["attributes"]["level"], doc["data"]["attributes"]["status"]): doc
        for _, _, doc in hook.calls
    }
    assert set(seen) == {
        (delivered.id, 1, "smsc submit"),
        (delivered.id, 2, "delivered"),
        (undelivered.id, 1, "smsc submit"),
        (undelivered.id, 2, "delivery failure"),
    }
    failure = seen[(undelivered.id, 2, "delivery failure")]["data"]
    assert failure["type"] == "delivery_receipt" and failure["attributes"]["status_code"] == "1005"
    assert failure["links"]["related"].endswith(undelivered.id)
    assert all(content_type == "application/json" for _, content_type, _ in hook.calls)
    async with http.get(f"{fake.url}/v2.1/messages/{undelivered.id}", headers=_auth(fake)) as answer:
        record = (await answer.json(content_type=None))["data"]["attributes"]
    assert record["status"] == "delivery failure"
    assert [r["level"] for r in record["delivery_receipts"]] == [2, 1]  # newest first, as Flowroute lists


async def test_receipts_can_be_held(fake: FakeFlowroute, http: aiohttp.ClientSession, hook: Hook) -> None:
    fake.dlr_callbacks = False
    await _post(http, fake, _document(to="14155550100", dlr_callback=hook.url))
    await asyncio.sleep(0.2)
    assert hook.calls == []
    assert await fake.send_dlr(hook.url, fake.received()[0].id, "delivered") == (200, "")
    assert hook.calls[0][2]["data"]["attributes"]["status"] == "delivered"


async def test_inbound_sms_and_mms_documents(fake: FakeFlowroute, hook: Hook) -> None:
    assert await fake.send_inbound(hook.url, from_="+14155550100", to="+12065550100", body="hey") == (200, "")
    await fake.send_inbound(
        hook.url, from_="+14155550100", to="+12065550100", body="pic", media_urls=["https://m/1.jpg"],
        api_version="v2.2",
    )  # fmt: skip
    (_, _, sms), (_, _, mms) = hook.calls
    attributes = sms["data"]["attributes"]
    assert (attributes["from"], attributes["to"], attributes["body"], attributes["is_mms"]) == (
        "14155550100",
        "12065550100",
        "hey",
        False,
    )
    assert sms["data"]["id"].startswith("mdr2-") and "included" not in sms
    assert (mms["data"]["attributes"]["from"], mms["data"]["attributes"]["is_mms"]) == ("+14155550100", True)
    [media] = mms["included"]
    assert (media["type"], media["attributes"]["url"]) == ("media", "https://m/1.jpg")
    assert mms["data"]["relationships"]["media"]["data"] == [{"id": media["id"], "type": "media"}]


async def test_steering_over_http(fake: FakeFlowroute, http: aiohttp.ClientSession, hook: Hook) -> None:
    config = {
        "number_errors": {"+14155550199": 403},
        "fail_requests": {"count": 1, "status": 429, "retry_after": 2},
        "undeliverable": {"14155550100": None},
    }
    async with http.post(f"{fake.url}/_fake/config", json=config) as answer:
        assert answer.status == 200
    async with http.post(f"{fake.url}/_fake/config", json={"latency": "slow"}) as answer:
        assert answer.status == 400
    async with http.post(
        f"{fake.url}/v2.1/messages", json=_document(to="14155550100"), headers=_auth(fake)
    ) as throttled:
        assert (throttled.status, throttled.headers["Retry-After"]) == (429, "2")
    refused = await _post(http, fake, _document(to="14155550199"))
    for _ in range(2):
        await _post(http, fake, _document(to="14155550100"))
    async with http.get(f"{fake.url}/_fake/messages", params={"to": "+14155550100"}) as answer:
        listed = await answer.json()
    inbound = {"url": hook.url, "from": "+14155550100", "to": "+12065550100", "body": "yo"}
    async with http.post(f"{fake.url}/_fake/inbound", json=inbound) as answer:
        injected = await answer.json()
    async with http.post(f"{fake.url}/_fake/reset") as answer:
        assert answer.status == 200
    assert (refused[0], refused[2]["errors"][0]["status"]) == (403, 403)
    assert (listed["count"], listed["requests"], listed["duplicates"]) == (2, 4, 1)
    assert [m["to"] for m in listed["messages"]] == ["14155550100", "14155550100"]
    assert injected == {"status": 200, "body": ""}
    assert hook.calls[0][2]["data"]["attributes"]["body"] == "yo"
    assert fake.received() == [] and fake.requests == 0 and fake.undeliverable == {}
