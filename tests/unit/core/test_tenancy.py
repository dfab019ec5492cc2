"""The principal's refusals: the 403 a role below the one needed gets, and the 404s for accounts
and rows outside the caller's tree."""

from __future__ import annotations

import pytest

from tidings.core.tenancy import Principal, Role
from tidings.errors import NotFound, PermissionDenied


def _caller(role: Role) -> Principal:
    return Principal("AC1", role, frozenset({"AC1", "AC2"}))


def test_require_names_the_roles_asked_for_and_lets_higher_roles_through() -> None:
    _caller(Role.ADMIN).require(Role.SENDER)
    _caller(Role.SENDER).require(Role.SENDER, Role.ADMIN)
    cases = [
        (Role.SENDER, (Role.ADMIN,), "this needs the admin role"),
        (Role.VIEWER, (Role.SENDER,), "this needs the sender role"),
        (Role.VIEWER, (Role.SENDER, Role.ADMIN), "this needs the sender or admin role"),
    ]
    for role, needed, message in cases:
        with pytest.raises(PermissionDenied) as refused:
            _caller(role).require(*needed)
        denied = refused.value
        assert (denied.message, denied.code, denied.field) == (message, "forbidden", None)


def test_account_in_tree_is_the_own_account_by_default_and_404s_outside_the_tree() -> None:
    caller = _caller(Role.VIEWER)
    assert caller.account_in_tree(None) == "AC1"
    assert caller.account_in_tree("AC2") == "AC2"
    with pytest.raises(NotFound) as missing:
        caller.account_in_tree("AC3")
    assert (missing.value.message, missing.value.code, missing.value.field) == (
        "no such account",
        "account_not_found",
        "account_id",
    )


def test_visible_answers_another_tenants_row_as_a_missing_one() -> None:
    caller = _caller(Role.VIEWER)
    row = {"id": "rte_1", "account_id": "AC2"}
    assert caller.visible(row, "route") is row
    for hidden in (None, {"id": "rte_2", "account_id": "AC3"}):
        with pytest.raises(NotFound) as missing:
            caller.visible(hidden, "route")
        assert (missing.value.message, missing.value.code) == ("no such route", "route_not_found")
