"""``/compat/messagesender``: the HTTP API of Message Sender (seed 004), translated onto the
native contacts and send, with its job lists kept as records of its own
(docs/compat-seeds.md)."""

from tidings.features.compat.messagesender.settings import MessageSenderSettings
from tidings.features.compat.messagesender.urls import build
from tidings.features.compat.surface import Surface

surface = Surface(
    name="messagesender",
    prefix="/compat/messagesender",
    settings_model=MessageSenderSettings,
    build=build,
)

__all__ = ["surface"]
