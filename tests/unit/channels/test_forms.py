"""The form encoder makes exactly what urllib's urlencode makes, for any text."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from hypothesis import given
from hypothesis import strategies as st

from tidings.channels.forms import encode_form

# Any Unicode text a message or setting may hold, surrogates excepted (not encodable as UTF-8).
TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)


@given(st.lists(st.tuples(TEXT, TEXT), max_size=6))
def test_the_body_is_urlencodes_byte_for_byte(pairs: list[tuple[str, str]]) -> None:
    assert encode_form(pairs) == urlencode(pairs).encode()


@given(st.lists(st.tuples(TEXT.filter(bool), TEXT), max_size=6))
def test_the_body_reads_back_as_the_pairs_in_order(pairs: list[tuple[str, str]]) -> None:
    assert parse_qsl(encode_form(pairs).decode(), keep_blank_values=True) == pairs


def test_a_twilio_create_form() -> None:
    form = [("To", "whatsapp:+27831234567"), ("Body", "hé & 😀"), ("MediaUrl", "https://x.io/a b")]
    assert encode_form(form) == (
        b"To=whatsapp%3A%2B27831234567&Body=h%C3%A9+%26+%F0%9F%98%80&MediaUrl=https%3A%2F%2Fx.io%2Fa+b"
    )
