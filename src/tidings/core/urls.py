"""Which URLs the gateway will POST events to."""

from __future__ import annotations

from urllib.parse import urlsplit

MAX_URL_LENGTH = 2048


def check_webhook_url(url: str) -> str:
    """Return ``url`` if it is an absolute http(s) URL with a host; raise ValueError saying why not.

    Credentials in the URL are refused: they would sit in the database and in every delivery
    log line unencrypted, and the signature already authenticates the gateway to the receiver.
    """
    if len(url) > MAX_URL_LENGTH:
        raise ValueError(f"must be at most {MAX_URL_LENGTH} characters")
    if url != url.strip() or any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise ValueError("must not contain spaces or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port  # raises on a port that is not a number in range
    except ValueError:
        raise ValueError("is not a valid URL") from None
    if parts.scheme not in {"http", "https"}:
        raise ValueError("must be an http:// or https:// URL")
    if not parts.hostname:
        raise ValueError("must name a host")
    if parts.username is not None or parts.password is not None:
        raise ValueError("must not carry a user name or password")
    if port == 0:
        raise ValueError("must not use port 0")
    return url
