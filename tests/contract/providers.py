"""One adapter per provider fake, so the contract tests read the same for every channel type.

To add a provider (flowroute, telegram, whatsapp, viber, smpp): implement :class:`ProviderFake`
over its fake and add it to :data:`PROVIDERS`.
"""

from __future__ import annotations

import abc
import asyncio
import base64
import secrets
from typing import Any, ClassVar

import aiohttp

from tidings.simulators.flowroute import FakeFlowroute
from tidings.simulators.smpp import FakeSmsc
from tidings.simulators.telegram import FakeTelegram
from tidings.simulators.twilio import FakeTwilio
from tidings.simulators.viber import FakeViber
from tidings.simulators.whatsapp import FakeWhatsApp


class ProviderFake(abc.ABC):
    """What the contract tests need from a provider's fake."""

    channel_type: ClassVar[str]
    sender: ClassVar[str]
    recipient: ClassVar[str]  # accepted and delivered
    # Delivery status arrives by webhook; else the adapter reports it itself (Telegram: on accept).
    webhook_receipts: ClassVar[bool]

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
    # Addresses in the provider's own form (chat apps have user ids, not phone numbers).
    refused_recipient: ClassVar[str] = "+14155550177"  # made to fail permanently by refuse()
    lost_recipient: ClassVar[str] = "+14155550188"  # made undeliverable by undeliverable()
    inbound_sender: ClassVar[str] = "+14155550123"  # the address inbound messages come from
    # False for a provider that never reports non-delivery (Telegram: no receipts at all); the
    # tests then skip undeliverable() and, without webhook_receipts, hold_receipts()/send_receipt().
    reports_undelivered: ClassVar[bool] = True
    # False for a provider without webhooks (SMPP: receipts and inbound arrive on the bind); every
    # webhook post then answers 404 and send_inbound injects the message through the fake.
    webhooks: ClassVar[bool] = True

    def subscribe(self, webhook_base: str) -> None:  # noqa: B027 - most providers need nothing
        """The channel exists; ``webhook_base`` is ``{gateway}/webhooks/{channel_id}``. For
        providers told one callback URL up front (Meta's App Dashboard), not per message."""


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


class FlowrouteProvider(ProviderFake):
    channel_type = "flowroute"
    sender = "+12065550100"
    recipient = "+14155550100"
    webhook_receipts = True

    def __init__(self) -> None:
        self.fake = FakeFlowroute(callback_delay=0.02)
        # Flowroute signs nothing: the channel's webhook token rides in the callback URLs.
        self.webhook_token = secrets.token_urlsafe(24)

    async def start(self) -> None:
        await self.fake.start()

    async def close(self) -> None:
        await self.fake.close()

    def settings(self, public_base_url: str) -> dict[str, Any]:
        return {"api_base_url": self.fake.url, "public_base_url": public_base_url, "timeout_seconds": 5}

    def credentials(self) -> dict[str, Any]:
        return {
            "access_key": self.fake.access_key,
            "secret_key": self.fake.secret_key,
            "webhook_token": self.webhook_token,
        }

    def secrets(self) -> list[str]:
        basic = base64.b64encode(f"{self.fake.access_key}:{self.fake.secret_key}".encode()).decode()
        return [self.fake.secret_key, basic, self.webhook_token]

    def received(self, recipient: str) -> list[str]:
        return [m.id for m in self.fake.received(recipient)]

    def refuse(self, recipient: str) -> str:
        self.fake.fail_number(recipient, 422)
        return "flowroute_http_422"

    def undeliverable(self, recipient: str) -> str:
        self.fake.set_undeliverable(recipient, 1005)
        return "flowroute_1005"

    def hold_receipts(self) -> None:
        self.fake.dlr_callbacks = False

    def fail_transiently(self, count: int) -> None:
        self.fake.fail_requests(count, status=503)

    def _with_token(self, webhook_url: str, forged: bool) -> str:
        return f"{webhook_url}?token={'forged-token-0123456789' if forged else self.webhook_token}"

    async def send_inbound(self, webhook_url: str, *, sender: str, body: str, forged: bool = False) -> int:
        url = self._with_token(webhook_url, forged)
        status, _ = await self.fake.send_inbound(url, from_=sender, to=self.sender, body=body)
        return status

    async def send_receipt(self, webhook_url: str, provider_id: str, *, forged: bool = False) -> int:
        status, _ = await self.fake.send_dlr(self._with_token(webhook_url, forged), provider_id, "delivered")
        return status


class ViberProvider(ProviderFake):
    channel_type = "viber"
    sender = "Tidings Bot"  # the bot's sender.name; also the recipient of inbound messages
    recipient = "viber:01234567890A="
    refused_recipient = "viber:refusedUser0000000A="
    lost_recipient = "viber:lostUser000000000A="
    inbound_sender = "viber:inboundUser0000000A="
    webhook_receipts = True
    # Viber posts receipts and inbound messages to the bot's one webhook.
    inbound_kind = "callback"
    receipt_kind = "callback"

    def __init__(self) -> None:
        self.fake = FakeViber(callback_delay=0.02)

    async def start(self) -> None:
        await self.fake.start()

    async def close(self) -> None:
        await self.fake.close()

    def settings(self, public_base_url: str) -> dict[str, Any]:
        # The adapter registers its webhook with the fake (set_webhook) when it opens.
        return {
            "api_base_url": self.fake.url,
            "public_base_url": public_base_url,
            "sender_name": self.sender,
            "timeout_seconds": 5,
        }

    def credentials(self) -> dict[str, Any]:
        return {"auth_token": self.fake.auth_token}

    def secrets(self) -> list[str]:
        return [self.fake.auth_token]

    def received(self, recipient: str) -> list[str]:
        user = recipient.removeprefix("viber:")
        return [str(m.message_token) for m in self.fake.received(user)]

    def refuse(self, recipient: str) -> str:
        self.fake.refuse(recipient.removeprefix("viber:"), 5)
        return "viber_5"

    def undeliverable(self, recipient: str) -> str:
        self.fake.undeliverable[recipient.removeprefix("viber:")] = "the user's device is unreachable"
        return "viber_failed"

    def hold_receipts(self) -> None:
        self.fake.delivery_callbacks = False

    def fail_transiently(self, count: int) -> None:
        self.fake.fail_requests(count, status=503)

    async def send_inbound(self, webhook_url: str, *, sender: str, body: str, forged: bool = False) -> int:
        status, _ = await self.fake.send_inbound(
            webhook_url,
            sender_id=sender.removeprefix("viber:"),
            text=body,
            signature="00" * 32 if forged else None,
        )
        return status

    async def send_receipt(self, webhook_url: str, provider_id: str, *, forged: bool = False) -> int:
        status, _ = await self.fake.send_event(
            webhook_url, "delivered", int(provider_id), signature="00" * 32 if forged else None
        )
        return status


class WhatsAppProvider(ProviderFake):
    channel_type = "whatsapp"
    sender = "whatsapp:+15550783881"  # the fake's display_phone_number; inbound messages' recipient
    recipient = "whatsapp:+14155550100"
    refused_recipient = "whatsapp:+14155550177"
    lost_recipient = "whatsapp:+14155550188"
    inbound_sender = "whatsapp:+14155550123"
    webhook_receipts = True
    # Meta posts statuses and inbound messages to the app's one callback URL.
    inbound_kind = "events"
    receipt_kind = "events"

    def __init__(self) -> None:
        self.fake = FakeWhatsApp(status_delay=0.02, display_phone_number="15550783881")
        self.verify_token = secrets.token_hex(8)
        # Free-form messages need the customer service window open, as at Meta.
        self.fake.open_window(self.recipient)

    async def start(self) -> None:
        await self.fake.start()

    async def close(self) -> None:
        await self.fake.close()

    def subscribe(self, webhook_base: str) -> None:
        self.fake.webhook_url = f"{webhook_base}/{self.receipt_kind}"

    def settings(self, public_base_url: str) -> dict[str, Any]:
        return {
            "api_base_url": self.fake.url,
            "phone_number_id": self.fake.phone_number_id,
            "public_base_url": public_base_url,
            "timeout_seconds": 5,
        }

    def credentials(self) -> dict[str, Any]:
        return {
            "access_token": self.fake.access_token,
            "app_secret": self.fake.app_secret,
            "verify_token": self.verify_token,
        }

    def secrets(self) -> list[str]:
        return [self.fake.access_token, self.fake.app_secret, self.verify_token]

    def received(self, recipient: str) -> list[str]:
        return [m.id for m in self.fake.received(recipient)]

    def refuse(self, recipient: str) -> str:
        self.fake.refuse(recipient, 131030)
        return "whatsapp_131030"

    def undeliverable(self, recipient: str) -> str:
        self.fake.open_window(recipient)
        self.fake.mark_undeliverable(recipient, 131026)
        return "whatsapp_131026"

    def hold_receipts(self) -> None:
        self.fake.status_notifications = False

    def fail_transiently(self, count: int) -> None:
        self.fake.fail_requests(count, status=503)

    async def send_inbound(self, webhook_url: str, *, sender: str, body: str, forged: bool = False) -> int:
        forgery = "sha256=" + "0" * 64 if forged else None
        status, _ = await self.fake.send_inbound(webhook_url, from_=sender, body=body, signature=forgery)
        return status

    async def send_receipt(self, webhook_url: str, provider_id: str, *, forged: bool = False) -> int:
        forgery = "sha256=" + "0" * 64 if forged else None
        status, _ = await self.fake.send_status(webhook_url, provider_id, "delivered", signature=forgery)
        return status


class TelegramProvider(ProviderFake):
    channel_type = "telegram"
    sender = "telegram:@tidings_contract_bot"  # the bot_address setting: inbound messages' `to`
    recipient = "telegram:100200300"
    refused_recipient = "telegram:100200377"
    lost_recipient = "telegram:100200388"  # unused: Telegram reports no non-delivery
    inbound_sender = "telegram:100200323"
    # The Bot API has no receipts: the adapter reports `delivered` once sendMessage answers.
    webhook_receipts = False
    reports_undelivered = False
    # Every Update (inbound or not) arrives at the bot's one webhook.
    inbound_kind = "updates"
    receipt_kind = "updates"

    def __init__(self) -> None:
        self.fake = FakeTelegram()

    async def start(self) -> None:
        await self.fake.start()

    async def close(self) -> None:
        await self.fake.close()

    def settings(self, public_base_url: str) -> dict[str, Any]:
        return {
            "api_base_url": self.fake.url,
            "public_base_url": public_base_url,
            "bot_address": self.sender,
            "timeout_seconds": 5,
        }

    def credentials(self) -> dict[str, Any]:
        return {"bot_token": self.fake.bot_token, "webhook_secret": self.fake.webhook_secret}

    def secrets(self) -> list[str]:
        assert self.fake.webhook_secret is not None
        # The token's second half alone is the secret (the first is the bot's public id).
        return [self.fake.bot_token, self.fake.bot_token.partition(":")[2], self.fake.webhook_secret]

    def received(self, recipient: str) -> list[str]:
        return [m.key for m in self.fake.received(recipient)]

    def refuse(self, recipient: str) -> str:
        self.fake.refuse_chat(recipient, "blocked")
        return "telegram_403"

    def undeliverable(self, recipient: str) -> str:
        raise AssertionError("Telegram never reports non-delivery (reports_undelivered is False)")

    def hold_receipts(self) -> None:
        raise AssertionError("Telegram has no receipt webhooks (webhook_receipts is False)")

    def fail_transiently(self, count: int) -> None:
        self.fake.fail_requests(count, status=500)

    async def send_inbound(self, webhook_url: str, *, sender: str, body: str, forged: bool = False) -> int:
        chat_id = int(sender.removeprefix("telegram:"))
        secret = "forged-secret-0123456789" if forged else None
        status, _ = await self.fake.send_inbound(chat_id, body, url=webhook_url, secret_token=secret)
        return status

    async def send_receipt(self, webhook_url: str, provider_id: str, *, forged: bool = False) -> int:
        raise AssertionError("Telegram has no receipt webhooks (webhook_receipts is False)")


class SmppProvider(ProviderFake):
    channel_type = "smpp"
    sender = "+15550001"
    recipient = "+14155550100"
    webhook_receipts = False
    webhooks = False

    def __init__(self) -> None:
        self.fake = FakeSmsc(receipt_delay=0.02)
        self.password = secrets.token_hex(4)

    async def start(self) -> None:
        await self.fake.start()

    async def close(self) -> None:
        await self.fake.close()

    def settings(self, public_base_url: str) -> dict[str, Any]:
        return {
            "host": self.fake.host, "port": self.fake.port, "system_id": "contract",
            "throttle_backoff_seconds": 0.05, "reconnect_min_seconds": 0.05,
        }  # fmt: skip

    def credentials(self) -> dict[str, Any]:
        return {"password": self.password}

    def secrets(self) -> list[str]:
        return [self.password]

    def received(self, recipient: str) -> list[str]:
        return [m.message_id for m in self.fake.received(recipient)]

    def refuse(self, recipient: str) -> str:
        self.fake.refuse(recipient)
        return "smpp_esme_rinvdstadr"

    def undeliverable(self, recipient: str) -> str:
        self.fake.undeliverable(recipient, err="001")
        return "smpp_undeliv_001"

    def hold_receipts(self) -> None:
        raise AssertionError("SMPP receipts arrive on the bind (webhook_receipts is False)")

    def fail_transiently(self, count: int) -> None:
        self.fake.throttle(count)

    async def send_inbound(self, webhook_url: str, *, sender: str, body: str, forged: bool = False) -> int:
        if forged:  # no webhook to forge: what a post to one answers
            async with aiohttp.ClientSession() as session, session.post(webhook_url, data=b"x=1") as answer:
                return answer.status
        await self._bound()
        await self.fake.inject_mo(sender, self.sender, body)
        return 200

    async def _bound(self) -> None:
        # Workers bind SMPP channels by themselves, before any send (Channel.listens): an MO
        # injected before the bind would have nowhere to go.
        for _ in range(500):
            if self.fake.sessions:
                return
            await asyncio.sleep(0.02)
        raise AssertionError("the gateway did not bind to the fake SMSC in 10 s")

    async def send_receipt(self, webhook_url: str, provider_id: str, *, forged: bool = False) -> int:
        raise AssertionError("SMPP receipts arrive on the bind (webhook_receipts is False)")


PROVIDERS: dict[str, type[ProviderFake]] = {
    "telegram": TelegramProvider,
    "twilio": TwilioProvider,
    "flowroute": FlowrouteProvider,
    "viber": ViberProvider,
    "whatsapp": WhatsAppProvider,
    "smpp": SmppProvider,
}
