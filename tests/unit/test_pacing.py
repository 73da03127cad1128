"""Pacing Lambda's control-plane calls (the reconciler's and the repair's): evenly spaced, within a budget."""

from dataclasses import dataclass, field

import pytest

from pacing import Pace


@dataclass
class FakeClock:
    """Monotonic seconds that only sleeping moves on."""

    now: float = 100.0
    sleeps: list[float] = field(default_factory=list)

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 6))
        self.now += seconds


def test_calls_are_paced_evenly_at_the_rate_and_stop_at_the_budget():
    # Given 10 calls a second and a budget of 4, on a clock that only sleeping moves
    clock = FakeClock()
    bucket = Pace(10, 4, clock, clock.sleep)

    # When five calls are asked for at once
    taken = [bucket.take() for _ in range(5)]

    # Then the first goes at once, the next three 0.1 s apart, and the fifth is refused without waiting
    assert taken == [True, True, True, True, False]
    assert clock.sleeps == [0.1, 0.1, 0.1]
    assert clock.now == pytest.approx(100.3)


def test_a_pause_between_calls_is_not_saved_up_as_a_burst():
    clock = FakeClock()
    bucket = Pace(5, 10, clock, clock.sleep)
    bucket.take()
    clock.now += 10

    assert [bucket.take(), bucket.take()] == [True, True]
    assert clock.sleeps == [0.2]
