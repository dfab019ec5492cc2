"""Sandbox handsets, OpenAPI, health and metrics."""

from __future__ import annotations

from support.gateway import RunningGateway


async def test_handset_sees_what_it_received_and_replies_enter_as_inbound(gw: RunningGateway) -> None:
    sent = await gw.call("POST", "/v1/messages", {"to": "+14155550400", "body": "Your code is 123456"})
    await gw.wait_for_status(sent.body["message_ids"][0], {"delivered"})
    await gw.call("POST", "/v1/messages", {"to": "+14155550401", "body": "not for 400"})
    inbox = await gw.call("GET", "/v1/sandbox/handsets/+14155550400/messages")
    assert inbox.status == 200
    assert [m["body"] for m in inbox.body["data"]] == ["Your code is 123456"]

    reply = await gw.call(
        "POST", "/v1/sandbox/handsets/+14155550400/messages", {"to": "+14155550999", "body": "thanks!"}
    )
    assert reply.status == 201, reply.body
    assert reply.body["direction"] == "inbound" and reply.body["status"] == "received"
    assert reply.body["from"] == "+14155550400" and reply.body["to"] == "+14155550999"
    inbound = await gw.call("GET", "/v1/messages?direction=inbound")
    assert [m["id"] for m in inbound.body["data"]] == [reply.body["id"]]
    events = await gw.call("GET", f"/v1/messages/{reply.body['id']}/events")
    assert [e["status"] for e in events.body["data"]] == ["received"]


async def test_handsets_carry_every_channel_address_form(gw: RunningGateway) -> None:
    sent = await gw.call(
        "POST",
        "/v1/messages",
        {"to": ["whatsapp:+14155550402", "telegram:123456789", "viber:AbC+/="], "body": "hi"},
    )
    assert sent.status == 202 and sent.body["accepted"] == 3
    for message_id in sent.body["message_ids"]:
        await gw.wait_for_status(message_id, {"delivered"})
    inbox = await gw.call("GET", "/v1/sandbox/handsets/whatsapp:+14155550402/messages")
    assert [m["to"] for m in inbox.body["data"]] == ["whatsapp:+14155550402"]


async def test_bad_handset_requests(gw_sqlite: RunningGateway) -> None:
    bad_number = await gw_sqlite.call("GET", "/v1/sandbox/handsets/hello/messages")
    assert bad_number.status == 422
    empty = await gw_sqlite.call(
        "POST", "/v1/sandbox/handsets/+14155550400/messages", {"to": "+14155550999", "body": " "}
    )
    assert empty.status == 422 and empty.body["error"]["code"] == "empty_body"
    unknown = await gw_sqlite.call(
        "POST", "/v1/sandbox/handsets/+14155550400/messages", {"to": "+14155550999", "body": "x", "extra": 1}
    )
    assert unknown.status == 400
    assert (await gw_sqlite.call("GET", "/v1/messages?direction=inbound")).body["data"] == []


async def test_openapi_docs_health_and_metrics(gw_sqlite: RunningGateway) -> None:
    spec = await gw_sqlite.call("GET", "/openapi.json", auth=False)
    assert spec.status == 200
    paths = spec.body["paths"]
    for path in (
        "/v1/messages",
        "/v1/messages/{message_id}",
        "/v1/messages/{message_id}/events",
        "/v1/batches/{batch_id}",
        "/v1/numbers/normalize",
        "/v1/numbers/{number}/status",
        "/v1/keys",
        "/v1/accounts/me",
        "/v1/sandbox/handsets/{number}/messages",
        "/healthz",
    ):
        assert path in paths, path
    assert "422" in paths["/v1/messages"]["post"]["responses"]
    assert (await gw_sqlite.call("GET", "/docs", auth=False)).status == 200
    assert (await gw_sqlite.call("GET", "/healthz", auth=False)).body == {"status": "ok"}
    assert (await gw_sqlite.call("GET", "/readyz", auth=False)).body["database"] == "ok"
    await gw_sqlite.call("POST", "/v1/messages", {"to": "+14155550403", "body": "count me"})
    metrics = await gw_sqlite.call("GET", "/metrics", auth=False)
    assert "tidings_messages_accepted_total" in metrics.body


async def test_normalize_endpoint(gw_sqlite: RunningGateway) -> None:
    got = await gw_sqlite.call(
        "POST",
        "/v1/numbers/normalize",
        {"numbers": ["0830000000", "+27830000000", "abc", "+1 415 555 0100"], "default_country": "za"},
    )
    assert got.status == 200
    assert got.body["valid"] == ["+27830000000", "+14155550100"]
    assert got.body["invalid"] == [{"input": "abc", "reason": "not_a_number"}]
    assert got.body["duplicates"] == 1


async def test_no_secret_appears_in_responses_after_creation(gw_sqlite: RunningGateway) -> None:
    made = await gw_sqlite.call("POST", "/v1/keys", {"name": "x"})
    secret = made.body["secret"]
    for path in ("/v1/keys", f"/v1/accounts/{(await gw_sqlite.call('GET', '/v1/accounts/me')).body['id']}"):
        assert secret not in str((await gw_sqlite.call("GET", path)).body)
