"""The channel types this build knows: an explicit tuple, no discovery by folder scanning."""

from __future__ import annotations

from tidings.channels.base import Channel
from tidings.channels.flowroute.channel import FlowrouteChannel
from tidings.channels.sandbox.channel import SandboxChannel
from tidings.channels.smpp.channel import SmppChannel
from tidings.channels.telegram.channel import TelegramChannel
from tidings.channels.twilio.channel import TwilioChannel
from tidings.channels.viber.channel import ViberChannel
from tidings.channels.whatsapp.channel import WhatsAppChannel

CHANNEL_TYPES: tuple[type[Channel], ...] = (
    SandboxChannel,
    TwilioChannel,
    WhatsAppChannel,
    ViberChannel,
    FlowrouteChannel,
    TelegramChannel,
    SmppChannel,
)

_BY_TYPE = {channel_type.type: channel_type for channel_type in CHANNEL_TYPES}


def channel_class(type_name: str) -> type[Channel]:
    try:
        return _BY_TYPE[type_name]
    except KeyError:
        raise ValueError(f"unknown channel type {type_name!r}") from None


def channel_type_names() -> list[str]:
    return sorted(_BY_TYPE)


def listening_type_names() -> list[str]:
    """Types whose adapters must be open to hear from the provider (:attr:`Channel.listens`)."""
    return sorted(name for name, channel_type in _BY_TYPE.items() if channel_type.listens)
