"""Account webhook settings at the API edge: validation, roles, tenancy; bad input changes nothing."""

from __future__ import annotations

from sqlalchemy import func, select

from support.gateway import RunningGateway
from tidings.store.schema import account_webhooks, messages

BAD_URLS = [
    "ftp://example.com/hook",
    "not a url",
    "http://",
    "https://user:pw@example.com/hook",
    "http://example.com:99999/",
    "https://example.com/" + "a" * 2048,
    " https://example.com/hook",
    "javascript:alert(1)",
]


async def test_a_bad_webhook_url_is_a_422_that_changes_nothing(gw_sqlite: RunningGateway) -> None:
    gw = gw_sqlite
    good = await gw.call("PATCH", "/v1/accounts/me", {"webhook_url": "https://example.com/hook"})
    assert good.status == 200
    for bad in BAD_URLS:
        refused = await gw.call("PATCH", "/v1/accounts/me", {"webhook_url": bad, "name": "renamed"})
        assert refused.status == 422, (bad, refused.body)
        assert refused.body["error"]["code"] == "invalid_value"
        assert refused.body["error"]["field"] == "webhook_url"
    me = await gw.call("GET", "/v1/accounts/me")
    assert me.body["webhook_url"] == "https://example.com/hook" and me.body["name"] != "renamed"
    wrong_type = await gw.call("PATCH", "/v1/accounts/me", {"webhook_url": 5})
    assert wrong_type.status == 400
    unknown = await gw.call("PATCH", "/v1/accounts/me", {"webhook": "https://example.com"})
    assert unknown.status == 400 and unknown.body["error"]["code"] == "unknown_field"


async def test_null_clears_the_url_and_keeps_the_secret(gw_sqlite: RunningGateway) -> None:
    gw = gw_sqlite
    first = await gw.call("PATCH", "/v1/accounts/me", {"webhook_url": "http://127.0.0.1:9/a"})
    cleared = await gw.call("PATCH", "/v1/accounts/me", {"webhook_url": None})
    assert cleared.status == 200 and cleared.body["webhook_url"] is None
    assert "webhook_secret" not in cleared.body
    renamed = await gw.call("PATCH", "/v1/accounts/me", {"name": "Renamed"})
    assert renamed.body["name"] == "Renamed" and renamed.body["webhook_url"] is None
    async with gw.gateway.db.read() as conn:
        [sealed] = [r[0] for r in await conn.execute(select(account_webhooks.c.secret_ciphertext))]
    assert gw.gateway.box.open(sealed) == first.body["webhook_secret"]


async def test_a_bad_status_callback_is_a_422_that_stores_nothing(gw_sqlite: RunningGateway) -> None:
    for bad in BAD_URLS:
        refused = await gw_sqlite.call(
            "POST", "/v1/messages", {"to": "+14155550400", "body": "x", "status_callback": bad}
        )
        assert refused.status == 422, (bad, refused.body)
        assert refused.body["error"]["field"] == "status_callback"
    async with gw_sqlite.gateway.db.read() as conn:
        assert (await conn.execute(select(func.count()).select_from(messages))).scalar_one() == 0


async def test_only_admins_of_the_tree_change_webhook_settings(gw_sqlite: RunningGateway) -> None:
    gw = gw_sqlite
    sender = (await gw.call("POST", "/v1/keys", {"name": "s", "role": "sender"})).body["secret"]
    refused = await gw.call("PATCH", "/v1/accounts/me", {"webhook_url": "https://example.com"}, key=sender)
    assert refused.status == 403
    assert (await gw.call("POST", "/v1/accounts/me/webhook-secret", key=sender)).status == 403

    child = (await gw.call("POST", "/v1/accounts", {"name": "child"})).body
    sibling = (await gw.call("POST", "/v1/accounts", {"name": "sibling"})).body
    child_key = (
        await gw.call("POST", "/v1/keys", {"name": "c", "role": "admin", "account_id": child["id"]})
    ).body["secret"]
    # A parent manages its subaccount's webhook; a subaccount cannot see its sibling or parent.
    by_parent = await gw.call("PATCH", f"/v1/accounts/{child['id']}", {"webhook_url": "https://c.example"})
    assert by_parent.status == 200 and by_parent.body["webhook_secret"]
    for target in (sibling["id"], (await gw.call("GET", "/v1/accounts/me")).body["id"]):
        hidden = await gw.call(
            "PATCH", f"/v1/accounts/{target}", {"webhook_url": "https://x.example"}, key=child_key
        )
        assert hidden.status == 404 and hidden.body["error"]["code"] == "account_not_found"
        rotate = await gw.call("POST", f"/v1/accounts/{target}/webhook-secret", key=child_key)
        assert rotate.status == 404
    listed = await gw.call("GET", "/v1/accounts")
    assert {a["id"]: a["webhook_url"] for a in listed.body["data"]} == {
        child["id"]: "https://c.example",
        sibling["id"]: None,
    }
    async with gw.gateway.db.read() as conn:
        assert (await conn.execute(select(func.count()).select_from(account_webhooks))).scalar_one() == 1
