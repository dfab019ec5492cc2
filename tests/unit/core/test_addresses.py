"""Channel addresses: parsing each form, canonical strings and batch deduplication."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tidings.core.addresses import (
    Address,
    ChannelKind,
    normalize_addresses,
    parse_address,
)
from tidings.core.numbers import InvalidNumber, InvalidNumberError, NormalizedNumbers


@pytest.mark.parametrize(
    ("raw", "kind", "value", "canonical"),
    [
        ("+27830000000", ChannelKind.SMS, "+27830000000", "+27830000000"),
        ("083 000 0000", ChannelKind.SMS, "+27830000000", "+27830000000"),
        ("sms:+27830000000", ChannelKind.SMS, "+27830000000", "+27830000000"),
        ("SMS: 083-000-0000", ChannelKind.SMS, "+27830000000", "+27830000000"),
        ("whatsapp:+27830000000", ChannelKind.WHATSAPP, "+27830000000", "whatsapp:+27830000000"),
        ("WhatsApp:083 000 0000", ChannelKind.WHATSAPP, "+27830000000", "whatsapp:+27830000000"),
        ("telegram:12345", ChannelKind.TELEGRAM, "12345", "telegram:12345"),
        ("telegram:-1001234567890", ChannelKind.TELEGRAM, "-1001234567890", "telegram:-1001234567890"),
        ("telegram: 007", ChannelKind.TELEGRAM, "7", "telegram:7"),
        ("telegram:@Tidings_News", ChannelKind.TELEGRAM, "@tidings_news", "telegram:@tidings_news"),
        ("viber:01234567890A=", ChannelKind.VIBER, "01234567890A=", "viber:01234567890A="),
        ("viber:abc+/_-=", ChannelKind.VIBER, "abc+/_-=", "viber:abc+/_-="),
    ],
)
def test_parses(raw: str, kind: ChannelKind, value: str, canonical: str) -> None:
    address = parse_address(raw, default_country="ZA")
    assert address == Address(kind, value)
    assert str(address) == canonical
    assert parse_address(canonical) == address  # the canonical form reads back as itself


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("signal:+27830000000", "invalid_address"),
        (":+27830000000", "invalid_address"),
        ("telegram:", "invalid_address"),
        ("telegram:0", "invalid_address"),
        ("telegram:12.5", "invalid_address"),
        ("telegram:4503599627370496", "invalid_address"),  # 2**52: more than 52 bits
        ("telegram:@abc", "invalid_address"),  # too short even for a collectible name
        ("telegram:@1abcde", "invalid_address"),
        ("telegram:@" + "a" * 33, "invalid_address"),
        ("telegram:user-name", "invalid_address"),
        ("viber:", "invalid_address"),
        ("viber:has space", "invalid_address"),
        ("viber:" + "a" * 65, "invalid_address"),
        ("viber:ünïcode", "invalid_address"),
        ("whatsapp:", "not_a_number"),
        ("whatsapp:0830000000", "missing_country"),
        ("sms:+999123456789", "invalid_country_code"),
        ("hello", "not_a_number"),
    ],
)
def test_rejects(raw: str, reason: str) -> None:
    with pytest.raises(InvalidNumberError) as caught:
        parse_address(raw)
    assert caught.value.reason == reason
    assert caught.value.input == raw


def test_limits_of_telegram_ids() -> None:
    assert parse_address("telegram:4503599627370495").value == "4503599627370495"
    assert parse_address("telegram:-4503599627370495").value == "-4503599627370495"
    assert parse_address("telegram:@abcd").value == "@abcd"
    assert parse_address("telegram:@" + "a" * 32).value == "@" + "a" * 32


def test_allow_list_applies_to_phone_forms_only() -> None:
    za = frozenset({"ZA"})
    assert str(parse_address("whatsapp:+27830000000", allowed_countries=za))
    with pytest.raises(InvalidNumberError) as caught:
        parse_address("whatsapp:+12062992129", allowed_countries=za)
    assert caught.value.reason == "country_not_allowed"
    assert parse_address("telegram:12345", allowed_countries=za).value == "12345"


def test_batch_dedupes_by_canonical_form() -> None:
    result = normalize_addresses(
        [
            "+27830000000",
            "sms:0830000000",
            "whatsapp:+27830000000",
            "WhatsApp: 083 000 0000",
            "telegram:@Tidings",
            "telegram:@tidings",
            "viber:abc=",
            "viber:ABC=",  # viber ids are case-sensitive
            "fax:123",
            "+12062992129",
            "telegram:0012",
            "telegram:12",
        ],
        default_country="ZA",
        allowed_countries=frozenset({"ZA"}),
    )
    assert result == NormalizedNumbers(
        valid=[
            "+27830000000",
            "whatsapp:+27830000000",
            "telegram:@tidings",
            "viber:abc=",
            "viber:ABC=",
            "telegram:12",
        ],
        invalid=[
            InvalidNumber("fax:123", "invalid_address"),
            InvalidNumber("+12062992129", "country_not_allowed"),
        ],
        duplicates=4,
    )


def test_batch_uses_the_executor_for_large_number_lists() -> None:
    raws = [f"+2783{n:07d}" for n in range(6_000)]
    raws += [f"whatsapp:0{raw[3:]}" for raw in raws[:3_000]] + ["telegram:1", "viber:x", "x:y"]
    serial = normalize_addresses(raws, "ZA")
    with ThreadPoolExecutor(2) as pool:
        pooled = normalize_addresses(raws, "ZA", executor=pool)
    assert pooled == serial
    assert len(serial.valid) == 9_002
    assert serial.invalid == [InvalidNumber("x:y", "invalid_address")]


POOL = [
    "+27830000000",
    "0830000000",
    "sms:+27830000000",
    "whatsapp:+27830000000",
    "whatsapp:0830000000",
    "Whatsapp:+27 83 000 0001",
    "+1 206 299 2129",
    "telegram:42",
    "telegram:042",
    "telegram:@SomeChannel",
    "telegram:@somechannel",
    "telegram:@no",
    "viber:AbC=",
    "viber:abc=",
    "viber:",
    "carrier-pigeon:1",
    "nonsense",
    "",
]


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.sampled_from(POOL), max_size=25),
    st.sampled_from([None, "ZA"]),
    st.sampled_from([None, frozenset({"ZA"})]),
)
def test_batch_matches_one_by_one(
    raws: list[str], country: str | None, allowed: frozenset[str] | None
) -> None:
    result = normalize_addresses(raws, country, allowed)
    singles: list[str | InvalidNumber] = []
    for raw in raws:
        try:
            singles.append(str(parse_address(raw, country, allowed)))
        except InvalidNumberError as exc:
            singles.append(InvalidNumber(raw, exc.reason))
    assert result.valid == list(dict.fromkeys(s for s in singles if isinstance(s, str)))
    assert result.invalid == [s for s in singles if isinstance(s, InvalidNumber)]
    assert len(result.valid) + len(result.invalid) + result.duplicates == len(raws)
