"""Send, step 2, the plan: what goes out and when, from the request alone. One way of naming the
recipients, a body where one belongs (rendered per recipient, its encoding and segments held to
the limits), the template, the schedule and priority; recipients stay as given until step 3."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from tidings.core.clock import now_ms, to_ms
from tidings.core.encoding import SegmentInfo, analyse
from tidings.core.priorities import PRIORITIES
from tidings.core.templates import MissingVariable, render
from tidings.errors import InvalidRequest, PayloadTooLarge, Unprocessable
from tidings.features.messages.contacts import contact_recipients, shown
from tidings.features.messages.origin import Limits, Origin
from tidings.features.messages.schemas import ContactRecipient, WhatsAppTemplate


@dataclass(frozen=True, slots=True)
class Plan:
    """A checked request: the bodies, the schedule, and the recipients as given."""

    origin: Origin
    given: Sequence[str | ContactRecipient]  # in request order
    bodies: list[str]  # one shared by every recipient (``to``), or one per recipient given
    infos: list[SegmentInfo]  # aligned with bodies
    # Where each recipient was given (``messages[3]``) when each has its own body; None for ``to``.
    fields: list[str] | None
    single: bool  # ``to`` named one recipient, not a list
    contacts: list[ContactRecipient]  # the recipients given as contacts, their channel types checked
    country: str | None  # for national numbers
    send_at: int | None
    expires_at: int | None
    priority: int
    metadata: str | None
    # The WhatsApp template (Cloud API object as compact JSON), shared by every recipient.
    template: str | None


def plan(origin: Origin) -> Plan:
    """Check the request into bodies and a schedule, or raise the documented 4xx error."""
    request, limits = origin.send.request, origin.limits
    contacts = contact_recipients(request)
    now = now_ms()
    send_at = _send_at(request.send_at, now, limits.max_schedule_days)
    start = send_at if send_at is not None else now
    expires_at = start + request.validity_period * 1000 if request.validity_period else None
    country = request.default_country.upper() if request.default_country else limits.default_country
    metadata = json.dumps(request.metadata, separators=(",", ":")) if request.metadata else None
    priority = PRIORITIES[request.priority]
    modes = [request.to is not None, request.messages is not None, request.recipients is not None]
    if sum(modes) != 1:
        raise InvalidRequest(
            "give exactly one of `to` (with `body`), `messages`, or `recipients` (with a `body` template)",
            code="invalid_recipients",
            field="to",
        )
    body = request.body
    template: str | None = None
    if request.template is not None:
        if request.to is None:
            raise InvalidRequest(
                "`template` goes with `to`, not with `messages` or `recipients`",
                code="unexpected_field",
                field="template",
            )
        template = json.dumps(request.template.cloud_api_object(), separators=(",", ":"))
        if body is None:
            body = template_label(request.template)
    if request.to is not None or request.recipients is not None:
        if body is None:
            raise InvalidRequest("`body` is required", code="missing_field", field="body")
    elif request.body is not None:
        raise InvalidRequest("`body` goes inside each of `messages`", code="unexpected_field", field="body")

    given: Sequence[str | ContactRecipient]
    fields: list[str] | None = None
    if request.to is not None:
        given = request.to if isinstance(request.to, list) else [request.to]
        _check_count(len(given), limits, "to")
        assert body is not None
        bodies = [body]
        # With a template the body is what lists show, not what is sent: no segment limit.
        infos = [_check_body(body, limits, "body", segment_limit=template is None)]
    elif request.messages is not None:
        _check_count(len(request.messages), limits, "messages")
        given = [m.to for m in request.messages]
        bodies = [m.body for m in request.messages]
        fields = [f"messages[{i}]" for i in range(len(bodies))]
        infos = _check_bodies(bodies, fields, limits)
    else:
        assert request.recipients is not None and request.body is not None
        _check_count(len(request.recipients), limits, "recipients")
        named: list[str | ContactRecipient] = []
        bodies, fields = [], []
        for i, recipient in enumerate(request.recipients):
            try:
                bodies.append(render(request.body, recipient.vars))
            except MissingVariable as missing:
                raise Unprocessable(
                    f"recipient {i} ({shown(recipient.to)}) has no value for {{{{{missing.name}}}}}",
                    code="missing_variable",
                    field=f"recipients[{i}].vars.{missing.name}",
                ) from None
            named.append(recipient.to)
            fields.append(f"recipients[{i}]")
        given = named
        infos = _check_bodies(bodies, fields, limits)
    return Plan(
        origin,
        given,
        bodies,
        infos,
        fields,
        request.to is not None and not isinstance(request.to, list),
        contacts,
        country,
        send_at,
        expires_at,
        priority,
        metadata,
        template,
    )


def template_label(template: WhatsAppTemplate) -> str:
    """The body stored for a template sent without one, so lists show what went out."""
    return f"[template {template.name}/{template.language.code}]"


def _send_at(value: datetime | None, now: int, max_days: int) -> int | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise Unprocessable(
            "send_at needs a time zone (RFC 3339, e.g. 2026-12-01T09:00:00Z)",
            code="invalid_send_at",
            field="send_at",
        )
    at = to_ms(value)
    if at <= now:
        raise Unprocessable("send_at must be in the future", code="send_at_in_past", field="send_at")
    if at > now + max_days * 86_400_000:
        raise Unprocessable(
            f"send_at may be at most {max_days} days ahead", code="send_at_too_far", field="send_at"
        )
    return at


def _check_count(count: int, limits: Limits, field: str) -> None:
    if count == 0:
        raise Unprocessable("at least one recipient is needed", code="no_recipients", field=field)
    if count > limits.max_recipients:
        raise PayloadTooLarge(
            f"at most {limits.max_recipients} recipients per request, got {count}",
            code="too_many_recipients",
            field=field,
        )


def _check_bodies(bodies: list[str], fields: list[str], limits: Limits) -> list[SegmentInfo]:
    """Each body checked once however many recipients share it; the first bad one is the 4xx."""
    checked: dict[str, SegmentInfo] = {}
    infos: list[SegmentInfo] = []
    for body, field in zip(bodies, fields, strict=True):
        info = checked.get(body)
        if info is None:
            info = checked[body] = _check_body(body, limits, f"{field}.body")
        infos.append(info)
    return infos


def _check_body(body: str, limits: Limits, field: str, *, segment_limit: bool = True) -> SegmentInfo:
    if not body.strip():
        raise Unprocessable("the message body is empty", code="empty_body", field=field)
    if len(body) > limits.max_body_chars:
        raise PayloadTooLarge(
            f"the body is {len(body)} characters; at most {limits.max_body_chars} are accepted",
            code="body_too_long",
            field=field,
        )
    info = analyse(body)
    if segment_limit and info.segments > limits.max_segments:
        raise Unprocessable(
            f"the body needs {info.segments} {info.encoding} segments; this channel allows at most "
            f"{limits.max_segments}",
            code="too_many_segments",
            field=field,
        )
    return info
