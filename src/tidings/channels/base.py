"""The channel interface every provider adapter implements, and the values that cross it.

A channel is one provider connection. The dispatcher hands it :class:`OutboundMessage` values
and gets :class:`SendResult` values back; failures are :class:`SendError` carrying whether a
retry can help. Delivery receipts and inbound messages flow the other way through the
:class:`ChannelReports` the channel is given, or arrive as provider callbacks that the channel
verifies and turns into a :class:`CallbackResult` (:meth:`Channel.parse_callback`).

Each type declares two pydantic models: ``settings_model`` (plain, stored as JSON) and
``credentials_model`` (secrets as ``SecretStr``, stored encrypted and opened only to build the
adapter), so a secret can never end up in a settings dump, a log line or a repr.
"""

from __future__ import annotations

import abc
import builtins
from collections.abc import Callable, Coroutine, Mapping, Sequence
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
    media_urls: tuple[str, ...] = ()
    # A provider-side template (WhatsApp Cloud API: {name, language: {code}, components}); the
    # channels that know templates send it instead of the free-form body.
    template: Mapping[str, Any] | None = None


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
class PollTiming:
    """When a polling channel asks the provider about a ``sent`` message with no receipt:
    ``after_seconds`` once sent, then ``interval_seconds`` later, each gap doubling up to
    ``max_interval_seconds`` (docs/providers.md, "Polling")."""

    after_seconds: float
    interval_seconds: float
    max_interval_seconds: float


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
class ChannelReports:
    """Where a channel reports what the provider tells it, tagged with the channel id."""

    receipts: ReceiptSink
    inbound: InboundSink


class ChannelSettings(BaseModel):
    """Base for each channel type's non-secret settings; unknown keys are an error."""

    model_config = ConfigDict(extra="forbid")


class ChannelCredentials(BaseModel):
    """Base for each channel type's secrets (``SecretStr`` fields); unknown keys are an error.

    Validation errors never echo the input, so a rejected credential does not reach a response.
    """

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True, frozen=True)


@dataclass(frozen=True, slots=True)
class CallbackRequest:
    """A provider's call to ``/webhooks/{channel_id}/{kind}``, as received.

    ``query`` is the raw query string; the channel rebuilds the public URL the provider called
    from its own settings, never from the request's Host header, which a caller controls.
    """

    kind: str
    query: str
    headers: Mapping[str, str]  # lower-cased names
    body: bytes
    # GET carries subscription handshakes (Meta's hub.challenge); channels without one refuse it.
    method: str = "POST"


@dataclass(frozen=True, slots=True)
class CallbackReply:
    """What the provider expects back."""

    status: int = 200
    body: bytes = b""
    content_type: str = "text/plain"


@dataclass(frozen=True, slots=True)
class CallbackResult:
    receipts: list[Receipt] = field(default_factory=list)
    inbound: list[InboundMessage] = field(default_factory=list)
    reply: CallbackReply = field(default_factory=CallbackReply)


class CallbackError(Exception):
    """A callback the channel will not take; nothing of it is stored."""

    status = 400
    code = "invalid_webhook"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class CallbackNotFound(CallbackError):
    """The channel takes no callback of this kind (or none at all)."""

    status = 404
    code = "not_found"


class CallbackRejected(CallbackError):
    """The signature is missing or wrong: the request may not come from the provider."""

    status = 403
    code = "invalid_signature"


class Channel(abc.ABC):
    """One provider connection. Subclasses set ``type``, ``settings_model`` and
    ``credentials_model``."""

    type: ClassVar[str]
    # A type whose provider talks to us over the connection the adapter holds (SMPP: receipts and
    # mobile-originated messages arrive as deliver_sm on the bind) must be open before its first
    # send: workers open such channels when they start and as soon as they are created.
    listens: ClassVar[bool] = False
    # builtins.type: inside this class body, `type` names the channel-type attribute above.
    settings_model: ClassVar[builtins.type[ChannelSettings]] = ChannelSettings
    credentials_model: ClassVar[builtins.type[ChannelCredentials]] = ChannelCredentials
    # Whether the type sends ``OutboundMessage.template``; a template on any other type fails
    # with ``template_unsupported`` (422 at intake, else when it is claimed).
    supports_templates: ClassVar[bool] = False
    # WhatsApp's customer service window: free-form (non-template) messages to a ``whatsapp:``
    # recipient need an inbound message from it on this channel within this many hours.
    service_window_hours: ClassVar[int | None] = None
    # Whether the type can ask the provider for a message's status (:meth:`poll`); the workers'
    # status poller looks only at channels of such types.
    supports_polling: ClassVar[bool] = False
    # Messages the dispatcher hands one ``send_many`` call at the least, whatever the channel's
    # ``max_batch_size``: a type whose send_many overlaps its sends (SMPP pipelines them through
    # the binds' windows) saves the per-call rate-limit, breaker and task work per message that
    # way (measured on one SMPP bind: 0.61 → 0.49 ms of gateway CPU a message).
    pipeline_group: ClassVar[int] = 1

    def __init__(
        self,
        channel_id: str,
        settings: ChannelSettings,
        reports: ChannelReports,
        credentials: ChannelCredentials | None = None,
    ) -> None:
        self.channel_id = channel_id
        self.settings = settings
        self.reports = reports
        self.credentials = credentials if credentials is not None else ChannelCredentials()

    def __repr__(self) -> str:
        # Never the credentials, not even masked: reprs end up in logs and tracebacks.
        return f"<{type(self).__name__} {self.channel_id}>"

    async def start(self) -> None:  # noqa: B027 - optional hook; most channels need no setup
        """Open connections (HTTP pools, SMPP binds). Called once before the first send."""

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections; in-flight sends have finished when this is called."""

    @abc.abstractmethod
    async def send(self, message: OutboundMessage) -> SendResult:
        """Hand one message to the provider. Raise :class:`SendError` when it does not take it."""

    async def parse_callback(self, request: CallbackRequest) -> CallbackResult:
        """Verify a provider's callback and turn it into receipts and inbound messages.

        Must work on an adapter that was never started: the API process parses callbacks
        without a dispatcher. Raise :class:`CallbackRejected` when the signature does not verify
        and :class:`CallbackError` when the payload is unusable.
        """
        raise CallbackNotFound(f"{self.type} channels take no webhooks")

    async def send_many(self, messages: Sequence[OutboundMessage]) -> list[SendResult]:
        """Hand several messages over at once; providers with a bulk call override this."""
        results: list[SendResult] = []
        for message in messages:
            try:
                results.append(await self.send(message))
            except SendError as error:
                results.append(SendResult(message.id, error=error))
        return results

    def poll_timing(self) -> PollTiming | None:
        """When to poll this channel's unanswered messages; None: not at all (the default)."""
        return None

    async def poll(self, provider_message_ids: Sequence[str]) -> list[Receipt]:
        """Ask the provider for these messages' status; a :class:`Receipt` for each one that
        reached a final status (delivered, undelivered, failed). Messages left out are still
        in between and are asked about again later. Raise :class:`SendError` when the provider
        could not be asked at all. Types without ``supports_polling`` report nothing."""
        return []
