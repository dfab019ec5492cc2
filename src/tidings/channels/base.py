"""The channel interface every provider adapter implements, and the values that cross it.

A channel is one provider connection. The dispatcher hands it :class:`OutboundMessage` values
and gets :class:`SendResult` values back; failures are :class:`SendError` carrying whether a
retry can help. Delivery receipts and inbound messages flow the other way through the
:class:`ChannelEvents` the channel is given.
"""

from __future__ import annotations

import abc
import builtins
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from tidings.core.statuses import MessageStatus


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    id: str
    account_id: str
    sender: str | None
    recipient: str
    body: str
    encoding: str
    segments: int
    attempt: int


class SendError(Exception):
    """A send that did not go through; ``retryable`` says whether trying again can help."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        retryable: bool,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.retryable = retryable
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class SendResult:
    message_id: str
    provider_message_id: str | None = None
    error: SendError | None = None


@dataclass(frozen=True, slots=True)
class Receipt:
    """A delivery report from the provider about one of our messages."""

    provider_message_id: str
    status: MessageStatus  # delivered | undelivered | failed
    code: str | None = None
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class InboundMessage:
    sender: str
    recipient: str
    body: str
    provider_message_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


ReceiptSink = Callable[[str, Sequence[Receipt]], Coroutine[Any, Any, None]]
InboundSink = Callable[[str, Sequence[InboundMessage]], Coroutine[Any, Any, object]]


@dataclass(frozen=True, slots=True)
class ChannelEvents:
    """Where a channel reports what the provider tells it, tagged with the channel id."""

    receipts: ReceiptSink
    inbound: InboundSink


class ChannelSettings(BaseModel):
    """Base for each channel type's non-secret settings; unknown keys are an error."""

    model_config = ConfigDict(extra="forbid")


class Channel(abc.ABC):
    """One provider connection. Subclasses set ``type`` and ``settings_model``."""

    type: ClassVar[str]
    # builtins.type: inside this class body, `type` names the channel-type attribute above.
    settings_model: ClassVar[builtins.type[ChannelSettings]] = ChannelSettings

    def __init__(self, channel_id: str, settings: ChannelSettings, events: ChannelEvents) -> None:
        self.channel_id = channel_id
        self.settings = settings
        self.events = events

    async def start(self) -> None:  # noqa: B027 - optional hook; most channels need no setup
        """Open connections (HTTP pools, SMPP binds). Called once before the first send."""

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections; in-flight sends have finished when this is called."""

    @abc.abstractmethod
    async def send(self, message: OutboundMessage) -> SendResult:
        """Hand one message to the provider. Raise :class:`SendError` when it does not take it."""

    async def send_many(self, messages: Sequence[OutboundMessage]) -> list[SendResult]:
        """Hand several messages over at once; providers with a bulk call override this."""
        results: list[SendResult] = []
        for message in messages:
            try:
                results.append(await self.send(message))
            except SendError as error:
                results.append(SendResult(message.id, error=error))
        return results
