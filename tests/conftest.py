"""Fixtures every test folder may use, from the support package (``tests/support``).

Folder-local fixtures stay in that folder's conftest; helpers shared across folders live in
``support`` and are imported from there, never from another folder's conftest.
"""

import pytest
from hypothesis import settings

# The support modules' asserts explain their failures as a test's own do.
pytest.register_assert_rewrite("support")

pytest_plugins = [
    "support.postgres",
    "support.gateway",
    "support.receiver",
    "support.alone",
    "support.twilio",
]

# Hypothesis fails an example that takes over 200 ms, a measure of how busy the machine is, not
# of the code: with the suite on several xdist workers (scripts/test) a core is often shared.
# The properties' own assertions are unchanged; several tests already set deadline=None.
settings.register_profile("tidings", deadline=None)
settings.load_profile("tidings")
