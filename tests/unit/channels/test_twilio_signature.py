"""Our X-Twilio-Signature agrees with the official SDK's RequestValidator."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from multidict import MultiDict
from twilio.request_validator import RequestValidator

from tidings.channels.twilio.signature import compute_signature, is_valid

TOKEN = "12345"
URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
PARAMS = [
    ("CallSid", "CA1234567890ABCDE"),
    ("Caller", "+12349013030"),
    ("Digits", "1234"),
    ("From", "+12349013030"),
    ("To", "+18005551212"),
]

names = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=12)
values = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)
forms = st.lists(st.tuples(names, values), max_size=12)
urls = st.sampled_from(
    [
        "https://gw.example.com/webhooks/chn_1/status",
        "https://gw.example.com:443/webhooks/chn_1/status",
        "http://127.0.0.1:8000/webhooks/chn_1/inbound?x=1&y=%20",
        "https://gw.example.com/prefix/webhooks/chn_1/inbound",
    ]
)


def test_the_documented_test_vector() -> None:
    assert compute_signature(TOKEN, URL, PARAMS) == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="


@given(token=st.text(min_size=1, max_size=40), url=urls, form=forms)
def test_signature_matches_the_sdk_for_any_form(token: str, url: str, form: list[tuple[str, str]]) -> None:
    sdk = RequestValidator(token)
    ours = compute_signature(token, url, form)
    assert ours == sdk.compute_signature(url, MultiDict(form))
    assert sdk.validate(url, MultiDict(form), ours)
    assert is_valid(token, url, form, ours)


@given(form=forms)
def test_a_signature_for_another_url_or_token_does_not_verify(form: list[tuple[str, str]]) -> None:
    signed = compute_signature("right-token", "https://gw.example.com/webhooks/chn_1/status", form)
    assert not is_valid("wrong-token", "https://gw.example.com/webhooks/chn_1/status", form, signed)
    assert not is_valid("right-token", "https://evil.example.com/webhooks/chn_1/status", form, signed)


def test_default_port_may_be_present_or_absent() -> None:
    with_port = compute_signature(TOKEN, "https://gw.example.com:443/hook", PARAMS)
    without = compute_signature(TOKEN, "https://gw.example.com/hook", PARAMS)
    assert is_valid(TOKEN, "https://gw.example.com/hook", PARAMS, with_port)
    assert is_valid(TOKEN, "https://gw.example.com:443/hook", PARAMS, without)
    other_port = compute_signature(TOKEN, "https://gw.example.com:8443/hook", PARAMS)
    assert not is_valid(TOKEN, "https://gw.example.com/hook", PARAMS, other_port)


def test_missing_or_empty_signature_does_not_verify() -> None:
    assert not is_valid(TOKEN, URL, PARAMS, None)
    assert not is_valid(TOKEN, URL, PARAMS, "")


def test_a_changed_parameter_breaks_the_signature() -> None:
    signed = compute_signature(TOKEN, URL, PARAMS)
    tampered = [*PARAMS[:-1], ("To", "+18005551213")]
    assert not is_valid(TOKEN, URL, tampered, signed)
