"""AWS's default rates for the durable-execution control plane, enforced on the local Lambda endpoint.

Lambda quotas, section "Durable functions" (per account and Region, adjustable on request):
GetDurableExecution 30/s, GetDurableExecutionHistory 15/s, ListDurableExecutionsByFunction 15/s,
StopDurableExecution 300/s (600/s in us-east-1, us-west-2 and eu-west-1; the lower default is
enforced here, so what passes locally passes in every Region). Each operation has a token bucket
that holds `rate` requests and refills at `rate` per second; a request that finds it empty is
answered 429 TooManyRequestsException, as Lambda answers it, so a read path that leans on the
control plane shows up locally. Invoke and DeleteDurableExecution are not limited here.
"""

from __future__ import annotations

import math
import threading
import time

DEFAULT_RATES = {
    "GetDurableExecution": 30.0,
    "GetDurableExecutionHistory": 15.0,
    "ListDurableExecutionsByFunction": 15.0,
    "StopDurableExecution": 300.0,
}


class TokenBucket:
    """`rate` tokens a second, holding at most `burst`; thread-safe."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate = rate
        self.burst = burst
        self._tokens = burst
        self._updated = time.monotonic()
        self._lock = threading.Lock()

    def take(self) -> float:
        """Take a token: 0 when there was one, otherwise the seconds until there will be."""
        with self._lock:
            now = time.monotonic()
            self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate)
            self._updated = now
            if self._tokens >= 1:
                self._tokens -= 1
                return 0.0
            return (1 - self._tokens) / self.rate


class ControlPlaneQuotas:
    """A bucket per limited operation, burst = rate; `enabled` False lets everything through."""

    def __init__(self, enabled: bool, rates: dict[str, float] = DEFAULT_RATES) -> None:
        self.enabled = enabled
        self._buckets = {operation: TokenBucket(rate, rate) for operation, rate in rates.items()}

    def retry_after(self, operation: str) -> int | None:
        """None when `operation` may run now; otherwise whole seconds to wait before retrying."""
        bucket = self._buckets.get(operation)
        if not self.enabled or bucket is None:
            return None
        wait = bucket.take()
        return max(1, math.ceil(wait)) if wait else None
