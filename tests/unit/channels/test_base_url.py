"""Provider and public base URLs are refused when the channel is configured if no client could
use them, rather than failing every send later."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

from tidings.channels.http import BaseUrl, api_path

BASE_URL: TypeAdapter[str] = TypeAdapter(BaseUrl)


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("https://api.twilio.com", "https://api.twilio.com"),
        ("https://api.twilio.com/", "https://api.twilio.com"),
        ("http://127.0.0.1:9000/proxy/twilio/", "http://127.0.0.1:9000/proxy/twilio"),
        ("http://[::1]:8080", "http://[::1]:8080"),
    ],
)
def test_usable_urls_are_kept_without_a_trailing_slash(given: str, kept: str) -> None:
    assert BASE_URL.validate_python(given) == kept


@pytest.mark.parametrize(
    ("given", "reason"),
    [
        ("ftp://files.example.com", "http:// or https://"),
        ("https://", "with a host"),
        ("http://127.0.0.1:99999", "port out of range"),
        ("https://user:secret@api.example.com", "credentials"),
        ("https://api.example.com/v1?key=x", "query"),
        ("https://api.example.com/a b", "whitespace"),
    ],
)
def test_unusable_urls_are_refused_with_the_reason(given: str, reason: str) -> None:
    with pytest.raises(ValidationError, match=reason):
        BASE_URL.validate_python(given)


def test_paths_go_under_the_base_urls_own_path() -> None:
    assert api_path("http://127.0.0.1:9000/proxy/", "/2010-04-01/Accounts") == "/proxy/2010-04-01/Accounts"
    assert api_path("https://api.twilio.com", "/2010-04-01/Accounts") == "/2010-04-01/Accounts"
