"""Routes choose a message's channel by kind, country and prefix; a fallback takes over."""

from __future__ import annotations

from typing import Any

from support.gateway import FAST_DISPATCH, GatewayFactory, RunningGateway, UrlFactory


async def _channel(gw: RunningGateway, name: str, **settings: Any) -> str:
    row = await gw.create_channel(type="sandbox", name=name, settings=settings)
    return str(row["id"])


async def _default_channel(gw: RunningGateway) -> str:
    sent = await gw.call("POST", "/v1/messages", {"to": "+14155550999", "body": "probe"})
    return str(sent.body["channel_id"])


async def test_routes_pick_channels_by_prefix_country_and_kind(
    gateway_factory: GatewayFactory, database_url_factory: UrlFactory
) -> None:
    gw = await gateway_factory(database_url_factory)
    uk, whatsapp = await _channel(gw, "uk"), await _channel(gw, "wa")
    default = await _default_channel(gw)
    made = [
        await gw.call("POST", "/v1/routes", body)
        for body in (
            {"name": "uk mobiles", "priority": 10, "match": {"prefix": "+447"}, "channel_id": uk},
            {"name": "whatsapp", "priority": 20, "match": {"kind": "whatsapp"}, "channel_id": whatsapp},
            {"name": "south africa", "priority": 30, "match": {"country": "za"}, "channel_id": uk},
        )
    ]
    assert [m.status for m in made] == [201, 201, 201], made
    assert made[2].body["match"] == {"kind": None, "country": "ZA", "prefix": None}

    recipients = ["+447911123456", "whatsapp:+14155550100", "+27830000001", "+14155550101"]
    sent = await gw.call("POST", "/v1/messages", {"to": recipients, "body": "routed"})
    assert sent.status == 202, sent.body
    got = {}
    for message_id in sent.body["message_ids"]:
        message = await gw.wait_for_status(message_id, {"delivered"})
        got[message["to"]] = (message["channel_id"], message["routing"]["route"])

    assert got == {
        "+447911123456": (uk, "uk mobiles"),
        "whatsapp:+14155550100": (whatsapp, "whatsapp"),
        "+27830000001": (uk, "south africa"),
        "+14155550101": (default, None),
    }
    listed = await gw.call("GET", "/v1/routes")
    assert [r["name"] for r in listed.body["data"]] == ["uk mobiles", "whatsapp", "south africa"]


async def test_a_named_channel_bypasses_routes(
    gateway_factory: GatewayFactory, database_url_factory: UrlFactory
) -> None:
    gw = await gateway_factory(database_url_factory)
    other = await _channel(gw, "other")
    default = await _default_channel(gw)
    await gw.call("POST", "/v1/routes", {"name": "all", "channel_id": other})

    sent = await gw.call("POST", "/v1/messages", {"to": "+14155550102", "body": "hi", "channel": default})
    message = await gw.call("GET", f"/v1/messages/{sent.body['message_ids'][0]}")
    assert message.body["channel_id"] == default and message.body["routing"]["route"] is None


async def test_the_fallback_takes_over_when_the_primary_keeps_failing(
    gateway_factory: GatewayFactory, database_url_factory: UrlFactory
) -> None:
    gw = await gateway_factory(
        database_url_factory, dispatch=FAST_DISPATCH.model_copy(update={"max_attempts": 2})
    )
    broken, spare = await _channel(gw, "broken", failure_rate=1.0), await _channel(gw, "spare")
    made = await gw.call(
        "POST",
        "/v1/routes",
        {"name": "with spare", "channel_id": broken, "fallback_channel_id": spare},
    )
    assert made.status == 201, made.body

    sent = await gw.call("POST", "/v1/messages", {"to": "+14155550103", "body": "hi"})
    [message_id] = sent.body["message_ids"]
    message = await gw.wait_for_status(message_id, {"delivered", "failed"})

    assert message["status"] == "delivered"
    assert message["channel_id"] == spare
    assert message["routing"] == {"route": "with spare", "fallback_channel_id": spare, "via_fallback": True}
    events = await gw.call("GET", f"/v1/messages/{message_id}/events")
    moved = [e for e in events.body["data"] if e["detail"] and "fallback" in e["detail"]]
    assert len(moved) == 1 and moved[0]["code"] == "sandbox_unavailable"


async def test_without_a_fallback_spent_retries_fail_the_message(
    gateway_factory: GatewayFactory, database_url_factory: UrlFactory
) -> None:
    gw = await gateway_factory(
        database_url_factory, dispatch=FAST_DISPATCH.model_copy(update={"max_attempts": 2})
    )
    broken = await _channel(gw, "broken", failure_rate=1.0)
    await gw.call("POST", "/v1/routes", {"name": "no spare", "channel_id": broken})

    sent = await gw.call("POST", "/v1/messages", {"to": "+14155550104", "body": "hi"})
    message = await gw.wait_for_status(sent.body["message_ids"][0], {"delivered", "failed"})

    assert message["status"] == "failed" and message["routing"]["via_fallback"] is False


async def test_bad_routes_are_refused_and_change_nothing(
    gateway_factory: GatewayFactory, sqlite_url_factory: UrlFactory
) -> None:
    gw = await gateway_factory(sqlite_url_factory)
    channel = await _channel(gw, "c")
    good = {"name": "r", "channel_id": channel}
    cases = [
        ({**good, "channel_id": "chn_nope"}, 422, "unknown_channel"),
        ({**good, "fallback_channel_id": channel}, 422, "invalid_fallback"),
        ({**good, "match": {"country": "XX"}}, 422, None),
        ({**good, "match": {"prefix": "447"}}, 422, None),
        ({**good, "match": {"kind": "pigeon"}}, 422, None),
        ({**good, "priority": -1}, 422, None),
        ({**good, "surprise": 1}, 400, None),
    ]
    for body, status, code in cases:
        answer = await gw.call("POST", "/v1/routes", body)
        assert answer.status == status, (body, answer.body)
        if code:
            assert answer.body["error"]["code"] == code
    assert (await gw.call("GET", "/v1/routes")).body["data"] == []

    assert (await gw.call("POST", "/v1/routes", good)).status == 201
    duplicate = await gw.call("POST", "/v1/routes", good)
    assert duplicate.status == 409 and duplicate.body["error"]["code"] == "route_exists"
    assert (
        await gw.call("GET", "/v1/routes/rte_unknown")
        and (await gw.call("GET", "/v1/routes/rte_unknown")).status == 404
    )


async def test_route_updates_and_deletes_take_effect(
    gateway_factory: GatewayFactory, sqlite_url_factory: UrlFactory
) -> None:
    gw = await gateway_factory(sqlite_url_factory)
    first, second = await _channel(gw, "first"), await _channel(gw, "second")
    made = await gw.call("POST", "/v1/routes", {"name": "r", "channel_id": first})
    route_id = made.body["id"]

    changed = await gw.call("PATCH", f"/v1/routes/{route_id}", {"channel_id": second, "priority": 5})
    assert changed.status == 200 and changed.body["channel_id"] == second and changed.body["priority"] == 5
    gw.gateway.routes._routers.clear()  # the send path caches routes for a few seconds
    sent = await gw.call("POST", "/v1/messages", {"to": "+14155550105", "body": "hi"})
    assert sent.body["channel_id"] == second

    assert (await gw.call("DELETE", f"/v1/routes/{route_id}")).status == 204
    assert (await gw.call("GET", f"/v1/routes/{route_id}")).status == 404


async def test_an_open_circuit_hands_messages_to_the_fallback_at_once(
    gateway_factory: GatewayFactory, database_url_factory: UrlFactory
) -> None:
    # Retries are far from spent: only the open circuit can move these messages.
    gw = await gateway_factory(
        database_url_factory,
        dispatch=FAST_DISPATCH.model_copy(
            update={"max_attempts": 50, "circuit_failure_threshold": 3, "circuit_cooldown_seconds": 30}
        ),
    )
    broken, spare = await _channel(gw, "broken", failure_rate=1.0), await _channel(gw, "spare")
    await gw.call(
        "POST", "/v1/routes", {"name": "guarded", "channel_id": broken, "fallback_channel_id": spare}
    )

    sent = await gw.call("POST", "/v1/messages", {"to": [f"+1415555{n:04d}" for n in range(20)], "body": "x"})
    messages = [await gw.wait_for_status(i, {"delivered", "failed"}) for i in sent.body["message_ids"]]

    assert {m["status"] for m in messages} == {"delivered"}
    assert {m["channel_id"] for m in messages} == {spare}
    codes = set()
    for message in messages:
        events = await gw.call("GET", f"/v1/messages/{message['id']}/events")
        codes |= {e["code"] for e in events.body["data"] if e["detail"] and "fallback" in e["detail"]}
    assert "circuit_open" in codes
