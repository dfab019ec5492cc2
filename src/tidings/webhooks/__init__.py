"""Webhooks: what Tidings posts to customers (the account's ``webhook_url``, a message's
``status_callback``), delivered from the outbox and signed.

Receivers import :func:`verify_signature` from here: this face pulls in only the standard
library (``signing``), never the deliverer.
"""

from tidings.webhooks.signing import SIGNATURE_HEADER, sign, signature_header, verify_signature

__all__ = ["SIGNATURE_HEADER", "sign", "signature_header", "verify_signature"]
