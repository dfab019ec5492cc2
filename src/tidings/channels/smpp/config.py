"""What an SMPP channel is configured with: the SMSC's address and bind, kept apart from the password."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr

from tidings.channels.base import ChannelCredentials, ChannelSettings

IdBase = Literal["opaque", "decimal", "hex"]


class SmppSettings(ChannelSettings):
    host: str = Field(min_length=1, max_length=255)
    port: int = Field(default=2775, ge=1, le=65535)
    system_id: str = Field(min_length=1, max_length=15)  # SMPP 3.4 §5.2.1: C-string of 16 octets
    system_type: str = Field(default="", max_length=12)
    # "transceiver": one bind for both ways; "transmitter_receiver": two binds per session, for
    # SMSCs that do not offer bind_transceiver.
    bind_mode: Literal["transceiver", "transmitter_receiver"] = "transceiver"
    tls: bool = False
    sessions: int = Field(default=1, ge=1, le=32)
    window: int = Field(default=10, ge=1, le=1000)  # submit_sm outstanding per session
    # The library's core runs its own enquire_link timer; this is how often a session checks
    # that its bind is still alive and starts a reconnect when it is not.
    enquire_link_seconds: float = Field(default=30, gt=0, le=3600)
    reconnect_min_seconds: float = Field(default=1, gt=0, le=600)
    reconnect_max_seconds: float = Field(default=60, gt=0, le=3600)
    connect_timeout_seconds: float = Field(default=10, gt=0, le=120)
    response_timeout_seconds: float = Field(default=30, gt=0, le=600)
    # How long a send waits for some session to be bound before it is requeued (never sent).
    bind_wait_seconds: float = Field(default=5, ge=0, le=120)
    # None: worked out from the sender (+digits: 1/1 international, letters: 5/0, digits: 0/1).
    source_addr_ton: int | None = Field(default=None, ge=0, le=6)
    source_addr_npi: int | None = Field(default=None, ge=0, le=18)
    dest_addr_ton: int = Field(default=1, ge=0, le=6)
    dest_addr_npi: int = Field(default=1, ge=0, le=18)
    # What a body that fits GSM-7 is sent as: 0 the SMSC default alphabet (GSM 03.38, one septet
    # per octet), 3 Latin-1 where the body fits it, 1 IA5/ASCII. UCS-2 bodies always go as 8.
    default_data_coding: Literal[0, 1, 3] = 0
    long_messages: Literal["udh", "message_payload"] = "udh"
    request_receipts: bool = True
    # The base of the ids in submit_sm_resp and in receipts; when they differ, receipt ids are
    # converted. "opaque": compared as text. Ids of a known base are recorded canonically
    # (lower-case hex or decimal, no leading zeros).
    message_id_base: IdBase = "opaque"
    receipt_id_base: IdBase = "opaque"
    # A receipt for an id this process has not seen answered yet waits this long for its
    # submit_sm_resp (or its other parts) before going to the gateway as it is.
    receipt_hold_seconds: float = Field(default=10, ge=0, le=600)
    # ESME_RTHROTTLED / ESME_RMSGQFUL: the session pauses this long, the message is retried.
    throttle_backoff_seconds: float = Field(default=1, ge=0, le=600)
    mo_reassembly_seconds: float = Field(default=60, gt=0, le=3600)
    # A submit whose answer never came because the bind dropped may have been taken by the SMSC.
    # False: fail it (smpp_unconfirmed) rather than risk sending it twice.
    resend_unconfirmed: bool = False


class SmppCredentials(ChannelCredentials):
    password: SecretStr = Field(max_length=8)  # SMPP 3.4 §5.2.2: C-string of 9 octets
