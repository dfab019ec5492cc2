"""Recipients given as ``{"contact": external_id, "channel_type": kind}``: resolved at intake to
the contact's address of that kind. One query per 1,000 contacts of a request; none, and no
per-recipient work beyond a type check, when it has none."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from tidings.core.addresses import ChannelKind
from tidings.core.numbers import InvalidNumber
from tidings.errors import Unprocessable
from tidings.features.contacts import addresses_by_external_id
from tidings.features.messages.schemas import (
    ContactRecipient,
    PersonalMessage,
    SendMessagesRequest,
    TemplateRecipient,
)
from tidings.store.engine import Database

UNKNOWN_CONTACT = "unknown_contact"
NO_ADDRESS = "no_address_for_channel_type"
REASONS = {
    UNKNOWN_CONTACT: "no contact has this external_id",
    NO_ADDRESS: "the contact has no address of this channel type",
}
_KINDS = frozenset(kind.value for kind in ChannelKind)


def label(recipient: ContactRecipient) -> str:
    """How a contact recipient is named in ``invalid``: ``contact:<external_id>/<channel_type>``.

    Never a valid address (``contact`` is no channel kind), so it fails validation like an
    invalid number and keeps its place in the list."""
    return f"contact:{recipient.contact}/{recipient.channel_type}"


def shown(recipient: str | ContactRecipient) -> str:
    return recipient if isinstance(recipient, str) else label(recipient)


@dataclass(slots=True)
class ContactBook:
    """The contact recipients of one request, resolved."""

    # (external_id, kind) -> (canonical address, contact id)
    found: dict[tuple[str, str], tuple[str, str]]
    known: frozenset[str]  # external ids of the account's contacts among those asked for
    reasons: dict[str, str] = field(default_factory=dict)  # label -> reason, of those not found
    _ids: dict[str, str] = field(default_factory=dict)  # address -> contact id, of those found

    def substitute(self, recipient: ContactRecipient) -> str:
        """The contact's address of the kind asked for, or the recipient's label when none."""
        hit = self.found.get((recipient.contact, recipient.channel_type))
        if hit is None:
            known = recipient.contact in self.known
            self.reasons[label(recipient)] = NO_ADDRESS if known else UNKNOWN_CONTACT
            return label(recipient)
        self._ids[hit[0]] = hit[1]
        return hit[0]

    def substitute_all(self, recipients: Sequence[str | ContactRecipient]) -> list[str]:
        return [r if type(r) is str else self.substitute(r) for r in recipients]  # type: ignore[arg-type]

    def relabel(self, invalid: list[InvalidNumber]) -> list[InvalidNumber]:
        """Invalid entries with a contact's reason instead of ``invalid_address``."""
        if not self.reasons:
            return invalid
        return [InvalidNumber(i.input, self.reasons.get(i.input, i.reason)) for i in invalid]

    def contact_ids(self, recipients: Sequence[str]) -> list[str | None]:
        """The contact id of each accepted recipient that was addressed as a contact."""
        return [self._ids.get(recipient) for recipient in recipients]


def contact_recipients(request: SendMessagesRequest) -> list[ContactRecipient]:
    """The request's contact recipients, with their channel types checked (422 naming the
    field). For a plain list this is one C-level pass over the element types."""
    to = request.to
    if isinstance(to, str):
        return []
    if isinstance(to, ContactRecipient):
        found = [(to, "to")]
    elif to is not None:
        if set(map(type, to)) == {str}:
            return []
        found = [(r, f"to[{i}]") for i, r in enumerate(to) if isinstance(r, ContactRecipient)]
    else:
        name = "messages" if request.messages is not None else "recipients"
        items: Sequence[PersonalMessage | TemplateRecipient] = request.messages or request.recipients or []
        found = [(m.to, f"{name}[{i}].to") for i, m in enumerate(items) if isinstance(m.to, ContactRecipient)]
    for recipient, where in found:
        if recipient.channel_type not in _KINDS:
            raise Unprocessable(
                f"channel_type {recipient.channel_type!r} is not one of {', '.join(sorted(_KINDS))}",
                code="invalid_channel_type",
                field=f"{where}.channel_type",
            )
    return [recipient for recipient, _ in found]


async def resolve_contacts(
    db: Database, account_id: str, recipients: Sequence[ContactRecipient]
) -> ContactBook:
    """Look up the account's contacts named by ``recipients`` (its own, not its parent's)."""
    async with db.read() as conn:
        rows = await addresses_by_external_id(conn, account_id, {r.contact for r in recipients})
    found = {
        (external_id, kind): (address, contact_id)
        for external_id, contact_id, kind, address in rows
        if kind and address
    }
    return ContactBook(found, frozenset(row[0] for row in rows))
