"""The Twilio surface's foundation and its Accounts resource, through the official SDK and raw
HTTP: authentication (account tokens, subaccounts, API keys), Twilio's error body, paging."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from twilio.base.exceptions import TwilioException, TwilioRestException

from support.gateway import RunningGateway
from support.twilio import TwilioClients, admin_credentials, sdk

API = "/twilio/api/2010-04-01"


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def twilio_error(code: int, status: int) -> dict[str, object]:
    return {"code": code, "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": status}


async def test_unknown_paths_and_methods_answer_twilio_errors(gw_sqlite: RunningGateway) -> None:
    admin = await admin_credentials(gw_sqlite)
    auth = basic(admin.account_sid, admin.auth_token)
    missing = await gw_sqlite.call("GET", f"{API}/Accounts/{admin.account_sid}/Nothing.json", headers=auth)
    assert missing.status == 404
    resource = f"/2010-04-01/Accounts/{admin.account_sid}/Nothing.json"
    assert missing.body == {
        **twilio_error(20404, 404),
        "message": f"The requested resource {resource} was not found",
    }
    elsewhere = await gw_sqlite.call("GET", "/twilio/voice/v1/Calls", headers=auth)
    assert elsewhere.status == 404 and elsewhere.body["code"] == 20404
    wrong_method = await gw_sqlite.call("PUT", f"{API}/Accounts.json", headers=auth)
    assert wrong_method.status == 405 and wrong_method.body["code"] == 20004
    assert set(wrong_method.body) == {"code", "message", "more_info", "status"}


async def test_credentials_are_checked_with_twilios_challenge(gw_sqlite: RunningGateway) -> None:
    admin = await admin_credentials(gw_sqlite)
    path = f"{API}/Accounts/{admin.account_sid}.json"
    for headers in (
        {},
        basic(admin.account_sid, "wrong-token"),
        basic("AC" + "0" * 32, admin.auth_token),
        basic("not-a-sid", admin.auth_token),
        {"Authorization": "Basic !!!"},
        {"Authorization": "Digest abc"},
    ):
        refused = await gw_sqlite.call("GET", path, headers=headers, auth=bool(headers))
        assert refused.status == 401, headers
        assert refused.body == {**twilio_error(20003, 401), "message": "Authenticate"}
        assert refused.headers["WWW-Authenticate"] == 'Basic realm="Twilio API"'
    assert (
        await gw_sqlite.call("GET", path, headers=basic(admin.account_sid, admin.auth_token))
    ).status == 200
    assert (await gw_sqlite.call("GET", path)).status == 200  # a native Bearer key is the same credential


async def test_unsupported_parameters_are_refused_and_change_nothing(gw_sqlite: RunningGateway) -> None:
    admin = await admin_credentials(gw_sqlite)
    auth = basic(admin.account_sid, admin.auth_token)
    path = f"{API}/Accounts/{admin.account_sid}.json"
    before = (await gw_sqlite.call("GET", path, headers=auth)).body
    for form in ({"FriendlyName": "renamed", "Colour": "blue"}, {"Status": "suspended"}):
        refused = await gw_sqlite.call("POST", path, headers=auth, data=form)
        assert refused.status == 400 and refused.body["code"] == 20001, refused.body
        assert ("Colour" if "Colour" in form else "Status") in refused.body["message"]
    on_query = await gw_sqlite.call("POST", path + "?FriendlyName=x", headers=auth, data={})
    assert on_query.status == 400 and "FriendlyName" in on_query.body["message"]
    as_json = await gw_sqlite.call("POST", path, {"FriendlyName": "x"}, headers=auth)
    assert as_json.status == 400 and as_json.body["code"] == 21200
    listed = await gw_sqlite.call("GET", f"{API}/Accounts.json?PageSize=abc", headers=auth)
    assert listed.status == 400 and "PageSize" in listed.body["message"]
    assert (await gw_sqlite.call("GET", path, headers=auth)).body == before


async def test_subaccounts_created_listed_and_confined_to_their_tree(
    gw: RunningGateway, twilio_clients: TwilioClients
) -> None:
    admin = await admin_credentials(gw)
    parent = twilio_clients(gw, admin.account_sid, admin.auth_token)
    me = await sdk(parent.api.accounts(admin.account_sid).fetch)
    assert me.sid == admin.account_sid and me.status == "active" and me.type == "Full"
    assert me.owner_account_sid == admin.account_sid and me.auth_token == admin.auth_token
    assert me.date_created is not None and me.date_created.tzinfo is not None  # RFC 2822 parsed

    first = await sdk(parent.api.accounts.create, friendly_name="Tenant A")
    second = await sdk(parent.api.accounts.create, friendly_name="Tenant B")
    assert first.friendly_name == "Tenant A" and first.owner_account_sid == admin.account_sid
    assert first.auth_token and first.sid.startswith("AC") and len(first.sid) == 34

    listed = await sdk(parent.api.accounts.list, page_size=1)
    assert listed[0].sid == admin.account_sid
    assert {a.sid for a in listed} == {admin.account_sid, first.sid, second.sid}
    named = await sdk(parent.api.accounts.list, friendly_name="Tenant B")
    assert [a.sid for a in named] == [second.sid]

    renamed = await sdk(parent.api.accounts(first.sid).update, friendly_name="Tenant A2")
    assert renamed.friendly_name == "Tenant A2"

    tenant = twilio_clients(gw, first.sid, first.auth_token)
    own = await sdk(tenant.api.accounts(first.sid).fetch)
    assert own.friendly_name == "Tenant A2" and own.owner_account_sid == admin.account_sid
    assert [a.sid for a in await sdk(tenant.api.accounts.list)] == [first.sid]
    for other in (admin.account_sid, second.sid, "AC" + "f" * 32):
        with pytest.raises(TwilioRestException) as hidden:
            await sdk(tenant.api.accounts(other).fetch)
        assert hidden.value.status == 404 and hidden.value.code == 20404
    with pytest.raises(TwilioRestException) as wrong:
        await sdk(twilio_clients(gw, first.sid, second.auth_token).api.accounts(first.sid).fetch)
    assert wrong.value.status == 401 and wrong.value.code == 20003


async def test_the_list_envelope_has_exactly_twilios_keys(gw_sqlite: RunningGateway) -> None:
    admin = await admin_credentials(gw_sqlite)
    auth = basic(admin.account_sid, admin.auth_token)
    for name in ("x", "y"):
        assert (
            await gw_sqlite.call("POST", f"{API}/Accounts.json", headers=auth, data={"FriendlyName": name})
        ).status == 201
    page = await gw_sqlite.call(
        "GET",
        f"{API}/Accounts.json?PageSize=2",
        headers={**auth, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert page.status == 200
    assert set(page.body) == {
        "accounts",
        "page",
        "page_size",
        "start",
        "end",
        "uri",
        "first_page_uri",
        "previous_page_uri",
        "next_page_uri",
    }
    assert (page.body["page"], page.body["page_size"], page.body["start"], page.body["end"]) == (0, 2, 0, 1)
    assert page.body["uri"] == "/2010-04-01/Accounts.json?PageSize=2&Page=0"
    assert page.body["next_page_uri"].startswith("/2010-04-01/Accounts.json?PageSize=2&Page=1&PageToken=PA")
    after = await gw_sqlite.call("GET", "/twilio/api" + page.body["next_page_uri"], headers=auth)
    assert after.status == 200 and len(after.body["accounts"]) == 1 and after.body["next_page_uri"] is None
    assert after.body["start"] == 2
    forged = await gw_sqlite.call("GET", f"{API}/Accounts.json?PageToken=PAnot-ours", headers=auth)
    assert forged.status == 400 and forged.body["code"] == 21200


async def test_api_keys_made_listed_used_and_deleted_through_the_sdk(
    gw: RunningGateway, twilio_clients: TwilioClients
) -> None:
    admin = await admin_credentials(gw)
    owner = twilio_clients(gw, admin.account_sid, admin.auth_token)
    account = owner.api.v2010.accounts(admin.account_sid)
    keys = account.keys
    made = await sdk(account.new_keys.create, friendly_name="deploy")
    assert made.sid.startswith("SK") and len(made.sid) == 34 and made.secret
    assert made.friendly_name == "deploy" and made.date_created is not None
    assert made.sid in {k.sid for k in await sdk(keys.list)}
    fetched = await sdk(keys(made.sid).fetch)
    assert fetched.friendly_name == "deploy"
    raw = await gw.call("GET", f"{API}/Accounts/{admin.account_sid}/Keys/{made.sid}.json")
    assert raw.status == 200 and "secret" not in raw.body  # the secret is shown once

    by_key = twilio_clients(gw, made.sid, made.secret, account_sid=admin.account_sid)
    sent = await sdk(by_key.messages.create, to="+14155550170", body="sent with an API key")
    assert sent.account_sid == admin.account_sid
    # A standard key reaches messages, not keys or subaccounts (native role: sender).
    assert (await _refused(by_key.api.v2010.accounts(admin.account_sid).new_keys.create)).status == 403
    assert (await _refused(by_key.api.accounts.create, friendly_name="nope")).code == 20003

    assert await sdk(keys(made.sid).delete) is True
    assert (await _refused(by_key.messages(sent.sid).fetch)).code == 20003
    assert (await _refused(keys(made.sid).fetch)).code == 20404
    assert made.sid not in {k.sid for k in await sdk(keys.list)}

    tenant = await sdk(owner.api.accounts.create, friendly_name="keyless")
    tenant_client = twilio_clients(gw, tenant.sid, tenant.auth_token)
    with pytest.raises(TwilioException) as hidden:  # the SDK's plain error for a list page
        await sdk(tenant_client.api.v2010.accounts(admin.account_sid).keys.list)
    assert '"code":20404' in hidden.value.args[1].text


async def _refused(call: Any, *args: Any, **kwargs: Any) -> TwilioRestException:
    with pytest.raises(TwilioRestException) as caught:
        await sdk(call, *args, **kwargs)
    return caught.value
