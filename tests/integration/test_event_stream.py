"""The live event stream on each backend: scoped to the caller's account tree, resumable with
Last-Event-ID, kept alive with comments, and ended by the client going away."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp

from support.gateway import GatewayFactory, RunningGateway, UrlFactory
from support.receiver import read_events
from tidings.config import EventStreamSettings
from tidings.metrics import EVENT_STREAMS

FAST_STREAM = EventStreamSettings(poll_interval_seconds=0.05, keep_alive_seconds=0.2)


@asynccontextmanager
async def _stream(
    gw: RunningGateway, key: str, last_event_id: str | None = None
) -> AsyncIterator[aiohttp.ClientResponse]:
    headers = {"Authorization": f"Bearer {key}"}
    if last_event_id is not None:
        headers["Last-Event-ID"] = last_event_id
    async with gw.session.get(gw.url + "/v1/events/stream", headers=headers) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/event-stream")
        yield response


async def _subaccount_key(gw: RunningGateway, name: str) -> str:
    account = await gw.call("POST", "/v1/accounts", {"name": name})
    key = await gw.call("POST", "/v1/keys", {"name": name, "role": "admin", "account_id": account.body["id"]})
    return str(key.body["secret"])


async def _send(gw: RunningGateway, to: str, key: str) -> str:
    sent = await gw.call("POST", "/v1/messages", {"to": to, "body": "hi"}, key=key)
    assert sent.status == 202, sent.body
    return str(sent.body["message_ids"][0])


async def test_stream_shows_the_callers_tree_only_and_resumes_after_last_event_id(
    gateway_factory: GatewayFactory, database_url_factory: UrlFactory
) -> None:
    gw = await gateway_factory(database_url_factory, event_stream=FAST_STREAM)
    child = await _subaccount_key(gw, "child")
    sibling = await _subaccount_key(gw, "sibling")

    async with _stream(gw, child) as child_stream, _stream(gw, gw.key) as parent_stream:
        from_parent = await _send(gw, "+14155550300", gw.key)
        from_sibling = await _send(gw, "+14155550301", sibling)
        await gw.wait_for_status(from_parent, {"delivered"})
        await gw.wait_for_status(from_sibling, {"delivered"})
        from_child = await _send(gw, "+14155550302", child)

        child_events = await read_events(child_stream, 2)
        parent_events = await read_events(parent_stream, 6)

    assert [(e.event, e.json["data"]["message"]["id"]) for e in child_events] == [
        ("message.status", from_child),
        ("message.status", from_child),
    ]
    assert [e.json["data"]["message"]["status"] for e in child_events] == ["sent", "delivered"]
    assert all(e.id == e.json["id"] and e.json["type"] == "message.status" for e in child_events)
    # The parent reads its subaccounts' events as well as its own, in the order they happened.
    by_message: dict[str, list[str]] = {}
    for event in parent_events:
        by_message.setdefault(event.json["data"]["message"]["id"], []).append(
            event.json["data"]["message"]["status"]
        )
    assert by_message == {m: ["sent", "delivered"] for m in (from_parent, from_sibling, from_child)}
    ids = [int(str(e.id).removeprefix("evt_")) for e in parent_events]
    assert ids == sorted(ids)

    first, second = child_events
    async with _stream(gw, child, last_event_id=first.id) as resumed:
        [again] = await read_events(resumed, 1)
        assert (again.id, again.data) == (second.id, second.data)
        later = await _send(gw, "+14155550303", child)
        following = await read_events(resumed, 2)
    assert [e.json["data"]["message"]["id"] for e in following] == [later, later]


async def test_stream_announces_inbound_messages(
    gateway_factory: GatewayFactory, database_url_factory: UrlFactory
) -> None:
    gw = await gateway_factory(database_url_factory, event_stream=FAST_STREAM)
    async with _stream(gw, gw.key) as stream:
        await gw.call(
            "POST", "/v1/sandbox/handsets/+14155550311/messages", {"to": "+14155550999", "body": "yo"}
        )
        [event] = await read_events(stream, 1)
    assert event.event == "message.received"
    assert event.json["data"]["message"]["body"] == "yo"


async def test_idle_stream_gets_keep_alive_comments_and_ends_when_the_client_leaves(
    gateway_factory: GatewayFactory, sqlite_url_factory: UrlFactory
) -> None:
    gw = await gateway_factory(sqlite_url_factory, event_stream=FAST_STREAM)
    before = EVENT_STREAMS._value.get()
    comments: list[str] = []
    async with _stream(gw, gw.key) as stream:
        # Nothing happens, so what arrives is keep-alive comments only.
        reader = asyncio.create_task(read_events(stream, 1, timeout=10, comments=comments))
        for _ in range(200):
            if comments:
                break
            await asyncio.sleep(0.02)
        reader.cancel()
        assert comments and comments[0].startswith(":")
        assert EVENT_STREAMS._value.get() == before + 1
    for _ in range(200):  # the server notices the disconnect and ends the generator
        if EVENT_STREAMS._value.get() == before:
            break
        await asyncio.sleep(0.02)
    assert EVENT_STREAMS._value.get() == before


async def test_stream_refuses_a_bad_last_event_id_and_missing_credentials(gw_sqlite: RunningGateway) -> None:
    for bad in ("123", "evt_", "evt_abc", "evt_0", "msg_1"):
        refused = await gw_sqlite.call("GET", "/v1/events/stream", headers={"Last-Event-ID": bad})
        assert refused.status == 400, bad
        assert refused.body["error"]["code"] == "invalid_last_event_id"
    anonymous = await gw_sqlite.call("GET", "/v1/events/stream", auth=False)
    assert anonymous.status == 401 and anonymous.body["error"]["code"] == "missing_credentials"
