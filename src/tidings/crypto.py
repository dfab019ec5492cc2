"""Encryption at rest for provider credentials and auth tokens, keyed by the instance secret.

Fernet (AES-128-CBC + HMAC-SHA256, from ``cryptography``) gives authenticated encryption with
a versioned token format; the instance secret is stretched to a Fernet key with SHA-256.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken


class SecretBox:
    def __init__(self, instance_secret: str) -> None:
        digest = hashlib.sha256(("tidings-secretbox:" + instance_secret).encode()).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(digest))

    def seal(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def open(self, ciphertext: str) -> str:
        try:
            return self._fernet.decrypt(ciphertext.encode()).decode()
        except InvalidToken as exc:
            raise ValueError("ciphertext does not open with this instance secret") from exc


def hash_secret(secret: str) -> str:
    """SHA-256 hex of a generated secret.

    API keys carry 256 random bits, so a fast hash is as strong as a slow one here and keeps
    authentication cheap on every request (bcrypt would cost ~100 ms per call).
    """
    return hashlib.sha256(secret.encode()).hexdigest()


def secrets_equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
