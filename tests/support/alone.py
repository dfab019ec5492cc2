"""The ``alone`` mark: a test that runs while no other test of the same run does.

A few tests assert on time: a channel kept near its rate, permits granted close to the limit. On
pytest-xdist workers (scripts/test) the other workers' tests would share the two cores with
them, and a starved event loop sends late: the measured rate falls below the bound although the
limiter did nothing wrong. xdist has no such mode (``xdist_group`` only keeps tests on one worker),
so this plugin is a readers-writer lock across the workers, over two files in the run's base
temporary directory (the parent of every worker's own): each test holds the main lock shared, an
``alone`` test holds it exclusively. The turnstile, held while waiting for the main lock, makes a
waiting ``alone`` test stop new tests from starting, so it waits only for those already running.

Without xdist the tests run one at a time anyway and no lock is taken.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Generator
from pathlib import Path

import pytest


def _run_directory(config: pytest.Config) -> Path | None:
    """The directory every worker of this run shares, or None when not on an xdist worker."""
    basetemp = config.option.basetemp  # xdist gives each worker <run's basetemp>/gwN
    if not os.environ.get("PYTEST_XDIST_WORKER") or not basetemp:
        return None
    return Path(basetemp).parent


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(
    item: pytest.Item, nextitem: pytest.Item | None
) -> Generator[None, object, object]:
    directory = _run_directory(item.config)
    if directory is None:
        return (yield)
    alone = item.get_closest_marker("alone") is not None
    with (
        (directory / "tidings-turnstile.lock").open("ab") as turnstile,
        (directory / "tidings-tests.lock").open("ab") as tests,
    ):
        fcntl.flock(turnstile, fcntl.LOCK_EX)
        try:
            fcntl.flock(tests, fcntl.LOCK_EX if alone else fcntl.LOCK_SH)
        finally:
            fcntl.flock(turnstile, fcntl.LOCK_UN)
        try:
            return (yield)  # setup, call and teardown, with their fixtures
        finally:
            fcntl.flock(tests, fcntl.LOCK_UN)
