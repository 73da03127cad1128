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
import time
from collections.abc import Callable

from local.token_bucket import TokenBucket

DEFAULT_RATES = {
    "GetDurableExecution": 30.0,
    "GetDurableExecutionHistory": 15.0,
    "ListDurableExecutionsByFunction": 15.0,
    "StopDurableExecution": 300.0,
}


class ControlPlaneQuotas:
    """A bucket per limited operation, burst = rate; `enabled` False lets everything through."""

    def __init__(
        self,
        enabled: bool,
        rates: dict[str, float] = DEFAULT_RATES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.enabled = enabled
        self._buckets = {operation: TokenBucket(rate, rate, clock) for operation, rate in rates.items()}

    def retry_after(self, operation: str) -> int | None:
        """None when `operation` may run now; otherwise whole seconds to wait before retrying."""
        bucket = self._buckets.get(operation)
        if not self.enabled or bucket is None:
            return None
        wait = bucket.take()
        return max(1, math.ceil(wait)) if wait else None
