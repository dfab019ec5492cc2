"""One adapter per provider fake, so the contract tests read the same for every channel type.

To add a provider (flowroute, telegram, whatsapp, viber, smpp): implement :class:`ProviderFake`
over its fake and add it to :data:`PROVIDERS`.
"""

from __future__ import annotations

import abc
import base64
from typing import Any, ClassVar

from tidings.simulators.twilio import FakeTwilio


class ProviderFake(abc.ABC):
    """What the contract tests need from a provider's fake."""

    channel_type: ClassVar[str]
    sender: ClassVar[str]
    recipient: ClassVar[str]  # accepted and delivered
    webhook_receipts: ClassVar[bool]  # delivery status arrives by webhook (else by polling)

    @abc.abstractmethod
    async def start(self) -> None: ...

    @abc.abstractmethod
    async def close(self) -> None: ...

    @abc.abstractmethod
    def settings(self, public_base_url: str) -> dict[str, Any]:
        """The channel's settings, pointing it at this fake."""

    @abc.abstractmethod
    def credentials(self) -> dict[str, Any]: ...

    @abc.abstractmethod
    def secrets(self) -> list[str]:
        """Every credential string, in every form that could leak (raw, base64 in a header...)."""

    @abc.abstractmethod
    def received(self, recipient: str) -> list[str]:
        """Provider ids of the messages the fake took for ``recipient``, in order."""

    @abc.abstractmethod
    def refuse(self, recipient: str) -> str:
        """Make sends to ``recipient`` fail permanently; the error code the gateway should record."""

    @abc.abstractmethod
    def undeliverable(self, recipient: str) -> str:
        """Make ``recipient``'s receipt report non-delivery; the error code to expect."""

    @abc.abstractmethod
    def hold_receipts(self) -> None:
        """Stop the fake from reporting delivery by itself (tests then post receipts by hand)."""

    @abc.abstractmethod
    def fail_transiently(self, count: int) -> None:
        """Make the next ``count`` send requests fail in a way worth retrying."""

    @abc.abstractmethod
    async def send_inbound(self, webhook_url: str, *, sender: str, body: str, forged: bool = False) -> int:
        """Deliver an inbound message to the gateway's webhook; the HTTP status it answered."""

    @abc.abstractmethod
    async def send_receipt(self, webhook_url: str, provider_id: str, *, forged: bool = False) -> int:
        """Post a ``delivered`` receipt for ``provider_id``; the HTTP status the gateway answered."""

    inbound_kind: ClassVar[str] = "inbound"
    receipt_kind: ClassVar[str] = "status"


class TwilioProvider(ProviderFake):
    channel_type = "twilio"
    sender = "+15005550006"
    recipient = "+14155550100"
    webhook_receipts = True

    def __init__(self) -> None:
        self.fake = FakeTwilio(callback_delay=0.02)

    async def start(self) -> None:
        await self.fake.start()

    async def close(self) -> None:
        await self.fake.close()

    def settings(self, public_base_url: str) -> dict[str, Any]:
        return {"api_base_url": self.fake.url, "public_base_url": public_base_url, "timeout_seconds": 5}

    def credentials(self) -> dict[str, Any]:
        return {"account_sid": self.fake.account_sid, "auth_token": self.fake.auth_token}

    def secrets(self) -> list[str]:
        basic = base64.b64encode(f"{self.fake.account_sid}:{self.fake.auth_token}".encode()).decode()
        return [self.fake.auth_token, basic]

    def received(self, recipient: str) -> list[str]:
        return [m.sid for m in self.fake.received(recipient)]

    def refuse(self, recipient: str) -> str:
        self.fake.fail_number(recipient, 21211)
        return "twilio_21211"

    def undeliverable(self, recipient: str) -> str:
        self.fake.undeliverable[recipient] = 30003
        return "twilio_30003"

    def hold_receipts(self) -> None:
        self.fake.status_callbacks = False

    def fail_transiently(self, count: int) -> None:
        self.fake.fail_requests(count, status=503)

    async def send_inbound(self, webhook_url: str, *, sender: str, body: str, forged: bool = False) -> int:
        status, _ = await self.fake.send_inbound(
            webhook_url, from_=sender, to=self.sender, body=body, signature="Zm9yZ2Vk" if forged else None
        )
        return status

    async def send_receipt(self, webhook_url: str, provider_id: str, *, forged: bool = False) -> int:
        status, _ = await self.fake.send_status(
            webhook_url, provider_id, "delivered", signature="Zm9yZ2Vk" if forged else None
        )
        return status


PROVIDERS: dict[str, type[ProviderFake]] = {"twilio": TwilioProvider}
