"""Messages and batches (``/v1/messages``, ``/v1/batches``): sending, reading, canceling."""

# The public face: other features, the runtime and the declarations import only these names
# (an import-linter contract in pyproject.toml holds it).
from tidings.features.messages.origin import Limits
from tidings.features.messages.pipeline import SendPipeline
from tidings.features.messages.repository import MessageFilter
from tidings.features.messages.schemas import MessageOut, SendMessagesRequest
from tidings.features.messages.service import MESSAGES, MessageService

# MessageFilter and SendMessagesRequest: what a compat surface hands MessageService.list and
# .send, the same objects the native endpoints build.
__all__ = [
    "MESSAGES",
    "Limits",
    "MessageFilter",
    "MessageOut",
    "MessageService",
    "SendMessagesRequest",
    "SendPipeline",
]
