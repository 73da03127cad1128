"""Pacing calls to Lambda's control plane, whose quotas are per account: evenly spaced, within a
budget. The reconciler and the repair command both pace their Lambda calls with it.
Standard library only."""

import time
from collections.abc import Callable


class Pace:
    """At most `rate` calls a second (no burst: evenly spaced), and at most `budget` in all."""

    def __init__(
        self,
        rate: float,
        budget: float = float("inf"),
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.interval = 1 / rate
        self.left = budget
        # Looked up now, not at import: tests replace time's functions with a fake clock.
        self._clock = clock or time.monotonic
        self._sleep = sleep or time.sleep
        self._next_at = self._clock()

    def take(self) -> bool:
        """Wait for the next call's turn; False, at once, when the budget is spent."""
        if self.left <= 0:
            return False
        self.left -= 1
        now = self._clock()
        if now < self._next_at:
            self._sleep(self._next_at - now)
        self._next_at = max(now, self._next_at) + self.interval
        return True
