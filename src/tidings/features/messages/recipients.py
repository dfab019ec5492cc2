"""Send, step 3, the recipients: contacts become their addresses, every address is checked and
made canonical (a big list in the number process pool), repeats merge, and each recipient takes
the channel of the first route that matches it. Refused recipients are kept, with their reasons."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, replace
from typing import cast

from tidings.core.addresses import normalize_addresses, parse_address
from tidings.core.encoding import SegmentInfo
from tidings.core.numbers import InvalidNumber, InvalidNumberError
from tidings.core.routing import Route
from tidings.features.messages.contacts import ContactBook, resolve_contacts
from tidings.features.messages.off_loop import beside_the_loop
from tidings.features.messages.planning import Plan
from tidings.store.engine import Database


@dataclass(frozen=True, slots=True)
class Addressed:
    """Who gets what: the accepted recipients, each with its body and channel, and the refused."""

    plan: Plan
    recipients: list[str]
    bodies: list[str]  # one per recipient, or a single shared body
    infos: list[SegmentInfo]  # aligned with bodies
    invalid: list[InvalidNumber]
    duplicates: int
    raws: Sequence[str]  # every recipient as given (a contact as its address or label), in order
    # Aligned with recipients when the request addressed contacts: each one's contact id or None.
    contact_ids: list[str | None] | None
    # Aligned with recipients when the account has routes: the route each takes (None: the channel).
    routes: list[Route | None] | None

    @property
    def uniform(self) -> bool:
        return len(self.bodies) == 1


@dataclass(slots=True)
class Resolve:
    db: Database
    number_pool: Executor | None  # set once the API process has started it

    async def __call__(self, plan: Plan) -> Addressed:
        book = None
        if plan.contacts:
            book = await resolve_contacts(self.db, plan.origin.send.principal.account_id, plan.contacts)
        return await beside_the_loop(len(plan.given), address, plan, book, self.number_pool)


def address(plan: Plan, book: ContactBook | None, executor: Executor | None) -> Addressed:
    """The recipients of ``plan`` checked and deduplicated, with the contacts in ``book``
    (required when the plan has any) substituted."""
    if plan.fields is None:
        # With no contacts to substitute every recipient given is a string (planning checked).
        raws = book.substitute_all(plan.given) if book is not None else cast(Sequence[str], plan.given)
        # The pool is used only for lists big enough to repay it (core/numbers decides).
        limits = plan.origin.limits
        numbers = normalize_addresses(raws, plan.country, limits.allowed_countries, executor=executor)
        invalid = book.relabel(numbers.invalid) if book is not None else numbers.invalid
        addressed = Addressed(
            plan,
            numbers.valid,
            plan.bodies,
            plan.infos,
            invalid,
            numbers.duplicates,
            raws,
            book.contact_ids(numbers.valid) if book is not None else None,
            None,
        )
    else:
        addressed = _address_each(plan, book)
    router = plan.origin.router
    if router is None or not router.routes:
        return addressed
    return replace(addressed, routes=[router.choose(recipient) for recipient in addressed.recipients])


def _address_each(plan: Plan, book: ContactBook | None) -> Addressed:
    """Recipients that each have their own body: the first of repeats keeps its body."""
    country, allowed = plan.country, plan.origin.limits.allowed_countries
    recipients: list[str] = []
    bodies: list[str] = []
    infos: list[SegmentInfo] = []
    invalid: list[InvalidNumber] = []
    seen: set[str] = set()
    duplicates = 0
    raws: list[str] = []
    for given, body, info in zip(plan.given, plan.bodies, plan.infos, strict=True):
        if isinstance(given, str):
            raw = given
        else:
            assert book is not None, "contact recipients need their ContactBook"
            raw = book.substitute(given)
        raws.append(raw)
        try:
            canonical = str(parse_address(raw, country, allowed))
        except InvalidNumberError as error:
            reason = book.reasons.get(raw, error.reason) if book is not None else error.reason
            invalid.append(InvalidNumber(raw, reason))
            continue
        if canonical in seen:
            duplicates += 1
            continue
        seen.add(canonical)
        recipients.append(canonical)
        bodies.append(body)
        infos.append(info)
    contact_ids = book.contact_ids(recipients) if book is not None else None
    return Addressed(plan, recipients, bodies, infos, invalid, duplicates, raws, contact_ids, None)
