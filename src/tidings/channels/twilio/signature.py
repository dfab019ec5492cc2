"""X-Twilio-Signature: HMAC-SHA1, keyed with the Auth Token, over the URL plus the sorted params.

Hand-written rather than imported: the algorithm is a few lines, and the official ``twilio``
package would pull its whole REST client (and ``requests``) into the runtime for them. A test
checks that this agrees with ``twilio.request_validator.RequestValidator``.
https://www.twilio.com/docs/usage/webhooks/webhooks-security
"""

from __future__ import annotations

import base64
import hmac
from collections.abc import Iterable
from urllib.parse import urlsplit, urlunsplit

HEADER = "X-Twilio-Signature"
_DEFAULT_PORTS = {"https": 443, "http": 80}


def compute_signature(auth_token: str, url: str, params: Iterable[tuple[str, str]]) -> str:
    """The header value Twilio sends for a form POST of ``params`` to ``url``.

    Names sort by code point; a repeated name contributes each distinct value, values sorted
    (what Twilio's own validators do).
    """
    # Sorting the distinct (name, value) pairs orders names, then each name's values.
    payload = url + "".join(name + value for name, value in sorted(set(params)))
    return base64.b64encode(hmac.digest(auth_token.encode(), payload.encode(), "sha1")).decode()


def is_valid(auth_token: str, url: str, params: Iterable[tuple[str, str]], signature: str | None) -> bool:
    """Whether ``signature`` signs this request; the URL may carry or omit its default port,
    since Twilio is not consistent about it (its validators accept both)."""
    if not signature:
        return False
    pairs = list(params)
    expected = signature.encode()
    return any(
        hmac.compare_digest(compute_signature(auth_token, candidate, pairs).encode(), expected)
        for candidate in _url_variants(url)
    )


def _url_variants(url: str) -> list[str]:
    parts = urlsplit(url)
    default = _DEFAULT_PORTS.get(parts.scheme)
    if parts.port is None and default is not None:
        return [url, urlunsplit(parts._replace(netloc=f"{parts.netloc}:{default}"))]
    if parts.port is not None and parts.port == default:
        netloc = parts.netloc.rsplit(":", 1)[0]
        return [url, urlunsplit(parts._replace(netloc=netloc))]
    return [url]
