"""Inbound messages: stored, then passed through the routing steps other features add
(opt-out keywords, proxy sessions, conversations) before the account's webhook hears of them."""

# The public face: other features, the runtime and the declarations import only these names
# (an import-linter contract in pyproject.toml holds it).
from tidings.features.inbound.routing import InboundContext, InboundStep, queue_outbound
from tidings.features.inbound.service import InboundService

__all__ = ["InboundContext", "InboundService", "InboundStep", "queue_outbound"]
