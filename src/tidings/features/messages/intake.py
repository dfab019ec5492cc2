"""Turning a send request into rows: recipients, bodies, encodings, times, limits (SPEC §3)."""

from __future__ import annotations

import json
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from tidings.core.addresses import normalize_addresses, parse_address
from tidings.core.clock import now_ms, to_ms
from tidings.core.encoding import SegmentInfo, analyse
from tidings.core.numbers import InvalidNumber, InvalidNumberError
from tidings.core.priorities import PRIORITIES
from tidings.core.routing import Router
from tidings.core.templates import MissingVariable, render
from tidings.errors import InvalidRequest, PayloadTooLarge, Unprocessable
from tidings.features.messages.contacts import REASONS as CONTACT_REASONS
from tidings.features.messages.contacts import ContactBook, shown
from tidings.features.messages.schemas import ContactRecipient, SendMessagesRequest, WhatsAppTemplate


@dataclass(frozen=True, slots=True)
class Limits:
    max_recipients: int
    max_body_chars: int
    max_segments: int
    max_schedule_days: int
    default_country: str | None
    allowed_countries: frozenset[str] | None


@dataclass(frozen=True, slots=True)
class Planned:
    """A validated request: who gets what, and when."""

    recipients: list[str]
    bodies: list[str]  # one per recipient, or a single shared body
    infos: list[SegmentInfo]  # aligned with bodies
    invalid: list[InvalidNumber]
    duplicates: int
    send_at: int | None
    expires_at: int | None
    priority: int
    metadata: str | None
    # The WhatsApp template (Cloud API object as compact JSON), shared by every recipient.
    template: str | None = None
    # Aligned with recipients when the request addressed contacts: each one's contact id or None.
    contact_ids: list[str | None] | None = None

    @property
    def uniform(self) -> bool:
        return len(self.bodies) == 1


def plan(
    request: SendMessagesRequest,
    limits: Limits,
    executor: Executor | None,
    contacts: ContactBook | None = None,
) -> Planned:
    """Validate a request into recipients and bodies, or raise the documented 4xx error.

    ``contacts`` holds the request's contact recipients resolved (``messages.contacts``); it is
    required when the request has any.
    """
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

    if request.to is not None:
        single = not isinstance(request.to, list)
        given = request.to if isinstance(request.to, list) else [request.to]
        _check_count(len(given), limits, "to")
        raws = contacts.substitute_all(given) if contacts is not None else cast(list[str], given)
        assert body is not None
        # With a template the body is what lists show, not what is sent: no segment limit.
        info = _check_body(body, limits, "body", segment_limit=template is None)
        # The pool is used only for lists big enough to repay it (core/numbers decides).
        numbers = normalize_addresses(raws, country, limits.allowed_countries, executor=executor)
        invalid = contacts.relabel(numbers.invalid) if contacts is not None else numbers.invalid
        if not numbers.valid:
            _no_valid_recipients(invalid, raws, "to", single)
        return Planned(
            numbers.valid,
            [body],
            [info],
            invalid,
            numbers.duplicates,
            send_at,
            expires_at,
            priority,
            metadata,
            template,
            contacts.contact_ids(numbers.valid) if contacts is not None else None,
        )

    items: list[tuple[str | ContactRecipient, str, str]] = []  # (raw to, body, field prefix)
    if request.messages is not None:
        _check_count(len(request.messages), limits, "messages")
        items = [(m.to, m.body, f"messages[{i}]") for i, m in enumerate(request.messages)]
    else:
        assert request.recipients is not None and request.body is not None
        _check_count(len(request.recipients), limits, "recipients")
        template = request.body
        for i, recipient in enumerate(request.recipients):
            try:
                body = render(template, recipient.vars)
            except MissingVariable as missing:
                raise Unprocessable(
                    f"recipient {i} ({shown(recipient.to)}) has no value for {{{{{missing.name}}}}}",
                    code="missing_variable",
                    field=f"recipients[{i}].vars.{missing.name}",
                ) from None
            items.append((recipient.to, body, f"recipients[{i}]"))
    return _plan_personal(items, limits, country, send_at, expires_at, priority, metadata, contacts)


def _plan_personal(
    items: list[tuple[str | ContactRecipient, str, str]],
    limits: Limits,
    country: str | None,
    send_at: int | None,
    expires_at: int | None,
    priority: int,
    metadata: str | None,
    contacts: ContactBook | None,
) -> Planned:
    recipients: list[str] = []
    bodies: list[str] = []
    infos: list[SegmentInfo] = []
    invalid: list[InvalidNumber] = []
    seen: set[str] = set()
    duplicates = 0
    info_cache: dict[str, SegmentInfo] = {}
    raws: list[str] = []
    for given, body, field in items:
        info = info_cache.get(body)
        if info is None:
            info = info_cache[body] = _check_body(body, limits, f"{field}.body")
        if isinstance(given, str):
            raw = given
        else:
            assert contacts is not None, "contact recipients need their ContactBook"
            raw = contacts.substitute(given)
        raws.append(raw)
        try:
            address = str(parse_address(raw, country, limits.allowed_countries))
        except InvalidNumberError as error:
            reason = contacts.reasons.get(raw, error.reason) if contacts is not None else error.reason
            invalid.append(InvalidNumber(raw, reason))
            continue
        if address in seen:
            duplicates += 1
            continue
        seen.add(address)
        recipients.append(address)
        bodies.append(body)
        infos.append(info)
    if not recipients:
        _no_valid_recipients(
            invalid, raws, "messages", False, fields=[f"{field}.to" for _, _, field in items]
        )
    contact_ids = contacts.contact_ids(recipients) if contacts is not None else None
    return Planned(
        recipients,
        bodies,
        infos,
        invalid,
        duplicates,
        send_at,
        expires_at,
        priority,
        metadata,
        contact_ids=contact_ids,
    )


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


def template_label(template: WhatsAppTemplate) -> str:
    """The body stored for a template sent without one, so lists show what went out."""
    return f"[template {template.name}/{template.language.code}]"


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


def _no_valid_recipients(
    invalid: list[InvalidNumber],
    raws: list[str],
    field: str,
    single: bool,
    *,
    fields: list[str] | None = None,
) -> None:
    """Raise the 422 for a request none of whose recipients is valid, naming the first invalid
    one: ``field``, ``field[i]``, or ``fields[i]`` when each recipient has its own field."""
    first = invalid[0] if invalid else None
    if first is None:
        raise Unprocessable("no valid recipient", code="no_valid_recipients", field=field)
    index = raws.index(first.input) if first.input in raws else 0
    where = field if single else f"{field}[{index}]"
    if fields:
        where = fields[index]
    if first.reason in CONTACT_REASONS:
        # A contact that cannot be resolved carries its own reason as the code.
        code, problem = first.reason, f"{first.input}: {CONTACT_REASONS[first.reason]}"
    else:
        code = "country_not_allowed" if first.reason == "country_not_allowed" else "invalid_number"
        problem = f"{first.input!r} is not a number we can send to ({first.reason})"
    raise Unprocessable(
        problem + ("" if single else f"; none of the {len(raws)} recipients is valid"),
        code=code,
        field=where,
    )


def message_rows(
    planned: Planned,
    *,
    ids: list[str],
    account_id: str,
    batch_id: str,
    channel_id: str,
    sender: str | None,
    status_callback: str | None,
    now: int,
    router: Router | None = None,
) -> list[tuple[Any, ...]]:
    """Message rows as tuples in ``MESSAGE_COLUMNS`` order (a test pins the order).

    Each recipient goes to the channel of the first route that matches it (``router``), else
    to ``channel_id``. Rows of a template send carry the template as one more, last, value
    (``TEMPLATE_MESSAGE_COLUMNS``); free-form rows leave the column out. Rows of a send that
    addressed contacts end with the contact id (``store.intake.message_columns``).
    """
    status = "scheduled" if planned.send_at is not None else "queued"
    due_at = planned.send_at if planned.send_at is not None else now
    send_at, expires_at, priority, metadata = (
        planned.send_at,
        planned.expires_at,
        planned.priority,
        planned.metadata,
    )
    if planned.uniform:
        body, info = planned.bodies[0], planned.infos[0]
        bodies: Any = [(body, info)] * len(ids)
    else:
        bodies = zip(planned.bodies, planned.infos, strict=True)
    if router is not None and router.routes:
        routes = [router.choose(recipient) for recipient in planned.recipients]
        choices: Any = [
            (channel_id, None, None) if r is None else (r.channel_id, r.name, r.fallback_channel_id)
            for r in routes
        ]
    else:
        choices = [(channel_id, None, None)] * len(ids)
    rows: list[tuple[Any, ...]] = [
        (
            message_id,
            account_id,
            batch_id,
            "outbound",
            status,
            priority,
            routed_channel,
            sender,
            recipient,
            body,
            info.encoding.value,
            info.segments,
            due_at,
            send_at,
            expires_at,
            0,
            None,
            None,
            None,
            None,
            None,
            status_callback,
            metadata,
            now,
            now,
            route,
            fallback_channel_id,
            False,
        )
        for message_id, recipient, (body, info), (routed_channel, route, fallback_channel_id) in zip(
            ids, planned.recipients, bodies, choices, strict=True
        )
    ]
    if planned.template is not None:
        template = planned.template
        rows = [(*row, template) for row in rows]
    if planned.contact_ids is not None:
        rows = [(*row, contact_id) for row, contact_id in zip(rows, planned.contact_ids, strict=True)]
    return rows
