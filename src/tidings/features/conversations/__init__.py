"""Conversations (``/v1/conversations``, docs/conversations.md): group threads whose participants
are reached on any channel type."""

# The public face: other features, the runtime and the declarations import only these names
# (an import-linter contract in pyproject.toml holds it).
from tidings.features.conversations.inbound import ConversationStep
from tidings.features.conversations.service import CONVERSATIONS, ConversationService
from tidings.features.conversations.timers import conversation_timers

__all__ = ["CONVERSATIONS", "ConversationService", "ConversationStep", "conversation_timers"]
