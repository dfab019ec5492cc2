"""Who is calling and what they may see: roles and the account tree a caller can read."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"  # everything in the account tree, including keys and subaccounts
    SENDER = "sender"  # send and read
    VIEWER = "viewer"  # read only


_RANK = {Role.VIEWER: 0, Role.SENDER: 1, Role.ADMIN: 2}


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
