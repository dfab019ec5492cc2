"""The pure rules of conversations: timer durations, the author prefix, proxy addresses and which
channel offers them, and when timers fire."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tidings.core.addresses import ChannelKind
from tidings.features.conversations.rules import (
    InvalidDuration,
    default_proxy,
    delivery_sender,
    offers,
    parse_duration,
    proxy_form,
    proxy_matches,
    relay_body,
    timer_deadlines,
)


@pytest.mark.parametrize(
    ("given", "ms"),
    [
        (300, 300_000),
        (1.5, 1_500),
        ("PT5M", 300_000),
        ("pt10m", 600_000),
        ("P1D", 86_400_000),
        ("P1DT2H", 93_600_000),
        ("PT1H30M15S", 5_415_000),
        ("PT0.5S", None),  # below the minimum
        ("P2W", 1_209_600_000),
        (" PT1S ", 1_000),
    ],
)
def test_durations_in_seconds_or_iso_8601(given: str | int | float, ms: int | None) -> None:
    if ms is None:
        with pytest.raises(InvalidDuration):
            parse_duration(given)
    else:
        assert parse_duration(given) == ms


@pytest.mark.parametrize(
    "given", ["P1M", "P1Y", "PT", "P", "5M", "PT5", "T5M", "-PT5M", "PT1.2345S", "", True, 0, -3]
)
def test_durations_that_are_refused(given: Any) -> None:
    with pytest.raises(InvalidDuration):
        parse_duration(given)


def test_durations_are_bounded() -> None:
    assert parse_duration("P366D") == 366 * 86_400_000
    with pytest.raises(InvalidDuration, match="366 days"):
        parse_duration("P367D")


@pytest.mark.parametrize("kind", ["sms", "whatsapp", "telegram", "viber"])
def test_relays_name_an_author_with_an_identity(kind: str) -> None:
    assert relay_body(kind, "ana", "on my way") == "ana: on my way"
    # No identity (a phone participant, the system): the body alone, never the author's number.
    assert relay_body(kind, None, "on my way") == "on my way"


def test_proxy_addresses_take_the_form_of_their_kind() -> None:
    assert proxy_form(ChannelKind.SMS, "+1 415 555 0900") == "+14155550900"
    assert proxy_form(ChannelKind.WHATSAPP, "+14155550900") == "whatsapp:+14155550900"
    assert proxy_form(ChannelKind.WHATSAPP, "whatsapp:+14155550900") == "whatsapp:+14155550900"
    assert proxy_form(ChannelKind.SMS, "whatsapp:+14155550900") is None
    assert proxy_form(ChannelKind.SMS, "hello") is None
    assert proxy_form(ChannelKind.TELEGRAM, "telegram:900") == "telegram:900"
    assert proxy_form(ChannelKind.TELEGRAM, "@MyBot") == "@MyBot"  # a bot as its channel names it
    assert proxy_matches("whatsapp", "whatsapp:+14155550900", "whatsapp:+14155550900")
    assert not proxy_matches("sms", "+14155550900", "whatsapp:+14155550900")
    assert not proxy_matches("sms", "+14155550900", "+14155550901")


def _channel(type_: str, senders: list[str]) -> dict[str, Any]:
    return {"type": type_, "senders": json.dumps(senders)}


def test_which_channel_offers_a_proxy_address() -> None:
    sandbox = _channel("sandbox", [])
    twilio = _channel("twilio", ["+14155550900"])
    telegram = _channel("telegram", [])
    assert offers(sandbox, ChannelKind.VIBER, "viber:abc")  # the sandbox carries everything
    assert offers(twilio, ChannelKind.WHATSAPP, "whatsapp:+14155550900")
    assert offers(twilio, ChannelKind.SMS, "+14155550900")
    assert not offers(twilio, ChannelKind.SMS, "+14155550901")  # not its number
    assert not offers(twilio, ChannelKind.TELEGRAM, "telegram:1")  # not its kind
    assert offers(telegram, ChannelKind.TELEGRAM, "telegram:900")  # a bot is its own sender
    assert not offers(_channel("flowroute", []), ChannelKind.SMS, "+14155550900")
    assert default_proxy(twilio, ChannelKind.WHATSAPP) == "whatsapp:+14155550900"
    assert default_proxy(sandbox, ChannelKind.SMS) is None
    assert delivery_sender("sms", "+14155550900") == "+14155550900"
    assert delivery_sender("viber", "viber:bot") is None  # Viber would show it as a name


def test_timers_count_from_the_last_activity_and_only_where_they_apply() -> None:
    assert timer_deadlines("active", 1_000, 500, 2_000) == {"inactive_at": 1_500, "closes_at": 3_000}
    assert timer_deadlines("inactive", 1_000, 500, 2_000) == {"inactive_at": None, "closes_at": 3_000}
    assert timer_deadlines("closed", 1_000, 500, 2_000) == {"inactive_at": None, "closes_at": None}
    assert timer_deadlines("active", 1_000, None, None) == {"inactive_at": None, "closes_at": None}
