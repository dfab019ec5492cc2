"""Keyword matching: the whole body is the keyword, whatever its case and whitespace."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tidings.features.optouts.keywords import KEYWORDS, Keyword, match_keyword

WHITESPACE = st.text(alphabet=" \t\r\n\u00a0\u2003", max_size=6)


@st.composite
def any_case(draw: st.DrawFn, word: str) -> str:
    return "".join(c.upper() if draw(st.booleans()) else c.lower() for c in word)


@given(
    word=st.sampled_from(sorted(KEYWORDS)).flatmap(lambda w: st.tuples(st.just(w), any_case(w))),
    before=WHITESPACE,
    after=WHITESPACE,
)
def test_a_keyword_in_any_case_with_any_surrounding_whitespace_matches(
    word: tuple[str, str], before: str, after: str
) -> None:
    canonical, typed = word
    assert match_keyword(before + typed + after) == (canonical, KEYWORDS[canonical])


@given(
    word=st.sampled_from(sorted(KEYWORDS)),
    other=st.text(alphabet=st.characters(categories=["L", "N", "P"]), min_size=1, max_size=10),
    separator=st.text(alphabet=" \t", min_size=1, max_size=3),
    other_first=st.booleans(),
)
def test_a_keyword_with_other_words_does_not_match(
    word: str, other: str, separator: str, other_first: bool
) -> None:
    body = other + separator + word if other_first else word + separator + other
    joined = "".join(body.split()).upper()
    if joined in KEYWORDS:  # the words happen to spell one keyword ("stop" + "all")
        return
    assert match_keyword(body) is None


@given(st.text(max_size=80))
def test_anything_matches_only_when_it_spells_a_keyword(body: str) -> None:
    found = match_keyword(body)
    spelled = "".join(body.split())
    if found is not None:
        assert spelled.isascii() and spelled.upper() == found[0]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (" Stop ", ("STOP", Keyword.OPT_OUT)),
        ("stop all", ("STOPALL", Keyword.OPT_OUT_ALL)),
        ("UnStop\n", ("UNSTOP", Keyword.OPT_IN)),
        ("help", ("HELP", Keyword.HELP)),
        ("stop please", None),
        ("please stop", None),
        ("STOP.", None),
        ("ſtop", None),  # Unicode case folding would make it STOP
        ("", None),
        (" " * 100 + "stop", None),  # longer than any keyword body we read
    ],
)
def test_examples(body: str, expected: tuple[str, Keyword] | None) -> None:
    assert match_keyword(body) == expected
