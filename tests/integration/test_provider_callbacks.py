"""The provider callback endpoint's edges, whatever the provider: channels that take no
callbacks, oversized bodies, channels that cannot verify."""

from __future__ import annotations

from support.gateway import RunningGateway
from tidings.channels.twilio.signature import compute_signature

ACCOUNT = "AC" + "d" * 32
TOKEN = "webhook-ingress-token"


async def test_sandbox_channels_take_no_webhooks(gw_sqlite: RunningGateway) -> None:
    assert gw_sqlite.gateway.bootstrapped is not None
    channel_id = gw_sqlite.gateway.bootstrapped.sandbox_channel_id
    answer = await gw_sqlite.call("POST", f"/webhooks/{channel_id}/status", data=b"a=b", auth=False)
    assert answer.status == 404 and answer.body["error"]["code"] == "not_found"


async def test_paths_that_name_no_channel_and_kind_are_not_found(gw_sqlite: RunningGateway) -> None:
    for path in ("/webhooks/", "/webhooks/ch_x", "/webhooks/ch_x/", "/webhooks/ch_x/status/more"):
        answer = await gw_sqlite.call("POST", path, data=b"a=b", auth=False)
        assert answer.status == 404 and answer.body["error"]["code"] == "not_found", path
    unknown = await gw_sqlite.call("POST", "/webhooks/ch_unknown/status", data=b"a=b", auth=False)
    assert unknown.status == 404 and unknown.body["error"]["message"] == "no such channel"


async def test_webhooks_are_documented_for_post_and_get(gw_sqlite: RunningGateway) -> None:
    spec = await gw_sqlite.call("GET", "/openapi.json", auth=False)
    operations = spec.body["paths"]["/webhooks/{channel_id}/{kind}"]
    assert set(operations) == {"get", "post"}
    assert {p["name"] for p in operations["post"]["parameters"]} == {"channel_id", "kind"}
    assert "403" in operations["post"]["responses"]


async def test_oversized_webhooks_are_refused(gw_sqlite: RunningGateway) -> None:
    assert gw_sqlite.gateway.bootstrapped is not None
    channel_id = gw_sqlite.gateway.bootstrapped.sandbox_channel_id
    answer = await gw_sqlite.call("POST", f"/webhooks/{channel_id}/status", data=b"a" * 300_000, auth=False)
    assert answer.status == 413 and answer.body["error"]["code"] == "payload_too_large"


async def test_a_channel_without_a_public_url_refuses_even_well_signed_webhooks(
    gw_sqlite: RunningGateway,
) -> None:
    row = await gw_sqlite.create_channel(
        type="twilio", name="tw", credentials={"account_sid": ACCOUNT, "auth_token": TOKEN}
    )
    path = f"/webhooks/{row['id']}/inbound"
    form = [("MessageSid", "SM" + "1" * 32), ("From", "+14155550100"), ("To", "+15005550006"), ("Body", "x")]
    # Signed for the URL the request really reached: still refused, the Host header is not trusted.
    signature = compute_signature(TOKEN, gw_sqlite.url + path, form)
    answer = await gw_sqlite.call(
        "POST", path, data=form, headers={"X-Twilio-Signature": signature}, auth=False
    )
    assert answer.status == 403 and answer.body["error"]["code"] == "invalid_signature"
    listed = await gw_sqlite.call("GET", "/v1/messages?direction=inbound")
    assert listed.body["data"] == []


async def test_malformed_bodies_are_a_400(gw_sqlite: RunningGateway) -> None:
    row = await gw_sqlite.create_channel(
        type="twilio",
        name="tw",
        settings={"public_base_url": gw_sqlite.url},
        credentials={"account_sid": ACCOUNT, "auth_token": TOKEN},
    )
    answer = await gw_sqlite.call("POST", f"/webhooks/{row['id']}/inbound", data=b"Body=\xff", auth=False)
    assert answer.status == 400 and answer.body["error"]["code"] == "invalid_webhook"
