"""Circuit breakers, one per channel: stop calling a provider that keeps failing, probe it later.

Closed: sends pass and consecutive transient failures are counted; at the threshold the circuit
opens. Open: sends are refused (the dispatcher requeues them) until the cool-down ends. Then it
is half-open: one probe send passes; success closes the circuit, failure reopens it.

A small state machine rather than pybreaker, aiobreaker or purgatory: those wrap the call and
judge it by the exception it raises, while our sends report a classified result (transient or
permanent, per message, possibly for a whole provider batch) after waiting for a rate-limit slot;
none lets a test drive the cool-down with a controllable clock without patching; and the router
needs a cheap synchronous ``is_open`` per channel, which they do not offer.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass

from tidings.core.clock import monotonic_s
from tidings.metrics import CIRCUIT_STATE

Clock = Callable[[], float]  # seconds, monotonic


class CircuitState(enum.Enum):
    CLOSED = "closed"  # sends pass; consecutive transient failures are counted
    OPEN = "open"  # sends are refused until the cool-down ends
    HALF_OPEN = "half_open"  # the cool-down ended: one probe send may pass


_GAUGE = {CircuitState.CLOSED: 0, CircuitState.HALF_OPEN: 1, CircuitState.OPEN: 2}


@dataclass(frozen=True, slots=True)
class Pass:
    """Permission for one provider call; hand it back with the call's result."""

    generation: int
    probe: bool


@dataclass(frozen=True, slots=True)
class CircuitStatus:
    """What a health view shows for one channel."""

    state: CircuitState
    consecutive_failures: int
    retry_after: float  # seconds until a probe may pass; 0 unless open


class CircuitBreaker:
    def __init__(
        self, *, failure_threshold: int, cooldown_seconds: float, clock: Clock = monotonic_s
    ) -> None:
        if failure_threshold < 1 or cooldown_seconds <= 0:
            raise ValueError("the threshold must be at least 1 and the cool-down positive")
        self._threshold = failure_threshold
        self._cooldown = cooldown_seconds
        self._clock = clock
        self._state = CircuitState.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._probe_at: float | None = None  # when the outstanding probe left, if one did
        # Bumped on every change: results of calls let through before it no longer count.
        self._generation = 0

    @property
    def state(self) -> CircuitState:
        if self._state is CircuitState.OPEN and self._clock() - self._opened_at >= self._cooldown:
            return CircuitState.HALF_OPEN
        return self._state

    def is_open(self) -> bool:
        """Whether a send now would be refused (open, or half-open with its probe out)."""
        state = self.state
        if state is CircuitState.OPEN:
            return True
        if state is CircuitState.HALF_OPEN:
            return not self._probe_may_leave()
        return False

    def retry_after(self) -> float:
        """Seconds until a refused send could pass: the rest of the cool-down (0 when closed)."""
        if self._state is CircuitState.CLOSED:
            return 0.0
        since = self._opened_at if self._probe_at is None else self._probe_at
        return max(0.0, self._cooldown - (self._clock() - since))

    def try_pass(self) -> Pass | None:
        """A pass for one provider call, or None when the circuit refuses it."""
        state = self.state
        if state is CircuitState.CLOSED:
            return Pass(self._generation, probe=False)
        if state is CircuitState.HALF_OPEN and self._probe_may_leave():
            self._state = CircuitState.HALF_OPEN
            self._probe_at = self._clock()
            self._generation += 1
            return Pass(self._generation, probe=True)
        return None

    def record(self, ticket: Pass, *, ok: bool) -> None:
        """The result of a call made with ``ticket``: ``ok`` unless it failed transiently."""
        if ticket.generation != self._generation:
            return  # let through before the last change; it says nothing about now
        if ticket.probe:
            if ok:
                self._change(CircuitState.CLOSED)
            else:
                self._open()
        elif ok:
            self._failures = 0
        else:
            self._failures += 1
            if self._failures >= self._threshold:
                self._open()

    def status(self) -> CircuitStatus:
        state = self.state
        return CircuitStatus(state, self._failures, self.retry_after() if state is CircuitState.OPEN else 0.0)

    def _probe_may_leave(self) -> bool:
        # A probe whose result never came back (its task died) must not keep the circuit shut.
        return self._probe_at is None or self._clock() - self._probe_at >= self._cooldown

    def _open(self) -> None:
        self._opened_at = self._clock()
        self._change(CircuitState.OPEN)

    def _change(self, state: CircuitState) -> None:
        self._state = state
        self._failures = 0
        self._probe_at = None
        self._generation += 1


class Circuits:
    """The breakers of one worker's channels, made on first use."""

    def __init__(
        self, *, failure_threshold: int, cooldown_seconds: float, clock: Clock = monotonic_s
    ) -> None:
        self._threshold = failure_threshold
        self._cooldown = cooldown_seconds
        self._clock = clock
        self._breakers: dict[str, CircuitBreaker] = {}

    def breaker(self, channel_id: str) -> CircuitBreaker:
        breaker = self._breakers.get(channel_id)
        if breaker is None:
            breaker = self._breakers[channel_id] = CircuitBreaker(
                failure_threshold=self._threshold, cooldown_seconds=self._cooldown, clock=self._clock
            )
            # Read at scrape time, so the gauge shows open → half-open without a send to notice it.
            CIRCUIT_STATE.labels(channel_id).set_function(lambda: _GAUGE[breaker.state])
        return breaker

    def is_open(self, channel_id: str) -> bool:
        """Cheap check for routing: would a send on this channel be refused right now?"""
        breaker = self._breakers.get(channel_id)
        return breaker is not None and breaker.is_open()

    def statuses(self) -> dict[str, CircuitStatus]:
        return {channel_id: breaker.status() for channel_id, breaker in self._breakers.items()}
