"""Meta's webhook security: ``X-Hub-Signature-256`` (hex HMAC-SHA256 of the raw body keyed with the
app secret) on notifications, and the verify token of the GET ``hub.challenge`` handshake."""

# https://developers.facebook.com/docs/graph-api/webhooks/getting-started

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import parse_qs

HEADER = "X-Hub-Signature-256"
PREFIX = "sha256="
# Meta sends a number; anything much longer than one is not a challenge worth echoing.
MAX_CHALLENGE_CHARS = 256


def compute_signature(app_secret: str, body: bytes) -> str:
    """The header value Meta sends with ``body``."""
    return PREFIX + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def is_valid(app_secret: str, body: bytes, signature: str | None) -> bool:
    """Whether ``signature`` signs ``body``; compared in constant time, hex case ignored."""
    if not signature:
        return False
    expected = compute_signature(app_secret, body).encode()
    return hmac.compare_digest(expected, signature.strip().lower().encode())


def challenge(query: str, verify_token: str) -> str | None:
    """The ``hub.challenge`` to answer when the handshake's verify token matches, else None."""
    try:
        params = parse_qs(query, keep_blank_values=True, max_num_fields=20)
    except ValueError:  # too many fields: not Meta's handshake
        return None
    mode = params.get("hub.mode", [""])[0]
    token = params.get("hub.verify_token", [""])[0]
    answer = params.get("hub.challenge", [""])[0]
    if mode != "subscribe" or not answer or len(answer) > MAX_CHALLENGE_CHARS:
        return None
    if not hmac.compare_digest(token.encode(), verify_token.encode()):
        return None
    return answer
