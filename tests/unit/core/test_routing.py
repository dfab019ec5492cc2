from __future__ import annotations

from tidings.core.addresses import ChannelKind
from tidings.core.routing import Route, Router


def _country(number: str) -> str | None:
    return {"+2783": "ZA", "+4479": "GB"}.get(number[:5])


def test_first_matching_route_wins_and_empty_conditions_match_anything() -> None:
    router = Router(
        [
            Route("za whatsapp", "c1", kind=ChannelKind.WHATSAPP, country="ZA"),
            Route("za", "c2", country="ZA"),
            Route("uk prefix", "c3", prefix="+4479"),
            Route("telegram", "c4", kind=ChannelKind.TELEGRAM),
        ],
        _country,
    )

    assert router.choose("whatsapp:+27830000000").name == "za whatsapp"  # type: ignore[union-attr]
    assert router.choose("+27830000000").name == "za"  # type: ignore[union-attr]
    assert router.choose("+447911123456").name == "uk prefix"  # type: ignore[union-attr]
    assert router.choose("telegram:12345").name == "telegram"  # type: ignore[union-attr]
    assert router.choose("+14155550100") is None
    assert router.choose("viber:abc") is None


def test_a_prefix_never_matches_an_id_that_is_not_a_number() -> None:
    router = Router([Route("any 1", "c1", prefix="+1")], _country)
    assert router.choose("telegram:+1") is None  # not a phone recipient
    assert router.choose("whatsapp:+14155550100") is not None


def test_countries_are_only_looked_up_when_a_route_asks() -> None:
    looked_up: list[str] = []

    def country(number: str) -> str | None:
        looked_up.append(number)
        return None

    Router([Route("prefix only", "c1", prefix="+1")], country).choose("+14155550100")
    assert looked_up == []
    Router([Route("country", "c1", country="US")], country).choose("+14155550100")
    assert looked_up == ["+14155550100"]
