"""The Twilio webhook format: its signature (Twilio's published test vector and the SDK's own
``RequestValidator``), message SIDs, statuses, error codes and the form fields of each event."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

import pytest
from twilio.request_validator import RequestValidator

from tidings.core.ids import new_ids
from tidings.features.compat.twilio.callbacks import (
    TWILIO_CALLBACKS,
    callback_fields,
    message_sid,
    twilio_signature,
)
from tidings.store.outbox import ClaimedDelivery

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def test_the_signature_matches_twilios_test_vector() -> None:
    params = {
        "CallSid": "CA1234567890ABCDE",
        "Caller": "+12349013030",
        "Digits": "1234",
        "From": "+12349013030",
        "To": "+18005551212",
    }
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    assert twilio_signature("12345", url, params.items()) == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
    assert twilio_signature("12346", url, params.items()) != "0/KCTR6DLpKmkAf8muzZqo1nDgQ="


@pytest.mark.parametrize(
    "params",
    [
        [("Body", "héllo wörld & <more>"), ("To", "+1"), ("body", "lower sorts last")],
        [("MediaUrl10", "b"), ("MediaUrl2", "a"), ("NumMedia", "11")],
        [("Empty", ""), ("Spaces", "a b+c=d")],
        [("Tag", "b"), ("Tag", "a"), ("Tag", "b")],  # repeated: values sorted, duplicates once
    ],
)
def test_the_signature_is_what_the_sdks_validator_computes(params: list[tuple[str, str]]) -> None:
    url = "http://127.0.0.1:8123/hooks/in?x=1"
    token = "tok_" + "z" * 30
    signature = twilio_signature(token, url, params)
    validator = RequestValidator(token)
    form = _MultiDict()
    for name, value in params:
        form.setdefault(name, []).append(value)
    assert validator.compute_signature(url, form) == signature
    assert validator.validate(url, form, signature)


class _MultiDict(dict[str, list[str]]):
    """A form with repeated names, as Flask hands it to the validator (``getall``)."""

    def getall(self, name: str) -> list[str]:
        return self[name]


def test_message_sids_are_the_native_ids_number_in_hex() -> None:
    ids = new_ids("msg", 3)
    sids = [message_sid(i) for i in ids]
    for native, sid in zip(ids, sids, strict=True):
        assert sid.startswith("SM") and len(sid) == 34 and sid == sid[:2] + sid[2:].lower()
        value = 0
        for char in native.removeprefix("msg_"):
            value = value * 32 + _CROCKFORD.index(char)
        assert int(sid[2:], 16) == value
    assert len(set(sids)) == 3 and sids == sorted(sids)  # distinct, and as time-ordered as the ids
    assert message_sid("msg_" + "0" * 26) == "SM" + "0" * 32
    assert message_sid("msg_" + "7" + "Z" * 25) == "SM" + "f" * 32


@pytest.mark.parametrize(
    ("status", "code", "announced", "error_code"),
    [
        ("sending", None, "sending", None),
        ("canceled", None, "canceled", None),
        ("expired", "validity_period_expired", "failed", "30001"),  # Twilio has no `expired`
        ("failed", "opted_out", "failed", "21610"),
        ("failed", "sandbox_rejected", "failed", "30005"),
        ("failed", None, "failed", "30008"),  # a failure always carries a code
        ("undelivered", "twilio_30007", "undelivered", "30007"),  # the Twilio channel's own
        ("undelivered", "something_else", "undelivered", "30008"),
        ("sent", "ignored", "sent", None),
    ],
)
def test_statuses_and_error_codes(
    status: str, code: str | None, announced: str, error_code: str | None
) -> None:
    fields = dict(callback_fields(_event(event_status=status, event_code=code)))
    assert (fields["MessageStatus"], fields["SmsStatus"]) == (announced, announced)
    assert fields.get("ErrorCode") == error_code


def _event(**changes: Any) -> dict[str, Any]:
    row = {
        "id": "msg_" + "0" * 25 + "1",
        "account_id": "AC" + "a" * 32,
        "sender": "+14155550999",
        "recipient": "+14155550100",
        "body": "hi",
        "segments": 1,
        "event_id": 5,
        "event_status": "delivered",
        "event_code": None,
    }
    return {**row, **changes}


def test_a_status_callback_has_twilios_fields_and_an_error_code_only_on_failures() -> None:
    sid = "SM" + "0" * 31 + "1"
    base = [("MessageSid", sid), ("SmsSid", sid), ("AccountSid", "AC" + "a" * 32)]
    addresses = [("From", "+14155550999"), ("To", "+14155550100")]
    assert callback_fields(_event()) == [
        *base,
        *addresses,
        ("MessageStatus", "delivered"),
        ("SmsStatus", "delivered"),
        ("ApiVersion", "2010-04-01"),
    ]
    assert "From" not in dict(callback_fields(_event(sender=None)))


def test_an_inbound_message_has_the_sms_url_fields() -> None:
    fields = dict(callback_fields(_event(event_status="received", body="", segments=0)))
    assert fields["SmsStatus"] == "received" and "MessageStatus" not in fields
    assert (fields["Body"], fields["NumMedia"], fields["NumSegments"]) == ("", "0", "1")
    assert fields["SmsMessageSid"] == fields["MessageSid"]


def test_the_format_signs_the_body_it_rendered() -> None:
    body = TWILIO_CALLBACKS.render(_event(body="a&b=c d")).encode()
    delivery = ClaimedDelivery(
        7, "AC" + "a" * 32, "msg_x", 5, "message.status", None, "http://h/x", 1, 0, "twilio"
    )
    headers = TWILIO_CALLBACKS.headers(
        key="secret", url="http://h/x", body=body, event_id="evt_5", delivery=delivery
    )
    params = dict(parse_qsl(body.decode(), keep_blank_values=True))
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert RequestValidator("secret").validate("http://h/x", params, headers["X-Twilio-Signature"])
    assert headers["I-Twilio-Idempotency-Token"] == "evt_5-7"
