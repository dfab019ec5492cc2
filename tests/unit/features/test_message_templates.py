"""The WhatsApp template object of ``POST /v1/messages``: what validates, what is refused and
where, and how a template send is planned (label body, no segment limit, `to` only)."""

from __future__ import annotations

import json
import string
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from tidings.core.tenancy import Principal, Role
from tidings.errors import InvalidRequest
from tidings.features.messages.origin import Limits, Origin, Send
from tidings.features.messages.planning import Plan, plan
from tidings.features.messages.recipients import address
from tidings.features.messages.schemas import SendMessagesRequest, WhatsAppTemplate
from tidings.features.messages.writing import message_rows
from tidings.store.intake import MESSAGE_COLUMNS, TEMPLATE_MESSAGE_COLUMNS

NAMES = st.text(string.ascii_lowercase + string.digits + "_", min_size=1, max_size=512)
LANGUAGES = st.sampled_from(["en", "en_US", "pt_BR", "fil", "zh_CN", "af", "es_AR"])
TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=60)
LINKS = st.builds(
    lambda host, path: f"https://{host}.test/{path}",
    st.from_regex(r"[a-z]{1,10}", fullmatch=True),
    st.from_regex(r"[a-z0-9]{1,10}\.jpg", fullmatch=True),
)

BODY_PARAMETERS = st.one_of(
    st.builds(lambda t: {"type": "text", "text": t}, TEXT),
    st.builds(
        lambda v, c, a: {"type": "currency", "currency": {"fallback_value": v, "code": c, "amount_1000": a}},
        TEXT,
        st.from_regex(r"[A-Z]{3}", fullmatch=True),
        st.integers(-(10**12), 10**12),
    ),
    st.builds(lambda v: {"type": "date_time", "date_time": {"fallback_value": v}}, TEXT),
)
HEADERS = st.one_of(
    st.builds(lambda t: {"type": "header", "parameters": [{"type": "text", "text": t}]}, TEXT),
    st.builds(
        lambda kind, link: {"type": "header", "parameters": [{"type": kind, kind: {"link": link}}]},
        st.sampled_from(["image", "video", "document"]),
        LINKS,
    ),
)
BUTTONS = st.builds(
    lambda index, payload: {
        "type": "button",
        "sub_type": "quick_reply",
        "index": index,
        "parameters": [{"type": "payload", "payload": payload}],
    },
    st.integers(0, 9),
    TEXT,
)


@st.composite
def templates(draw: st.DrawFn) -> dict[str, Any]:
    components: list[dict[str, Any]] = []
    if draw(st.booleans()):
        components.append(draw(HEADERS))
    if draw(st.booleans()):
        components.append({"type": "body", "parameters": draw(st.lists(BODY_PARAMETERS, max_size=5))})
    buttons = draw(st.lists(BUTTONS, max_size=3, unique_by=lambda b: b["index"]))
    components.extend(buttons)
    template: dict[str, Any] = {"name": draw(NAMES), "language": {"code": draw(LANGUAGES)}}
    if components:
        template["components"] = components
    return template


@given(templates())
def test_valid_templates_pass_and_are_sent_exactly_as_given(template: dict[str, Any]) -> None:
    assert WhatsAppTemplate.model_validate(template).cloud_api_object() == template


@given(NAMES, LANGUAGES)
def test_the_language_code_alone_means_the_language_object(name: str, code: str) -> None:
    short = WhatsAppTemplate.model_validate({"name": name, "language": code})
    assert short.cloud_api_object() == {"name": name, "language": {"code": code}}


@given(
    st.text(max_size=600).filter(
        lambda n: (
            not n or len(n) > 512 or any(c not in string.ascii_lowercase + string.digits + "_" for c in n)
        )
    )
)
def test_names_outside_metas_alphabet_are_refused(name: str) -> None:
    with pytest.raises(ValidationError) as refused:
        WhatsAppTemplate.model_validate({"name": name, "language": "en"})
    assert [e["loc"] for e in refused.value.errors()] == [("name",)]


@pytest.mark.parametrize("code", ["EN", "english", "en-US", "en_us", "e", "en_USA", ""])
def test_language_codes_follow_metas_form(code: str) -> None:
    with pytest.raises(ValidationError) as refused:
        WhatsAppTemplate.model_validate({"name": "hello", "language": code})
    assert refused.value.errors()[0]["loc"] == ("language", "code")


@pytest.mark.parametrize(
    ("components", "loc"),
    [
        ([{"type": "body", "parameters": [{"type": "text"}]}], ("components", 0, "parameters", 0)),
        (
            [{"type": "body", "parameters": [{"type": "text", "text": "a", "payload": "b"}]}],
            ("components", 0, "parameters", 0),
        ),
        ([{"type": "body", "parameters": [{"type": "payload", "payload": "b"}]}], ("components", 0)),
        ([{"type": "header", "parameters": [{"type": "text", "text": "x" * 61}]}], ("components", 0)),
        ([{"type": "header", "parameters": [{"type": "text", "text": "a"}] * 2}], ("components", 0)),
        ([{"type": "body", "index": 0}], ("components", 0)),
        ([{"type": "button", "index": 0, "parameters": []}], ("components", 0)),
        ([{"type": "button", "sub_type": "url", "index": 10}], ("components", 0, "index")),
        ([{"type": "body"}, {"type": "body"}], ()),
        ([{"type": "button", "sub_type": "url", "index": 1}] * 2, ()),
        (
            [{"type": "header", "parameters": [{"type": "image", "image": {}}]}],
            ("components", 0, "parameters", 0, "image"),
        ),
        (
            [
                {
                    "type": "header",
                    "parameters": [{"type": "image", "image": {"id": "1", "filename": "a.jpg"}}],
                }
            ],
            ("components", 0, "parameters", 0),
        ),
        (
            [
                {
                    "type": "header",
                    "parameters": [{"type": "location", "location": {"latitude": 91, "longitude": 0}}],
                }
            ],
            ("components", 0, "parameters", 0, "location", "latitude"),
        ),
    ],
    ids=[
        "no value",
        "two values",
        "payload in body",
        "long header",
        "two header parameters",
        "index on body",
        "button without sub_type",
        "index over 9",
        "two bodies",
        "same button index",
        "media without source",
        "filename on image",
        "latitude",
    ],
)
def test_malformed_components_are_refused_where_they_are(
    components: list[dict[str, Any]], loc: tuple[Any, ...]
) -> None:
    with pytest.raises(ValidationError) as refused:
        WhatsAppTemplate.model_validate({"name": "hello", "language": "en", "components": components})
    assert refused.value.errors()[0]["loc"] == loc


LIMITS = Limits(
    max_recipients=100_000,
    max_body_chars=1600,
    max_segments=2,
    max_schedule_days=35,
    default_country=None,
    allowed_countries=None,
)


def _plan(request: SendMessagesRequest) -> Plan:
    """Step 2 of a send by account AC1 on its channel c1, under LIMITS."""
    send = Send(Principal("AC1", Role.SENDER, frozenset({"AC1"})), request, None, "")
    return plan(Origin(send, ("AC1",), {"id": "c1"}, LIMITS, None, None))


def test_a_template_send_without_a_body_stores_a_label_and_carries_the_template() -> None:
    request = SendMessagesRequest.model_validate(
        {
            "to": ["whatsapp:+14155550100", "+14155550101"],
            "template": {"name": "hello_world", "language": "en_US"},
        }
    )
    planned = _plan(request)
    assert planned.bodies == ["[template hello_world/en_US]"]
    assert planned.template is not None
    assert json.loads(planned.template) == {"name": "hello_world", "language": {"code": "en_US"}}
    rows = message_rows(address(planned, None, None), ids=["m1", "m2"], batch_id="b1", now=1)
    assert all(len(row) == len(TEMPLATE_MESSAGE_COLUMNS) == len(MESSAGE_COLUMNS) + 1 for row in rows)
    assert {dict(zip(TEMPLATE_MESSAGE_COLUMNS, row, strict=True))["template"] for row in rows} == {
        planned.template
    }


def test_a_templates_body_is_not_held_to_the_segment_limit() -> None:
    body = "ж" * 500  # 8 UCS-2 segments, over the limit of 2
    with_template = SendMessagesRequest.model_validate(
        {"to": "+14155550100", "body": body, "template": {"name": "a", "language": "en"}}
    )
    assert _plan(with_template).infos[0].segments == 8
    free_form = SendMessagesRequest.model_validate({"to": "+14155550100", "body": body})
    with pytest.raises(Exception, match="segments"):
        _plan(free_form)


@pytest.mark.parametrize(
    "request_body",
    [
        {"messages": [{"to": "+14155550100", "body": "x"}]},
        {"recipients": [{"to": "+14155550100"}], "body": "x"},
    ],
)
def test_a_template_goes_with_to_only(request_body: dict[str, Any]) -> None:
    request = SendMessagesRequest.model_validate(
        {**request_body, "template": {"name": "a", "language": "en"}}
    )
    with pytest.raises(InvalidRequest) as refused:
        _plan(request)
    assert (refused.value.code, refused.value.field) == ("unexpected_field", "template")
