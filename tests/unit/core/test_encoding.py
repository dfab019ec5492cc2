"""SMS encoding: the GSM 03.38 tables, unit counts and segment packing."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tidings.core.encoding import (
    GSM7_BASIC,
    GSM7_EXTENSION,
    Encoding,
    SegmentInfo,
    analyse,
    gsm7_septets,
    split_segments,
)

BASIC_CHARS = GSM7_BASIC.replace("\x1b", "")
EXTENSION_CHARS = "".join(GSM7_EXTENSION)
GSM = Encoding.GSM7
UCS = Encoding.UCS2


# --- Tables (3GPP TS 23.038 §6.2.1) --------------------------------------------------------------


def test_basic_table_positions() -> None:
    assert len(GSM7_BASIC) == 128
    assert len(set(GSM7_BASIC)) == 128
    positions = {
        "@": 0x00,
        "£": 0x01,
        "$": 0x02,
        "¥": 0x03,
        "è": 0x04,
        "Ç": 0x09,  # capital C cedilla, as in the standard (some old tables say ç)
        "\n": 0x0A,
        "Ø": 0x0B,
        "\r": 0x0D,
        "Δ": 0x10,
        "_": 0x11,
        "Ξ": 0x1A,
        "\x1b": 0x1B,
        "Æ": 0x1C,
        "É": 0x1F,
        " ": 0x20,
        "¤": 0x24,
        "0": 0x30,
        "¡": 0x40,
        "A": 0x41,
        "Ä": 0x5B,
        "Ü": 0x5E,
        "§": 0x5F,
        "¿": 0x60,
        "a": 0x61,
        "ä": 0x7B,
        "à": 0x7F,
    }
    for ch, code in positions.items():
        assert GSM7_BASIC.index(ch) == code, ch


def test_extension_table() -> None:
    assert GSM7_EXTENSION == {
        "\f": 0x0A,
        "^": 0x14,
        "{": 0x28,
        "}": 0x29,
        "\\": 0x2F,
        "[": 0x3C,
        "~": 0x3D,
        "]": 0x3E,
        "|": 0x40,
        "€": 0x65,
    }
    assert not set(GSM7_EXTENSION) & set(GSM7_BASIC)


def test_ascii_outside_gsm() -> None:
    outside = {chr(code) for code in range(128) if gsm7_septets(chr(code)) is None}
    controls = {chr(code) for code in range(32)} - {"\n", "\r", "\f"}
    assert outside == controls | {"`", "\x7f"}


@pytest.mark.parametrize(
    ("ch", "septets"),
    [
        ("a", 1),
        ("@", 1),
        ("Ç", 1),
        ("\u03a9", 1),  # GREEK CAPITAL LETTER OMEGA
        ("€", 2),
        ("{", 2),
        ("\f", 2),
        ("`", None),
        ("\t", None),
        ("\x1b", None),  # the escape itself is not a character
        ("ç", None),
        ("Á", None),
        ("\u2126", None),  # OHM SIGN, not GREEK CAPITAL LETTER OMEGA
        ("😀", None),
    ],
)
def test_gsm7_septets(ch: str, septets: int | None) -> None:
    assert gsm7_septets(ch) == septets


# --- Counting and splitting ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("", SegmentInfo(GSM, 0, 0, 160)),
        ("Hello", SegmentInfo(GSM, 1, 5, 160)),
        ("a" * 160, SegmentInfo(GSM, 1, 160, 160)),
        ("a" * 161, SegmentInfo(GSM, 2, 161, 153)),
        ("a" * 306, SegmentInfo(GSM, 2, 306, 153)),
        ("a" * 307, SegmentInfo(GSM, 3, 307, 153)),
        ("€" * 80, SegmentInfo(GSM, 1, 160, 160)),
        ("a" * 159 + "€", SegmentInfo(GSM, 2, 161, 153)),
        # 306 septets fit two segments by division, but the € cannot straddle the boundary.
        ("a" * 152 + "€" + "a" * 152, SegmentInfo(GSM, 3, 306, 153)),
        ("Grüße, Ærø — ok", SegmentInfo(UCS, 1, 15, 70)),  # the em dash is not GSM
        ("price `5`", SegmentInfo(UCS, 1, 9, 70)),
        ("tab\there", SegmentInfo(UCS, 1, 8, 70)),
        ("ж" * 70, SegmentInfo(UCS, 1, 70, 70)),
        ("ж" * 71, SegmentInfo(UCS, 2, 71, 67)),
        ("😀" * 35, SegmentInfo(UCS, 1, 70, 70)),
        ("😀" * 36, SegmentInfo(UCS, 2, 72, 67)),
        # 134 units fit two segments by division, but the emoji's surrogate pair cannot be cut.
        ("ж" * 66 + "😀" + "ж" * 66, SegmentInfo(UCS, 3, 134, 67)),
    ],
)
def test_analyse(body: str, expected: SegmentInfo) -> None:
    assert analyse(body) == expected
    assert len(split_segments(body)) == expected.segments


def test_split_keeps_escapes_and_pairs_whole() -> None:
    assert split_segments("a" * 152 + "€" + "a" * 152) == ["a" * 152, "€" + "a" * 151, "a"]
    body = "ж" * 66 + "😀" + "ж" * 66
    assert split_segments(body) == ["ж" * 66, "😀" + "ж" * 65, "ж"]
    assert split_segments("") == []
    assert split_segments("short") == ["short"]


def test_ascii_and_general_paths_agree() -> None:
    # The same GSM text, once pure ASCII and once with a non-ASCII GSM character.
    ascii_body = "curly {braces} and [brackets] ^~|\\ " * 5
    assert analyse(ascii_body).units == analyse(ascii_body + "é").units - 1
    assert analyse(ascii_body).encoding is GSM


def test_lone_surrogate_counts_one_unit() -> None:
    assert analyse("a\ud800b") == SegmentInfo(UCS, 1, 3, 70)


# --- Properties ----------------------------------------------------------------------------------

gsm_text = st.text(st.sampled_from(BASIC_CHARS + EXTENSION_CHARS), max_size=400)
# Mostly ASCII with GSM extension characters: the shape of real traffic and of the fast path.
ascii_gsm_text = st.text(st.sampled_from("abc XYZ 019.,!?\n{}[]^~|\\€"), max_size=400)
non_gsm_char = st.characters(exclude_characters=BASIC_CHARS + EXTENSION_CHARS, exclude_categories=["Cs"])


def _septets(text: str) -> int:
    total = 0
    for ch in text:
        cost = gsm7_septets(ch)
        assert cost is not None
        total += cost
    return total


@settings(max_examples=150, deadline=None)
@given(st.one_of(gsm_text, ascii_gsm_text))
def test_gsm_text_packs_within_limits(body: str) -> None:
    info = analyse(body)
    chunks = split_segments(body)
    assert info.encoding is GSM
    assert info.units == sum(gsm7_septets(ch) or 0 for ch in body) == _septets(body)
    assert "".join(chunks) == body
    assert len(chunks) == info.segments
    assert (info.segments == 1) == (0 < info.units <= 160)
    limit = 153 if info.segments > 1 else 160
    assert info.units_per_segment == limit
    for chunk in chunks:
        # Characters are whole in each chunk, so no escape is ever cut from its character.
        assert 0 < _septets(chunk) <= limit
    if info.segments > 1:
        # Greedy packing: the next chunk's first character would not have fit.
        for chunk, following in itertools.pairwise(chunks):
            assert _septets(chunk) + _septets(following[0]) > limit


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=200), non_gsm_char, st.data())
def test_any_non_gsm_character_means_ucs2(text: str, odd: str, data: st.DataObject) -> None:
    text = "".join(ch for ch in text if not "\ud800" <= ch <= "\udfff")
    position = data.draw(st.integers(0, len(text)))
    body = text[:position] + odd + text[position:]
    info = analyse(body)
    chunks = split_segments(body)
    assert info.encoding is UCS
    assert info.units == len(body.encode("utf-16-le")) // 2
    assert "".join(chunks) == body
    assert len(chunks) == info.segments >= 1
    assert (info.segments == 1) == (info.units <= 70)
    limit = 70 if info.segments == 1 else 67
    assert info.units_per_segment == limit
    for chunk in chunks:
        # A str slice cannot hold half a surrogate pair: each chunk encodes on its own.
        assert 0 < len(chunk.encode("utf-16-le")) // 2 <= limit


@settings(max_examples=100, deadline=None)
@given(st.text(st.characters(exclude_categories=["Cs"]), max_size=300))
def test_analyse_matches_split(body: str) -> None:
    assert analyse(body).segments == len(split_segments(body))
    assert "".join(split_segments(body)) == body
