"""Provider callbacks in (``/webhooks/{channel_id}/{kind}``): receipts, inbound messages and
subscription handshakes, verified by each channel."""

# The public face: other features, the runtime and the declarations import only these names
# (an import-linter contract in pyproject.toml holds it).
from tidings.features.provider_callbacks.service import CALLBACKS, CallbackService

__all__ = ["CALLBACKS", "CallbackService"]
