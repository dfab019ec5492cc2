"""Messages and batches (``/v1/messages``, ``/v1/batches``): sending, reading, canceling."""

# The public face: other features, the runtime and the declarations import only these names
# (an import-linter contract in pyproject.toml holds it).
from tidings.features.messages.origin import Limits
from tidings.features.messages.pipeline import SendPipeline

# ContactRecipient, SendMessagesRequest: compat surfaces build the native send request they
# translate onto.
from tidings.features.messages.schemas import ContactRecipient, MessageOut, SendMessagesRequest
from tidings.features.messages.service import MESSAGES, MessageService

__all__ = [
    "MESSAGES",
    "ContactRecipient",
    "Limits",
    "MessageOut",
    "MessageService",
    "SendMessagesRequest",
    "SendPipeline",
]
