"""The pure rules of proxy sessions: address forms, which channel owns a pool number, who hears
a message and from which form of the pool number, expiry, and the pool counts."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tidings.core.numbers import InvalidNumberError
from tidings.features.proxy.rules import (
    expiry,
    from_pool_number,
    has_expired,
    other_participant,
    participant_address,
    phone_value,
    pool_counts,
    sender_channel,
)


def _channel(channel_id: str, account_id: str, *senders: str) -> dict[str, Any]:
    return {"id": channel_id, "account_id": account_id, "senders": json.dumps(list(senders))}


@pytest.mark.parametrize(
    ("raw", "country", "canonical"),
    [
        ("+14155550100", None, "+14155550100"),
        (" +1 (415) 555-0100 ", None, "+14155550100"),
        ("0830000000", "ZA", "+27830000000"),
        ("whatsapp:+14155550100", None, "whatsapp:+14155550100"),
        ("WhatsApp:0830000000", "ZA", "whatsapp:+27830000000"),
    ],
)
def test_participants_are_canonical_sms_or_whatsapp_addresses(
    raw: str, country: str | None, canonical: str
) -> None:
    assert participant_address(raw, country) == canonical


@pytest.mark.parametrize("raw", ["telegram:12345", "viber:AbC", "hello", "", "fax:+14155550100"])
def test_other_addresses_cannot_be_participants(raw: str) -> None:
    with pytest.raises(InvalidNumberError):
        participant_address(raw, None)


def test_phone_value_reads_both_phone_forms_and_nothing_else() -> None:
    assert phone_value("+14155550100") == phone_value("whatsapp:+14155550100") == "+14155550100"
    assert phone_value("12062992129", "US") == "+12062992129"
    assert phone_value("telegram:123") is None
    assert phone_value("Acme") is None


def test_a_pool_number_belongs_to_the_nearest_channel_listing_it() -> None:
    lineage = ["child", "parent", "root"]
    channels = [
        _channel("ch_root", "root", "+14155550100"),
        _channel("ch_parent_b", "parent", "whatsapp:+14155550100"),
        _channel("ch_parent_a", "parent", "+14155550100", "+14155550101"),
        _channel("ch_child", "child", "+14155550199"),
        _channel("ch_stranger", "sibling", "+14155550100"),
    ]
    chosen = sender_channel(channels, lineage, "+14155550100")
    assert chosen is not None and chosen["id"] == "ch_parent_a"  # nearest account, then oldest id
    own = sender_channel(channels, lineage, "+14155550199")
    assert own is not None and own["id"] == "ch_child"
    assert sender_channel(channels, lineage, "+14155550555") is None
    assert sender_channel(channels, ["sibling"], "+14155550101") is None


def test_messages_go_to_the_other_participant_from_the_pool_number_in_their_form() -> None:
    session = {"participant_a": "+14155550001", "participant_b": "whatsapp:+14155550002"}
    assert other_participant(session, "+14155550001") == "whatsapp:+14155550002"
    assert other_participant(session, "whatsapp:+14155550002") == "+14155550001"
    assert from_pool_number("+14155557001", "whatsapp:+14155550002") == "whatsapp:+14155557001"
    assert from_pool_number("+14155557001", "+14155550001") == "+14155557001"


def test_expiry() -> None:
    assert expiry(1_000, None) is None
    assert expiry(1_000, 2) == 121_000
    assert not has_expired(None, 10**15)
    assert not has_expired(121_000, 120_999)
    assert has_expired(121_000, 121_000)


def test_pool_counts_count_numbers_not_capacity() -> None:
    assert pool_counts({}) == {"available": 0, "in_use": 0, "pool_size": 0, "active_sessions": 0}
    counts = pool_counts({"pxn_1": 3, "pxn_2": 0, "pxn_3": 1})
    assert counts == {"available": 1, "in_use": 2, "pool_size": 3, "active_sessions": 4}
