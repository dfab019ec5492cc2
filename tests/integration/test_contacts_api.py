"""``/v1/contacts``: CRUD, canonical addresses, lookups, conflicts, tenancy and bad input."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy import func, select

from support.gateway import RunningGateway, UrlFactory
from tidings.store.schema import contact_addresses, contacts


async def _subaccount(gw: RunningGateway, name: str) -> tuple[str, str]:
    created = await gw.call("POST", "/v1/accounts", {"name": name})
    assert created.status == 201, created.body
    key = await gw.call("POST", "/v1/keys", {"name": name, "role": "admin", "account_id": created.body["id"]})
    assert key.status == 201, key.body
    return created.body["id"], key.body["secret"]


async def _counts(gw: RunningGateway) -> tuple[int, int]:
    async with gw.gateway.db.read() as conn:
        people = (await conn.execute(select(func.count()).select_from(contacts))).scalar_one()
        addresses = (await conn.execute(select(func.count()).select_from(contact_addresses))).scalar_one()
    return people, addresses


async def test_a_contact_round_trips_with_canonical_addresses(gw: RunningGateway) -> None:
    created = await gw.call(
        "POST",
        "/v1/contacts",
        {
            "external_id": "user-1",
            "name": "Thandi",
            "attributes": {"plan": "gold", "tags": ["vip"]},
            "addresses": {
                "sms": "083 000 0000",
                "whatsapp": "whatsapp:+27 83 000 0001",
                "telegram": "telegram:123",
                "viber": "AbC+/=",
            },
            "default_country": "ZA",
        },
    )
    assert created.status == 201, created.body
    contact = created.body
    assert contact["id"].startswith("ctc_") and contact["external_id"] == "user-1"
    assert contact["addresses"] == {
        "sms": "+27830000000",
        "telegram": "telegram:123",
        "viber": "viber:AbC+/=",
        "whatsapp": "whatsapp:+27830000001",
    }
    assert contact["attributes"] == {"plan": "gold", "tags": ["vip"]}

    by_external_id = await gw.call("GET", "/v1/contacts/user-1")
    by_id = await gw.call("GET", f"/v1/contacts/{contact['id']}")
    assert by_external_id.status == by_id.status == 200
    assert by_external_id.body == by_id.body == contact

    changed = await gw.call(
        "PATCH",
        "/v1/contacts/user-1",
        {
            "name": None,
            "addresses": {"telegram": None, "sms": "+27830000009"},
            "attributes": {"plan": "free"},
        },
    )
    assert changed.status == 200, changed.body
    assert changed.body["name"] is None and changed.body["attributes"] == {"plan": "free"}
    assert changed.body["addresses"] == {
        "sms": "+27830000009",
        "viber": "viber:AbC+/=",
        "whatsapp": "whatsapp:+27830000001",
    }
    assert changed.body["updated_at"] >= contact["updated_at"]
    # The address given up is free for another contact.
    other = await gw.call("POST", "/v1/contacts", {"external_id": "user-2", "addresses": {"telegram": "123"}})
    assert other.status == 201 and other.body["addresses"] == {"telegram": "telegram:123"}

    assert (await gw.call("DELETE", "/v1/contacts/user-1")).status == 204
    assert (await gw.call("GET", "/v1/contacts/user-1")).status == 404
    assert (await gw.call("DELETE", "/v1/contacts/user-1")).status == 404
    assert await _counts(gw) == (1, 1)


async def test_duplicates_are_conflicts_that_name_the_holder(gw: RunningGateway) -> None:
    first = await gw.call(
        "POST", "/v1/contacts", {"external_id": "a", "addresses": {"whatsapp": "+14155550100"}}
    )
    assert first.status == 201
    again = await gw.call("POST", "/v1/contacts", {"external_id": "a"})
    assert again.status == 409 and again.body["error"]["code"] == "contact_exists"
    # The same number in another form is the same address.
    taken = await gw.call(
        "POST", "/v1/contacts", {"external_id": "b", "addresses": {"whatsapp": "whatsapp:+1 (415) 555-0100"}}
    )
    assert taken.status == 409, taken.body
    assert taken.body["error"]["code"] == "address_taken"
    assert taken.body["error"]["field"] == "addresses.whatsapp" and "'a'" in taken.body["error"]["message"]
    # As SMS it is another channel type's address: allowed.
    sms = await gw.call("POST", "/v1/contacts", {"external_id": "b", "addresses": {"sms": "+14155550100"}})
    assert sms.status == 201
    moved = await gw.call("PATCH", "/v1/contacts/b", {"addresses": {"whatsapp": "+14155550100"}})
    assert moved.status == 409 and moved.body["error"]["code"] == "address_taken"
    assert (await gw.call("GET", "/v1/contacts/b")).body["addresses"] == {"sms": "+14155550100"}
    assert await _counts(gw) == (2, 2)


async def test_lookup_by_external_id_and_by_any_address_form(gw: RunningGateway) -> None:
    for n in range(3):
        made = await gw.call(
            "POST",
            "/v1/contacts",
            {
                "external_id": f"p{n}",
                "addresses": {"whatsapp": f"+1415555020{n}", "telegram": f"@person_{n}"},
            },
        )
        assert made.status == 201, made.body

    async def found(query: str) -> list[str]:
        got = await gw.call("GET", f"/v1/contacts?{query}")
        assert got.status == 200, got.body
        return [c["external_id"] for c in got.body["data"]]

    assert await found("") == ["p2", "p1", "p0"]  # newest first
    assert await found("external_id=p1") == ["p1"]
    assert await found("address=" + quote("whatsapp:+14155550201")) == ["p1"]
    assert await found("address=" + quote("+1 415 555 0202")) == ["p2"]  # a bare number: sms or whatsapp
    assert await found("address=" + quote("sms:+14155550202")) == []  # only the sms address
    assert await found("address=" + quote("telegram:@Person_0")) == ["p0"]
    assert await found("address=" + quote("+14155550299")) == []
    bad = await gw.call("GET", "/v1/contacts?address=hello")
    assert bad.status == 400 and bad.body["error"]["field"] == "address"

    page = await gw.call("GET", "/v1/contacts?limit=2")
    assert [c["external_id"] for c in page.body["data"]] == ["p2", "p1"]
    rest = await gw.call("GET", f"/v1/contacts?limit=2&cursor={page.body['next_cursor']}")
    assert [c["external_id"] for c in rest.body["data"]] == ["p0"] and rest.body["next_cursor"] is None


async def test_national_numbers_are_read_in_the_instance_default_country(
    gateway_factory: Callable[..., Awaitable[RunningGateway]], sqlite_url_factory: UrlFactory
) -> None:
    gw = await gateway_factory(sqlite_url_factory, default_country="ZA")
    made = await gw.call("POST", "/v1/contacts", {"external_id": "z", "addresses": {"sms": "0830000000"}})
    assert made.status == 201 and made.body["addresses"] == {"sms": "+27830000000"}
    got = await gw.call("GET", "/v1/contacts?address=0830000000")
    assert [c["external_id"] for c in got.body["data"]] == ["z"]


async def test_tenancy_siblings_never_see_each_other_and_parents_read_children(gw: RunningGateway) -> None:
    a_id, a_key = await _subaccount(gw, "tenant A")
    _, b_key = await _subaccount(gw, "tenant B")
    made = await gw.call("POST", "/v1/contacts", {"external_id": "shared", "name": "A's"}, key=a_key)
    assert made.status == 201 and made.body["account_id"] == a_id
    # The same external id and address in another account are another contact.
    b_made = await gw.call("POST", "/v1/contacts", {"external_id": "shared", "name": "B's"}, key=b_key)
    assert b_made.status == 201
    contact_id = made.body["id"]

    # B's "shared" is its own; A's contact, by id, does not exist for B.
    assert (await gw.call("GET", "/v1/contacts/shared", key=b_key)).body["name"] == "B's"
    assert (await gw.call("GET", f"/v1/contacts/{contact_id}", key=b_key)).status == 404
    assert (await gw.call("PATCH", f"/v1/contacts/{contact_id}", {"name": "x"}, key=b_key)).status == 404
    assert (await gw.call("DELETE", f"/v1/contacts/{contact_id}", key=b_key)).status == 404
    assert (await gw.call("GET", f"/v1/contacts?account_id={a_id}", key=b_key)).status == 404
    assert (await gw.call("GET", f"/v1/contacts/shared?account_id={a_id}", key=b_key)).status == 404
    # A child cannot read its parent's contacts.
    await gw.call("POST", "/v1/contacts", {"external_id": "parent-only"})
    assert (await gw.call("GET", "/v1/contacts/parent-only", key=a_key)).status == 404
    me = (await gw.call("GET", "/v1/accounts/me")).body["id"]
    assert (await gw.call("GET", f"/v1/contacts?account_id={me}", key=a_key)).status == 404

    # The parent works on its own contacts by default and a child's with ?account_id=.
    assert [c["external_id"] for c in (await gw.call("GET", "/v1/contacts")).body["data"]] == ["parent-only"]
    listed = await gw.call("GET", f"/v1/contacts?account_id={a_id}")
    assert [c["name"] for c in listed.body["data"]] == ["A's"]
    assert (await gw.call("GET", f"/v1/contacts/shared?account_id={a_id}")).body["id"] == contact_id
    renamed = await gw.call("PATCH", f"/v1/contacts/shared?account_id={a_id}", {"name": "A2"})
    assert renamed.status == 200 and renamed.body["name"] == "A2"
    assert (await gw.call("GET", "/v1/contacts/shared", key=b_key)).body["name"] == "B's"


async def test_roles_viewers_read_senders_write(gw: RunningGateway) -> None:
    viewer = (await gw.call("POST", "/v1/keys", {"name": "v", "role": "viewer"})).body["secret"]
    sender = (await gw.call("POST", "/v1/keys", {"name": "s", "role": "sender"})).body["secret"]
    assert (await gw.call("POST", "/v1/contacts", {"external_id": "s1"}, key=sender)).status == 201
    refused = await gw.call("POST", "/v1/contacts", {"external_id": "v1"}, key=viewer)
    assert refused.status == 403 and refused.body["error"]["code"] == "forbidden"
    assert (await gw.call("PATCH", "/v1/contacts/s1", {"name": "x"}, key=viewer)).status == 403
    assert (await gw.call("DELETE", "/v1/contacts/s1", key=viewer)).status == 403
    assert (await gw.call("GET", "/v1/contacts/s1", key=viewer)).status == 200
    assert (await gw.call("POST", "/v1/contacts", {"external_id": "x"}, auth=False)).status == 401


BAD_CREATES: list[tuple[str, Any, int, str, str | None]] = [
    ("no external id", {"name": "x"}, 400, "missing_field", "external_id"),
    ("empty external id", {"external_id": " "}, 422, "invalid_value", "external_id"),
    ("slash in external id", {"external_id": "a/b"}, 422, "invalid_value", "external_id"),
    ("unknown field", {"external_id": "x", "colour": "red"}, 400, "unknown_field", "colour"),
    (
        "unknown channel type",
        {"external_id": "x", "addresses": {"fax": "1"}},
        400,
        "unknown_field",
        "addresses.fax",
    ),
    (
        "address of wrong type",
        {"external_id": "x", "addresses": {"sms": 5}},
        400,
        "invalid_type",
        "addresses.sms",
    ),
    (
        "invalid number",
        {"external_id": "x", "addresses": {"sms": "12"}},
        422,
        "invalid_address",
        "addresses.sms",
    ),
    (
        "national number without a country",
        {"external_id": "x", "addresses": {"whatsapp": "0830000000"}},
        422,
        "invalid_address",
        "addresses.whatsapp",
    ),
    (
        "another kind's prefix",
        {"external_id": "x", "addresses": {"sms": "whatsapp:+14155550100"}},
        422,
        "invalid_address",
        "addresses.sms",
    ),
    (
        "bad telegram id",
        {"external_id": "x", "addresses": {"telegram": "12ab"}},
        422,
        "invalid_address",
        "addresses.telegram",
    ),
    ("bad country", {"external_id": "x", "default_country": "XX"}, 422, "invalid_value", "default_country"),
    ("attributes not an object", {"external_id": "x", "attributes": [1]}, 400, "invalid_type", "attributes"),
    (
        "attributes too large",
        {"external_id": "x", "attributes": {"k": "v" * 20_000}},
        422,
        "attributes_too_large",
        "attributes",
    ),
]


@pytest.mark.parametrize(
    ("case", "body", "status", "code", "field"), BAD_CREATES, ids=[c[0] for c in BAD_CREATES]
)
async def test_bad_input_is_refused_and_changes_nothing(
    gw_sqlite: RunningGateway, case: str, body: Any, status: int, code: str, field: str | None
) -> None:
    got = await gw_sqlite.call("POST", "/v1/contacts", body)
    assert (got.status, got.body["error"]["code"], got.body["error"]["field"]) == (status, code, field), (
        got.body
    )
    assert await _counts(gw_sqlite) == (0, 0)


async def test_a_bad_update_changes_nothing(gw: RunningGateway) -> None:
    made = await gw.call(
        "POST", "/v1/contacts", {"external_id": "k", "name": "K", "addresses": {"telegram": "77"}}
    )
    assert made.status == 201
    for body, status in (
        ({"name": "L", "addresses": {"sms": "nope", "telegram": None}}, 422),
        ({"external_id": "other"}, 400),
        ({"addresses": {"viber": "bad id!"}}, 422),
    ):
        got = await gw.call("PATCH", "/v1/contacts/k", body)
        assert got.status == status, got.body
    assert (await gw.call("GET", "/v1/contacts/k")).body == made.body
    assert (await gw.call("GET", "/v1/contacts?cursor=nonsense")).status == 400
