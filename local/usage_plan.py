"""The usage plan's throttle and quota, per API key, as the deployed stage applies them.

Throttle: a token bucket per key that holds `burst` requests and refills at `rate` per second
(API Gateway's model). Quota: `quota` requests per UTC day per key; only requests that pass the
throttle count. Counters live in memory: a restart gives every key a full bucket and a fresh
day's quota, where the deployed usage plan keeps counting.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime

from local.token_bucket import TokenBucket

# The template's defaults: ApiThrottleRateLimit, ApiThrottleBurstLimit, ApiQuotaLimit (period DAY).
DEFAULT_RATE = 25.0
DEFAULT_BURST = 50
DEFAULT_QUOTA = 10_000

THROTTLED = "THROTTLED"
QUOTA_EXCEEDED = "QUOTA_EXCEEDED"


def utc_today() -> date:
    return datetime.now(UTC).date()


@dataclass
class _Usage:
    bucket: TokenBucket
    day: date
    used: int


class UsagePlan:
    """`admit(key_id)`: None when the request may pass, else the gateway response type refusing it."""

    def __init__(
        self,
        rate: float = DEFAULT_RATE,
        burst: int = DEFAULT_BURST,
        quota: int = DEFAULT_QUOTA,
        clock: Callable[[], float] = time.monotonic,
        today: Callable[[], date] = utc_today,
    ) -> None:
        if rate <= 0 or burst < 1 or quota < 1:
            raise ValueError("rate must be above 0, burst and quota at least 1")
        self.rate = rate
        self.burst = burst
        self.quota = quota
        self._clock = clock
        self._today = today
        self._lock = threading.Lock()
        self._usage: dict[str, _Usage] = {}

    def admit(self, key_id: str) -> str | None:
        today = self._today()
        with self._lock:
            usage = self._usage.get(key_id)
            if usage is None:
                usage = self._usage[key_id] = _Usage(
                    TokenBucket(self.rate, self.burst, self._clock), today, 0
                )
            if usage.day != today:
                usage.day, usage.used = today, 0
            if usage.used >= self.quota:
                return QUOTA_EXCEEDED
            if usage.bucket.take():
                return THROTTLED
            usage.used += 1
            return None
