"""Who is calling and what they may see: roles, the account tree a caller can read, and the
refusals (403, 404) every feature answers with when a caller reaches past them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

from tidings.errors import NotFound, PermissionDenied


class Role(StrEnum):
    ADMIN = "admin"  # everything in the account tree, including keys and subaccounts
    SENDER = "sender"  # send and read
    VIEWER = "viewer"  # read only


_RANK = {Role.VIEWER: 0, Role.SENDER: 1, Role.ADMIN: 2}

Row = TypeVar("Row", bound=Mapping[str, Any])


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller: its own account, its role, and every account it may read.

    ``account_ids`` is the caller's account plus all of its descendants: a parent reads its
    subaccounts' data, never the reverse, and siblings never see each other.
    """

    account_id: str
    role: Role
    account_ids: frozenset[str]
    key_id: str | None = None

    def allows(self, needed: Role) -> bool:
        return _RANK[self.role] >= _RANK[needed]

    def can_read(self, account_id: str) -> bool:
        return account_id in self.account_ids

    def require(self, role: Role, *or_roles: Role) -> None:
        """403 ``forbidden`` unless the caller's role grants one of the roles named; the message
        names them all (``require(Role.SENDER, Role.ADMIN)``: "this needs the sender or admin
        role"), so each feature keeps the wording its clients have always read."""
        named = (role, *or_roles)
        if not any(self.allows(needed) for needed in named):
            roles = " or ".join(needed.value for needed in named)
            raise PermissionDenied(f"this needs the {roles} role", code="forbidden")

    def account_in_tree(self, account_id: str | None) -> str:
        """The account a request names in ``account_id``: the caller's own when None, else one
        the caller reads; any other is a 404 ``account_not_found`` (never a 403, which would
        tell that it exists)."""
        if account_id is None:
            return self.account_id
        if not self.can_read(account_id):
            raise NotFound("no such account", code="account_not_found", field="account_id")
        return account_id

    def visible(self, row: Row | None, kind: str) -> Row:
        """``row`` when it belongs to an account the caller reads; a missing row and another
        tenant's answer the same 404 (``no such {kind}``, code ``{kind}_not_found``)."""
        if row is None or not self.can_read(row["account_id"]):
            raise NotFound(f"no such {kind}", code=f"{kind}_not_found")
        return row
