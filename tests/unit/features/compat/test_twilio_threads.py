"""The pure parts of the Twilio Conversations and Proxy translations: the delivery summary, and
the forms read as native fields or refused."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from tidings.core.clock import now_ms
from tidings.features.compat.twilio.conversations.parameters import (
    conversation_fields,
    message_fields,
    participant_fields,
)
from tidings.features.compat.twilio.conversations.responses import delivery_summary
from tidings.features.compat.twilio.exceptions import TwilioError
from tidings.features.compat.twilio.forms import Form, parse
from tidings.features.compat.twilio.proxy.parameters import session_fields


def form(**values: str | list[str]) -> Form:
    pairs: list[tuple[str, str]] = []
    for name, value in values.items():
        for one in value if isinstance(value, list) else [value]:
            pairs.append((name.replace("__", "."), one))
    return Form(tuple(pairs))


def refused(call: Callable[..., object], *args: object, **kwargs: object) -> TwilioError:
    with pytest.raises(TwilioError) as caught:
        call(*args, **kwargs)
    return caught.value


def test_delivery_summary_counts_each_outcome_as_all_some_or_none() -> None:
    assert delivery_summary([]) is None
    assert delivery_summary(["queued", "sending"]) == {
        "total": 2,
        "sent": "none",
        "delivered": "none",
        "read": "none",
        "undelivered": "none",
        "failed": "none",
    }
    # delivered counts as sent; read as delivered and sent; expired and canceled as failed.
    assert delivery_summary(["read", "delivered", "sent", "expired"]) == {
        "total": 4,
        "sent": "some",
        "delivered": "some",
        "read": "some",
        "undelivered": "none",
        "failed": "some",
    }
    assert delivery_summary(["delivered", "read"])["delivered"] == "all"  # type: ignore[index]
    assert delivery_summary(["undelivered"])["undelivered"] == "all"  # type: ignore[index]


def test_conversation_forms_translate_to_native_fields() -> None:
    created = conversation_fields(
        parse("FriendlyName=Booking+42&Attributes=%7B%22a%22%3A1%7D&State=inactive&Timers.Closed=P1D"),
        creating=True,
    )
    assert created == {
        "friendly_name": "Booking 42",
        "attributes": {"a": 1},
        "state": "inactive",
        "timers": {"closed_after": "P1D"},
    }
    assert conversation_fields(form(State="closed"), creating=False) == {"state": "closed"}
    assert conversation_fields(form(FriendlyName=""), creating=False) == {"friendly_name": None}
    assert refused(conversation_fields, form(State="closed"), creating=True).code == 21200
    assert refused(conversation_fields, form(UniqueName="u"), creating=True).code == 20001
    assert refused(conversation_fields, form(Attributes='"text"'), creating=True).code == 21200
    assert refused(conversation_fields, form(FriendlyName=["a", "b"]), creating=True).code == 21200


def test_participant_and_message_forms() -> None:
    assert participant_fields(
        form(
            MessagingBinding__Address=" whatsapp:+14155550100 ",
            MessagingBinding__ProxyAddress="whatsapp:+1415",
        )
    ) == {"address": "whatsapp:+14155550100", "proxy_address": "whatsapp:+1415", "identity": None}
    chat = refused(participant_fields, form(Identity="ana"))
    assert chat.code == 20001 and "MessagingBinding.Address" in chat.message
    assert refused(participant_fields, form()).code == 21200
    assert message_fields(form(Body="hi", Attributes="{}")) == (None, "hi")
    assert message_fields(form(Body="hi", Author=" Front desk ")) == ("Front desk", "hi")
    assert refused(message_fields, form(Body="  ")).code == 21602
    assert refused(message_fields, form(Body="x" * 1601)).code == 21617


def test_session_forms_expiry_and_participants() -> None:
    before = now_ms()
    fields, people = session_fields(
        form(Ttl="60", Participants=[json.dumps({"Identifier": "+1 415 555 0100"})]), None
    )
    assert fields["ttl"] == 60 and before + 60_000 <= fields["expires_at"] <= now_ms() + 60_000
    assert [p.identifier for p in people] == ["+14155550100"]
    defaulted, _ = session_fields(form(), 300)
    assert defaulted["ttl"] == 300 and defaulted["expires_at"] is not None
    forever, _ = session_fields(form(Mode="message-only"), None)
    assert forever == {"unique_name": None, "ttl": None, "expires_at": None}
    _, asked = session_fields(
        form(
            Participants=[
                json.dumps(
                    {"Identifier": "whatsapp:+14155550100", "ProxyIdentifier": "whatsapp:+14155557001"}
                )
            ]
        ),
        None,
    )
    assert (asked[0].identifier, asked[0].proxy_identifier) == ("whatsapp:+14155550100", "+14155557001")
    assert refused(session_fields, form(Mode="voice-only"), None).code == 20001
    assert refused(session_fields, form(Ttl="60", DateExpiry="2099-01-01T00:00:00Z"), None).code == 21200
    three = [json.dumps({"Identifier": f"+1415555010{n}"}) for n in range(3)]
    assert refused(session_fields, form(Participants=three), None).code == 21200
    assert refused(session_fields, form(Participants=[json.dumps({"Identifier": 5})]), None).code == 21200
