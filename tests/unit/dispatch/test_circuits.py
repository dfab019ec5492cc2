"""Circuit breaker transitions, driven by a clock the test moves."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tidings.dispatch.circuits import CircuitBreaker, Circuits, CircuitState


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _breaker(clock: Clock, threshold: int = 3, cooldown: float = 10.0) -> CircuitBreaker:
    return CircuitBreaker(failure_threshold=threshold, cooldown_seconds=cooldown, clock=clock)


def _fail(breaker: CircuitBreaker, times: int) -> None:
    for _ in range(times):
        ticket = breaker.try_pass()
        assert ticket is not None
        breaker.record(ticket, ok=False)


def test_opens_after_consecutive_transient_failures_only() -> None:
    breaker = _breaker(Clock())
    _fail(breaker, 2)
    ticket = breaker.try_pass()
    assert ticket is not None
    breaker.record(ticket, ok=True)  # a success resets the count
    _fail(breaker, 2)
    assert breaker.state is CircuitState.CLOSED
    _fail(breaker, 1)
    assert breaker.state is CircuitState.OPEN
    assert breaker.is_open()
    assert breaker.try_pass() is None


def test_half_opens_after_the_cooldown_and_lets_one_probe_through() -> None:
    clock = Clock()
    breaker = _breaker(clock)
    _fail(breaker, 3)
    clock.now += 9.9
    assert breaker.try_pass() is None
    assert abs(breaker.retry_after() - 0.1) < 1e-6
    clock.now += 0.1
    assert breaker.state is CircuitState.HALF_OPEN
    assert not breaker.is_open()
    probe = breaker.try_pass()
    assert probe is not None and probe.probe
    assert breaker.try_pass() is None  # only one probe at a time
    assert breaker.is_open()
    breaker.record(probe, ok=True)
    assert breaker.state is CircuitState.CLOSED
    assert breaker.try_pass() is not None


def test_a_failed_probe_reopens_for_a_full_cooldown() -> None:
    clock = Clock()
    breaker = _breaker(clock)
    _fail(breaker, 3)
    clock.now += 10
    probe = breaker.try_pass()
    assert probe is not None
    clock.now += 2
    breaker.record(probe, ok=False)
    assert breaker.state is CircuitState.OPEN
    assert abs(breaker.retry_after() - 10) < 1e-9
    clock.now += 10
    assert breaker.state is CircuitState.HALF_OPEN


def test_a_lost_probe_does_not_keep_the_circuit_shut() -> None:
    clock = Clock()
    breaker = _breaker(clock)
    _fail(breaker, 3)
    clock.now += 10
    lost = breaker.try_pass()
    assert lost is not None
    clock.now += 10  # its result never came
    second = breaker.try_pass()
    assert second is not None and second.probe
    breaker.record(lost, ok=False)  # stale: ignored
    assert breaker.state is CircuitState.HALF_OPEN
    breaker.record(second, ok=True)
    assert breaker.state is CircuitState.CLOSED


def test_results_of_calls_let_through_before_the_circuit_opened_are_ignored() -> None:
    clock = Clock()
    breaker = _breaker(clock)
    early = breaker.try_pass()
    assert early is not None
    _fail(breaker, 3)
    breaker.record(early, ok=True)  # a slow success from before: the provider is still down
    assert breaker.state is CircuitState.OPEN


@given(st.lists(st.booleans(), max_size=60), st.integers(min_value=1, max_value=6))
def test_closed_circuit_opens_exactly_at_the_first_run_of_threshold_failures(
    results: list[bool], threshold: int
) -> None:
    breaker = _breaker(Clock(), threshold=threshold)
    run = 0
    for ok in results:
        ticket = breaker.try_pass()
        assert ticket is not None  # the clock never moves, so an open circuit would refuse
        breaker.record(ticket, ok=ok)
        run = 0 if ok else run + 1
        assert (breaker.state is CircuitState.OPEN) == (run >= threshold)
        if run >= threshold:
            return


def test_registry_reports_states_and_a_cheap_is_open() -> None:
    clock = Clock()
    circuits = Circuits(failure_threshold=1, cooldown_seconds=5, clock=clock)
    assert not circuits.is_open("chn_unknown")
    _fail(circuits.breaker("chn_a"), 1)
    circuits.breaker("chn_b")
    assert circuits.is_open("chn_a") and not circuits.is_open("chn_b")
    statuses = circuits.statuses()
    assert statuses["chn_a"].state is CircuitState.OPEN and statuses["chn_a"].retry_after == 5
    assert statuses["chn_b"].state is CircuitState.CLOSED
    clock.now += 5
    assert circuits.statuses()["chn_a"].state is CircuitState.HALF_OPEN
