"""Delivery formats: how the deliverer renders, signs and labels one delivery (docs/webhooks.md,
"Formats").

Each outbox row names its format (``webhook_deliveries.format``): NULL is the native signed JSON
below; any other name is a format handed to the :class:`~tidings.webhooks.delivery.Deliverer` by
the runtime (Twilio's form post lives with the Twilio surface, which this floor must not import).
Claiming, ordering, retries and give-up are the deliverer's and the same for every format.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from typing import Any, Protocol

from sqlalchemy import Connection

from tidings.core.presenters import encode, event_payload
from tidings.crypto import SecretBox
from tidings.store import outbox
from tidings.store.outbox import ClaimedDelivery
from tidings.webhooks.secrets import new_webhook_secret
from tidings.webhooks.signing import SIGNATURE_HEADER, signature_header

EVENT_ID_HEADER = "Tidings-Event-Id"
EVENT_TYPE_HEADER = "Tidings-Event-Type"
DELIVERY_ID_HEADER = "Tidings-Delivery-Id"


class DeliveryFormat(Protocol):
    """One way of posting deliveries; ``name`` is what outbox rows carry (None: native)."""

    @property
    def name(self) -> str | None: ...

    def render(self, event: Mapping[str, Any]) -> str:
        """The body of a delivery announcing ``event``: a message row plus ``event_id``,
        ``event_status``, ``event_at``, ``event_code``, ``event_detail`` (store.event_rows). It
        is kept in the outbox row, so every retry sends the same bytes."""
        ...

    def signing_keys(
        self, conn: Connection, box: SecretBox, account_ids: Set[str], *, now: int
    ) -> dict[str, str]:
        """The opened key that signs each account's deliveries, read in the claim's transaction.
        An account missing from the answer has its deliveries failed (nothing leaves unsigned)."""
        ...

    def headers(
        self, *, key: str, url: str, body: bytes, event_id: str, delivery: ClaimedDelivery
    ) -> dict[str, str]:
        """Content-Type, signature and labels of one attempt, computed when it is posted."""
        ...


class NativeJson:
    """The native format: the event JSON of ``core.presenters``, ``Tidings-Signature`` keyed with
    the account's webhook secret."""

    name: str | None = None

    def render(self, event: Mapping[str, Any]) -> str:
        return encode(event_payload(dict(event)))

    def signing_keys(
        self, conn: Connection, box: SecretBox, account_ids: Set[str], *, now: int
    ) -> dict[str, str]:
        sealed = outbox.webhook_secrets(conn, account_ids)
        missing = set(account_ids) - sealed.keys()
        if missing:
            # Deliveries to a status_callback of an account that never set a webhook: it gets a
            # secret now, so nothing leaves unsigned (its owner reads it by rotating).
            outbox.add_missing_secrets(conn, {a: box.seal(new_webhook_secret()) for a in missing}, now=now)
            sealed = outbox.webhook_secrets(conn, account_ids)
        return {account_id: box.open(secret) for account_id, secret in sealed.items()}

    def headers(
        self, *, key: str, url: str, body: bytes, event_id: str, delivery: ClaimedDelivery
    ) -> dict[str, str]:
        return {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: signature_header(key, body),
            EVENT_ID_HEADER: event_id,
            EVENT_TYPE_HEADER: delivery.event_type,
            DELIVERY_ID_HEADER: str(delivery.id),
        }
