"""Contact addresses: every accepted form of a kind's address stores as the one canonical string
messages use, so resolving a contact and matching an inbound sender are equality lookups."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tidings.core.addresses import ChannelKind, sender_key
from tidings.core.numbers import InvalidNumberError
from tidings.core.tenancy import Principal, Role
from tidings.features.contacts.addresses import contact_address, lookup_candidates
from tidings.features.messages.contacts import ContactBook, contact_recipients
from tidings.features.messages.origin import Limits, Origin, Send
from tidings.features.messages.planning import Plan, plan
from tidings.features.messages.recipients import address
from tidings.features.messages.schemas import ContactRecipient, SendMessagesRequest


def _example_numbers() -> list[tuple[str, str]]:
    """(region, E.164) of libphonenumber's example mobile number of every region that has one."""
    found = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
        if example is not None and phonenumbers.is_valid_number(example):
            found.append((region, phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)))
    return found


EXAMPLES = _example_numbers()
PHONE_KINDS = [ChannelKind.SMS, ChannelKind.WHATSAPP]


@settings(max_examples=300, deadline=None)
@given(example=st.sampled_from(EXAMPLES), kind=st.sampled_from(PHONE_KINDS))
def test_every_form_of_a_number_stores_as_the_messages_canonical_form(
    example: tuple[str, str], kind: ChannelKind
) -> None:
    region, e164 = example
    canonical = e164 if kind is ChannelKind.SMS else f"whatsapp:{e164}"
    national = phonenumbers.format_number(phonenumbers.parse(e164), phonenumbers.PhoneNumberFormat.NATIONAL)
    international = phonenumbers.format_number(
        phonenumbers.parse(e164), phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    for form in (e164, international, f"{kind.value}:{e164}", f" {kind.value.upper()} : {international}"):
        assert contact_address(kind, form) == canonical, form
    assert contact_address(kind, national, region) == canonical
    assert contact_address(kind, canonical) == canonical  # idempotent
    # An inbound message from that address finds it by equality.
    assert sender_key(canonical) == (kind.value, canonical)
    assert (kind.value, canonical) in lookup_candidates(e164)


@settings(max_examples=300, deadline=None)
@given(chat_id=st.integers(min_value=1, max_value=2**52 - 1), sign=st.sampled_from(["", "-"]))
def test_telegram_chat_ids_store_prefixed_in_any_spelling(chat_id: int, sign: str) -> None:
    canonical = f"telegram:{sign}{chat_id}"
    for form in (f"{sign}{chat_id}", f"telegram:{sign}{chat_id}", f"Telegram: {sign}{chat_id:0>3}"):
        assert contact_address(ChannelKind.TELEGRAM, form) == canonical, form
    assert sender_key(canonical) == ("telegram", canonical)
    assert lookup_candidates(canonical) == [("telegram", canonical)]


@settings(max_examples=200, deadline=None)
@given(user_id=st.from_regex(r"[A-Za-z0-9+/=_-]{1,64}", fullmatch=True))
def test_viber_ids_store_prefixed(user_id: str) -> None:
    assert contact_address(ChannelKind.VIBER, user_id) == f"viber:{user_id}"
    assert contact_address(ChannelKind.VIBER, f"viber:{user_id}") == f"viber:{user_id}"


@pytest.mark.parametrize(
    ("kind", "raw", "reason"),
    [
        (ChannelKind.SMS, "whatsapp:+14155550100", "kind_mismatch"),
        (ChannelKind.WHATSAPP, "telegram:123", "kind_mismatch"),
        (ChannelKind.TELEGRAM, "viber:abc", "kind_mismatch"),
        (ChannelKind.VIBER, "signal:abc", "invalid_address"),
        (ChannelKind.SMS, "0830000000", "missing_country"),
        (ChannelKind.SMS, "+12", "too_short"),
        (ChannelKind.TELEGRAM, "0", "invalid_address"),
        (ChannelKind.TELEGRAM, "@ab", "invalid_address"),
        (ChannelKind.VIBER, "has space", "invalid_address"),
    ],
)
def test_refused_addresses_carry_a_reason(kind: ChannelKind, raw: str, reason: str) -> None:
    with pytest.raises(InvalidNumberError) as refused:
        contact_address(kind, raw)
    assert refused.value.reason == reason and refused.value.input == raw


def test_a_telegram_username_is_one_spelling() -> None:
    assert contact_address(ChannelKind.TELEGRAM, "@Tidings_News") == "telegram:@tidings_news"
    assert sender_key("telegram:@TIDINGS_news") == ("telegram", "telegram:@tidings_news")
    assert sender_key("Tidings") is None  # an alphanumeric sender id is nobody's address


def test_a_bare_number_looks_up_sms_and_whatsapp_and_a_prefixed_one_its_own_kind() -> None:
    assert lookup_candidates("083 000 0000", "ZA") == [
        ("sms", "+27830000000"),
        ("whatsapp", "whatsapp:+27830000000"),
    ]
    assert lookup_candidates("sms:+27830000000") == [("sms", "+27830000000")]
    assert lookup_candidates("whatsapp:+27830000000") == [("whatsapp", "whatsapp:+27830000000")]


LIMITS = Limits(
    max_recipients=100_000,
    max_body_chars=1600,
    max_segments=10,
    max_schedule_days=35,
    default_country=None,
    allowed_countries=None,
)


def _plan(request: SendMessagesRequest) -> Plan:
    """Step 2 of a send by account AC1 on its channel c1, under LIMITS."""
    send = Send(Principal("AC1", Role.SENDER, frozenset({"AC1"})), request, None, "")
    return plan(Origin(send, ("AC1",), {"id": "c1"}, LIMITS, None, None))


def test_plain_recipients_need_no_contact_lookup() -> None:
    plain = SendMessagesRequest.model_validate({"to": [f"+1415555{i:04d}" for i in range(1000)], "body": "x"})
    assert contact_recipients(plain) == []
    assert address(_plan(plain), None, None).contact_ids is None
    single = SendMessagesRequest.model_validate({"to": "+14155550100", "body": "x"})
    assert contact_recipients(single) == []


def test_contact_recipients_resolve_in_place_and_carry_their_contact_ids() -> None:
    request = SendMessagesRequest.model_validate(
        {
            "to": [
                {"contact": "a", "channel_type": "telegram"},
                "+14155550100",
                {"contact": "a", "channel_type": "viber"},
                {"contact": "b", "channel_type": "sms"},
            ],
            "body": "x",
        }
    )
    named = contact_recipients(request)
    assert named == [
        ContactRecipient(contact="a", channel_type="telegram"),
        ContactRecipient(contact="a", channel_type="viber"),
        ContactRecipient(contact="b", channel_type="sms"),
    ]
    book = ContactBook({("a", "telegram"): ("telegram:77", "ctc_a")}, frozenset({"a"}))
    planned = address(_plan(request), book, None)
    assert planned.recipients == ["telegram:77", "+14155550100"]
    assert planned.contact_ids == ["ctc_a", None]
    assert [(i.input, i.reason) for i in planned.invalid] == [
        ("contact:a/viber", "no_address_for_channel_type"),
        ("contact:b/sms", "unknown_contact"),
    ]
