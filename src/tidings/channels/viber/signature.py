"""X-Viber-Content-Signature: hex HMAC-SHA256 of the raw callback body, keyed with the auth token.

https://developers.viber.com/docs/api/rest-bot-api/#callbacks ("Each callback will contain a
signature on the JSON passed to the callback"); checked against viber-bot-python's test vector.
"""

from __future__ import annotations

import hashlib
import hmac

HEADER = "X-Viber-Content-Signature"


def compute_signature(auth_token: str, body: bytes) -> str:
    """The header value Viber sends with ``body``."""
    return hmac.new(auth_token.encode(), body, hashlib.sha256).hexdigest()


def is_valid(auth_token: str, body: bytes, signature: str | None) -> bool:
    """Whether ``signature`` signs ``body``; compared in constant time."""
    if not signature:
        return False
    expected = compute_signature(auth_token, body).encode()
    return hmac.compare_digest(expected, signature.strip().lower().encode())
