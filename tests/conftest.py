"""Fixtures every test folder may use, from the support package (``tests/support``).

Folder-local fixtures stay in that folder's conftest; helpers shared across folders live in
``support`` and are imported from there, never from another folder's conftest.
"""

import pytest

# The support modules' asserts explain their failures as a test's own do.
pytest.register_assert_rewrite("support")

pytest_plugins = ["support.postgres", "support.gateway", "support.receiver"]
