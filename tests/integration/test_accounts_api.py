"""Accounts, keys, roles and tenancy: a parent reads its subaccounts, never the reverse."""

from __future__ import annotations

from support.gateway import RunningGateway


async def _subaccount(gw: RunningGateway, name: str, key: str | None = None) -> tuple[dict[str, str], str]:
    created = await gw.call("POST", "/v1/accounts", {"name": name}, key=key)
    assert created.status == 201, created.body
    account = created.body
    made = await gw.call(
        "POST",
        "/v1/keys",
        {"name": f"{name} admin", "role": "admin", "account_id": account["id"]},
        key=key,
    )
    assert made.status == 201, made.body
    return account, made.body["secret"]


async def test_me_shows_the_account_and_its_token_to_admins(gw: RunningGateway) -> None:
    me = await gw.call("GET", "/v1/accounts/me")
    assert me.status == 200
    assert me.body["id"].startswith("AC") and len(me.body["id"]) == 34
    assert me.body["parent_id"] is None and me.body["auth_token"]
    basic = await gw.call("GET", "/v1/accounts/me", headers=gw.basic(me.body["id"], me.body["auth_token"]))
    assert basic.status == 200 and basic.body["id"] == me.body["id"]
    wrong = await gw.call("GET", "/v1/accounts/me", headers=gw.basic(me.body["id"], "not-the-token"))
    assert wrong.status == 401


async def test_keys_are_shown_once_stored_hashed_and_revocable(gw: RunningGateway) -> None:
    made = await gw.call("POST", "/v1/keys", {"name": "ci", "role": "sender"})
    assert made.status == 201
    secret = made.body["secret"]
    listed = await gw.call("GET", "/v1/keys")
    entry = next(k for k in listed.body["data"] if k["id"] == made.body["id"])
    assert "secret" not in entry and entry["prefix"] == secret[:8]
    async with gw.gateway.db.read() as conn:
        from sqlalchemy import text

        stored = (
            await conn.execute(text("SELECT key_hash FROM api_keys WHERE id = :i"), {"i": made.body["id"]})
        ).scalar_one()
    assert secret not in stored and len(stored) == 64
    assert (await gw.call("GET", "/v1/messages", key=secret)).status == 200
    revoked = await gw.call("DELETE", f"/v1/keys/{made.body['id']}")
    assert revoked.status == 200 and revoked.body["revoked_at"]
    assert (await gw.call("GET", "/v1/messages", key=secret)).status == 401


async def test_roles_limit_what_a_key_may_do(gw: RunningGateway) -> None:
    viewer = (await gw.call("POST", "/v1/keys", {"name": "v", "role": "viewer"})).body["secret"]
    sender = (await gw.call("POST", "/v1/keys", {"name": "s", "role": "sender"})).body["secret"]
    assert (await gw.call("GET", "/v1/messages", key=viewer)).status == 200
    refused = await gw.call("POST", "/v1/messages", {"to": "+14155550300", "body": "x"}, key=viewer)
    assert refused.status == 403 and refused.body["error"]["code"] == "forbidden"
    assert (
        await gw.call("POST", "/v1/messages", {"to": "+14155550300", "body": "x"}, key=sender)
    ).status == 202
    assert (await gw.call("POST", "/v1/keys", {"name": "x"}, key=sender)).status == 403
    assert (await gw.call("GET", "/v1/keys", key=viewer)).status == 403
    me = await gw.call("GET", "/v1/accounts/me", key=sender)
    assert me.status == 200 and "auth_token" not in me.body


async def test_tenants_are_isolated_and_parents_read_children(gw: RunningGateway) -> None:
    a, a_key = await _subaccount(gw, "tenant A")
    b, b_key = await _subaccount(gw, "tenant B")
    from_a = await gw.call("POST", "/v1/messages", {"to": "+14155550301", "body": "from A"}, key=a_key)
    assert from_a.status == 202  # A uses its parent's default sandbox channel
    a_msg = from_a.body["message_ids"][0]
    await gw.wait_for_status(a_msg, {"delivered"}, key=a_key)
    from_b = await gw.call("POST", "/v1/messages", {"to": "+14155550302", "body": "from B"}, key=b_key)
    b_msg = from_b.body["message_ids"][0]

    # Siblings: 404, never 403, on every read and write.
    for path in (
        f"/v1/messages/{a_msg}",
        f"/v1/messages/{a_msg}/events",
        f"/v1/batches/{from_a.body['id']}",
        f"/v1/accounts/{a['id']}",
    ):
        got = await gw.call("GET", path, key=b_key)
        assert got.status == 404, (path, got.body)
    assert (await gw.call("DELETE", f"/v1/messages/{a_msg}", key=b_key)).status == 404
    assert (await gw.call("DELETE", f"/v1/batches/{from_a.body['id']}", key=b_key)).status == 404
    assert a_msg not in [m["id"] for m in (await gw.call("GET", "/v1/messages", key=b_key)).body["data"]]
    assert (await gw.call("GET", "/v1/numbers/+14155550301/status", key=b_key)).status == 404

    # Child cannot read the parent's data.
    parent_msg = (await gw.call("POST", "/v1/messages", {"to": "+14155550303", "body": "parent"})).body[
        "message_ids"
    ][0]
    assert (await gw.call("GET", f"/v1/messages/{parent_msg}", key=a_key)).status == 404
    me = await gw.call("GET", "/v1/accounts/me")
    assert (await gw.call("GET", f"/v1/accounts/{me.body['id']}", key=a_key)).status == 404

    # Parent reads both children.
    assert (await gw.call("GET", f"/v1/messages/{a_msg}")).status == 200
    assert (await gw.call("GET", f"/v1/messages/{b_msg}")).status == 200
    listed = {m["id"] for m in (await gw.call("GET", "/v1/messages")).body["data"]}
    assert {a_msg, b_msg, parent_msg} <= listed
    subaccounts = {acc["id"] for acc in (await gw.call("GET", "/v1/accounts")).body["data"]}
    assert subaccounts == {a["id"], b["id"]}

    # A child cannot mint keys for its sibling or its parent.
    made = await gw.call("POST", "/v1/keys", {"name": "x", "account_id": b["id"]}, key=a_key)
    assert made.status == 404
    # Nor revoke the parent's keys.
    parent_keys = (await gw.call("GET", "/v1/keys")).body["data"]
    root_key = next(k for k in parent_keys if k["account_id"] == me.body["id"])
    assert (await gw.call("DELETE", f"/v1/keys/{root_key['id']}", key=a_key)).status == 404


async def test_idempotent_key_creation_never_stores_the_secret_in_clear(gw: RunningGateway) -> None:
    headers = {"Idempotency-Key": "key-once"}
    first = await gw.call("POST", "/v1/keys", {"name": "once"}, headers=headers)
    second = await gw.call("POST", "/v1/keys", {"name": "once"}, headers=headers)
    assert first.body == second.body and first.status == second.status == 201
    async with gw.gateway.db.read() as conn:
        from sqlalchemy import text

        stored = (await conn.execute(text("SELECT response_body FROM idempotency_keys"))).scalars().all()
    assert stored and all(first.body["secret"] not in body for body in stored)
