"""``/compat/imqs`` (seed 001): every request of the seed's README replayed over loopback, with
the documented status codes and shapes, the error cases, bad input changing nothing, the surface
switched off, and tenancy. Messages go through the sandbox channel, so they reach delivered."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from support.gateway import GatewayFactory, RunningGateway, UrlFactory
from tidings.store.schema import batches, messages

IMQS = "/compat/imqs"
SEED_SETTINGS: dict[str, Any] = {"default_country": "ZA", "allowed_countries": ["ZA", "BW"]}
SEND_FIELDS = {
    "refNumber",
    "validNumbers",
    "invalidNumbers",
    "sendSuccess",
    "statusDescription",
    "messagesSent",
}


async def _seed_gateway(factory: GatewayFactory, url_factory: UrlFactory, **imqs: Any) -> RunningGateway:
    return await factory(url_factory, compat={"imqs": {**SEED_SETTINGS, **imqs}})


async def _rows(gw: RunningGateway) -> tuple[int, int]:
    async with gw.gateway.db.read() as conn:
        sent = (await conn.execute(select(func.count()).select_from(messages))).scalar_one()
        made = (await conn.execute(select(func.count()).select_from(batches))).scalar_one()
    return sent, made


async def _subaccount(gw: RunningGateway, name: str) -> str:
    created = await gw.call("POST", "/v1/accounts", {"name": name})
    assert created.status == 201, created.body
    key = await gw.call(
        "POST", "/v1/keys", {"name": name, "role": "sender", "account_id": created.body["id"]}
    )
    assert key.status == 201, key.body
    return str(key.body["secret"])


async def test_the_documented_requests_answer_as_documented(
    gateway_factory: GatewayFactory, database_url_factory: UrlFactory
) -> None:
    gw = await _seed_gateway(gateway_factory, database_url_factory)

    # sendSMS, the README's data params as given.
    sent = await gw.call(
        "POST",
        f"{IMQS}/sendsms",
        {"message": "text message to send", "msisdns": ["0830000000", "27840000000"]},
    )
    assert sent.status == 200, sent.body
    assert set(sent.body) == SEND_FIELDS
    assert sent.body["refNumber"].startswith("bat_")
    assert {k: v for k, v in sent.body.items() if k != "refNumber"} == {
        "validNumbers": 2,
        "invalidNumbers": 0,
        "sendSuccess": True,
        "statusDescription": "",
        "messagesSent": 2,
    }
    # One native batch, the same as POST /v1/messages would have made.
    batch = await gw.wait_for_batch(sent.body["refNumber"])
    assert batch["accepted"] == 2 and batch["status_counts"] == {"delivered": 2}

    # messageStatus: plain text.
    status = await gw.call("GET", f"{IMQS}/messagestatus/0830000000")
    assert status.status == 200
    assert status.headers["Content-Type"].startswith("text/plain")
    assert status.body == "delivered"
    assert (await gw.call("GET", f"{IMQS}/messagestatus/27840000000")).body == "delivered"
    never = await gw.call("GET", f"{IMQS}/messagestatus/0821111111")
    assert (never.status, never.body) == (200, "Error: no data available")
    assert never.headers["Content-Type"].startswith("text/plain")

    # Normalize: the README's example and its answer, exactly.
    normalized = await gw.call(
        "POST",
        f"{IMQS}/normalize",
        {"msisdns": ["0830000000", "27840000000", "numbersToClean", "0820000000"]},
    )
    assert normalized.status == 200
    assert normalized.body == ["27830000000", "27840000000", "27820000000"]


async def test_numbers_are_cleaned_deduplicated_and_held_to_the_allowed_countries(
    gateway_factory: GatewayFactory, sqlite_url_factory: UrlFactory
) -> None:
    gw = await _seed_gateway(gateway_factory, sqlite_url_factory)
    given = ["083 000 0000", "+27830000000", "0027 83 000 0000", "+267 71 123 456", "+14155550100", ""]
    normalized = await gw.call("POST", f"{IMQS}/normalize", {"msisdns": given})
    assert normalized.status == 200
    assert normalized.body == ["27830000000", "26771123456"]  # repeats merged; US dropped

    sent = await gw.call("POST", f"{IMQS}/sendsms", {"message": "hi", "msisdns": given})
    assert sent.status == 200 and sent.body["sendSuccess"] is True
    assert (sent.body["validNumbers"], sent.body["invalidNumbers"], sent.body["messagesSent"]) == (2, 2, 2)
    batch = await gw.wait_for_batch(sent.body["refNumber"])
    listed = await gw.call("GET", f"/v1/messages?batch_id={batch['id']}")
    assert sorted(m["to"] for m in listed.body["data"]) == ["+26771123456", "+27830000000"]


async def test_without_surface_settings_the_gateway_default_country_reads_local_numbers(
    gateway_factory: GatewayFactory, sqlite_url_factory: UrlFactory
) -> None:
    gw = await gateway_factory(sqlite_url_factory, default_country="ZA")
    normalized = await gw.call("POST", f"{IMQS}/normalize", {"msisdns": ["0830000000", "+14155550100"]})
    assert normalized.body == ["27830000000", "14155550100"]  # no allow-list: every country
    bare = await gateway_factory(sqlite_url_factory)
    assert (await bare.call("POST", f"{IMQS}/normalize", {"msisdns": ["0830000000"]})).body == []


async def test_refused_sends_answer_200_with_send_success_false_and_send_nothing(
    gateway_factory: GatewayFactory, sqlite_url_factory: UrlFactory
) -> None:
    gw = await _seed_gateway(gateway_factory, sqlite_url_factory, max_message_segments=1, max_batch_size=2)
    before = await _rows(gw)

    none_valid = await gw.call(
        "POST", f"{IMQS}/sendsms", {"message": "hi", "msisdns": ["nope", "+14155550100"]}
    )
    assert none_valid.status == 200
    assert none_valid.body == {
        "refNumber": "",
        "validNumbers": 0,
        "invalidNumbers": 2,
        "sendSuccess": False,
        "statusDescription": "Error no_valid_recipients: none of the numbers is a valid mobile number "
        "of an allowed country",
        "messagesSent": 0,
    }

    too_long = await gw.call("POST", f"{IMQS}/sendsms", {"message": "x" * 161, "msisdns": ["0830000000"]})
    assert too_long.status == 200 and too_long.body["sendSuccess"] is False
    assert too_long.body["statusDescription"] == (
        "Error too_many_segments: the message needs 2 segments, at most 1"
    )
    assert (too_long.body["validNumbers"], too_long.body["messagesSent"]) == (1, 0)

    too_many = await gw.call(
        "POST", f"{IMQS}/sendsms", {"message": "hi", "msisdns": ["0830000001", "0830000002", "0830000003"]}
    )
    assert too_many.status == 200 and too_many.body["sendSuccess"] is False
    assert too_many.body["statusDescription"] == "Error too_many_recipients: 3 numbers, at most 2 per request"

    # The native intake's own refusal (its body limit) comes back the same way.
    huge = await gw.call("POST", f"{IMQS}/sendsms", {"message": "x" * 100_000, "msisdns": ["0830000000"]})
    assert huge.status == 200 and huge.body["sendSuccess"] is False
    assert huge.body["statusDescription"].startswith("Error ")
    assert await _rows(gw) == before


async def test_a_message_the_provider_refuses_reads_failed(
    gateway_factory: GatewayFactory, database_url_factory: UrlFactory
) -> None:
    gw = await gateway_factory(
        database_url_factory, compat={"imqs": SEED_SETTINGS}, sandbox={"reject_numbers": ["+27830000009"]}
    )
    sent = await gw.call("POST", f"{IMQS}/sendsms", {"message": "hi", "msisdns": ["0830000009"]})
    assert sent.body["sendSuccess"] is True
    await gw.wait_for_batch(sent.body["refNumber"])
    status = await gw.call("GET", f"{IMQS}/messagestatus/0830000009")
    assert (status.status, status.body) == (200, "failed")


async def test_a_caller_without_valid_credentials_gets_401(
    gateway_factory: GatewayFactory, sqlite_url_factory: UrlFactory
) -> None:
    gw = await _seed_gateway(gateway_factory, sqlite_url_factory)
    before = await _rows(gw)
    requests = [
        ("POST", "/sendsms", {"message": "hi", "msisdns": ["0830000000"]}),
        ("GET", "/messagestatus/0830000000", None),
        ("POST", "/normalize", {"msisdns": ["0830000000"]}),
    ]
    me = (await gw.call("GET", "/v1/accounts/me")).body
    for method, path, body in requests:
        anonymous = await gw.call(method, IMQS + path, body, auth=False)
        assert anonymous.status == 401 and set(anonymous.body) == {"error"}, anonymous.body
        assert "WWW-Authenticate" in anonymous.headers
        wrong_key = await gw.call(method, IMQS + path, body, key="tdk_not_a_key")
        assert wrong_key.status == 401 and set(wrong_key.body) == {"error"}
        wrong_token = await gw.call(method, IMQS + path, body, headers=gw.basic(me["id"], "wrong"))
        assert wrong_token.status == 401
    assert await _rows(gw) == before
    # HTTP Basic with the account id and auth token works as the API key does.
    basic = await gw.call(
        "POST", f"{IMQS}/normalize", {"msisdns": ["0830000000"]}, headers=gw.basic(me["id"], me["auth_token"])
    )
    assert (basic.status, basic.body) == (200, ["27830000000"])
    viewer = (await gw.call("POST", "/v1/keys", {"name": "v", "role": "viewer"})).body["secret"]
    refused = await gw.call(
        "POST", f"{IMQS}/sendsms", {"message": "hi", "msisdns": ["0830000000"]}, key=viewer
    )
    assert refused.status == 403 and set(refused.body) == {"error"}
    assert await _rows(gw) == before


async def test_bad_input_is_a_400_that_changes_nothing(
    gateway_factory: GatewayFactory, sqlite_url_factory: UrlFactory
) -> None:
    gw = await _seed_gateway(gateway_factory, sqlite_url_factory)
    before = await _rows(gw)
    bad_bodies: list[Any] = [
        [],
        "text",
        {},
        {"message": "hi"},
        {"message": "", "msisdns": ["0830000000"]},
        {"message": 5, "msisdns": ["0830000000"]},
        {"message": "hi", "msisdns": "0830000000"},
        {"message": "hi", "msisdns": []},
        {"message": "hi", "msisdns": [830000000]},
    ]
    for body in bad_bodies:
        got = await gw.call("POST", f"{IMQS}/sendsms", body)
        assert got.status == 400 and set(got.body) == {"error"}, (body, got.body)
    for body in ([], {}, {"msisdns": "0830000000"}, {"msisdns": [None]}):
        got = await gw.call("POST", f"{IMQS}/normalize", body)
        assert got.status == 400 and set(got.body) == {"error"}, (body, got.body)
    broken = await gw.call(
        "POST", f"{IMQS}/sendsms", data=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert broken.status == 400 and broken.body == {"error": "the request body is not valid JSON"}
    unknown = await gw.call("GET", f"{IMQS}/nothing-here")
    assert unknown.status == 404 and unknown.body == {"error": "no such endpoint"}
    wrong_method = await gw.call("GET", f"{IMQS}/sendsms")
    assert wrong_method.status == 405 and set(wrong_method.body) == {"error"}
    assert await _rows(gw) == before


async def test_the_surface_switched_off_answers_404(
    gateway_factory: GatewayFactory, sqlite_url_factory: UrlFactory
) -> None:
    gw = await gateway_factory(sqlite_url_factory, compat={"imqs": {"enabled": False}})
    before = await _rows(gw)
    off = await gw.call("POST", f"{IMQS}/sendsms", {"message": "hi", "msisdns": ["+27830000000"]})
    assert off.status == 404
    assert (await gw.call("GET", f"{IMQS}/messagestatus/+27830000000")).status == 404
    assert await _rows(gw) == before


async def test_message_status_reads_only_the_callers_account_tree(
    gateway_factory: GatewayFactory, database_url_factory: UrlFactory
) -> None:
    gw = await _seed_gateway(gateway_factory, database_url_factory)
    alice, bob = await _subaccount(gw, "alice"), await _subaccount(gw, "bob")
    sent = await gw.call("POST", f"{IMQS}/sendsms", {"message": "hi", "msisdns": ["0830000005"]}, key=alice)
    assert sent.body["sendSuccess"] is True, sent.body
    await gw.wait_for_batch(sent.body["refNumber"])
    path = f"{IMQS}/messagestatus/0830000005"
    assert (await gw.call("GET", path, key=alice)).body == "delivered"
    assert (await gw.call("GET", path, key=bob)).body == "Error: no data available"  # a sibling
    assert (await gw.call("GET", path)).body == "delivered"  # the parent reads its subaccounts
    # The sibling's batch is not the other's to read natively either.
    assert (await gw.call("GET", f"/v1/batches/{sent.body['refNumber']}", key=bob)).status == 404


async def test_a_long_list_is_normalized_and_sent_as_one_batch(
    gateway_factory: GatewayFactory, sqlite_url_factory: UrlFactory
) -> None:
    gw = await _seed_gateway(gateway_factory, sqlite_url_factory)
    numbers = [f"08300{i:05d}" for i in range(1500)]
    normalized = await gw.call("POST", f"{IMQS}/normalize", {"msisdns": [*numbers, *numbers[:10], "junk"]})
    assert normalized.body == [f"278300{i:05d}" for i in range(1500)]
    sent = await gw.call("POST", f"{IMQS}/sendsms", {"message": "hi", "msisdns": numbers})
    assert sent.body["sendSuccess"] is True and sent.body["messagesSent"] == 1500
    assert (await gw.call("GET", f"/v1/batches/{sent.body['refNumber']}")).body["accepted"] == 1500


async def test_a_message_on_its_way_reads_sent_and_a_canceled_one_failed(
    gateway_factory: GatewayFactory, sqlite_url_factory: UrlFactory
) -> None:
    gw = await _seed_gateway(gateway_factory, sqlite_url_factory)
    # Sent natively: the surface reads every message of the account, whichever API sent it.
    later = await gw.call(
        "POST", "/v1/messages", {"to": "+27830000007", "body": "later", "send_at": "2099-01-01T00:00:00Z"}
    )
    assert later.status == 422  # past the schedule horizon: nothing sent, still no data
    assert (await gw.call("GET", f"{IMQS}/messagestatus/0830000007")).body == "Error: no data available"
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    scheduled = await gw.call(
        "POST", "/v1/messages", {"to": "+27830000007", "body": "later", "send_at": tomorrow}
    )
    assert scheduled.status == 202, scheduled.body
    assert (await gw.call("GET", f"{IMQS}/messagestatus/0830000007")).body == "sent"
    canceled = await gw.call("DELETE", f"/v1/messages/{scheduled.body['message_ids'][0]}")
    assert canceled.status == 200
    assert (await gw.call("GET", f"{IMQS}/messagestatus/0830000007")).body == "failed"
