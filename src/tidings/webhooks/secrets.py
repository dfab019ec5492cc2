"""Webhook signing secrets: generated here, stored sealed (crypto.SecretBox), shown once."""

from __future__ import annotations

from tidings.core.ids import new_secret

SECRET_PREFIX = "whsec_"


def new_webhook_secret() -> str:
    """256 random bits behind a recognisable prefix (secret scanners and log redaction find it)."""
    return new_secret(SECRET_PREFIX)
