"""Each step's retry rule, in one place.

Division never retries; Add, Subtract, Multiply and Record retry transient errors: 3 attempts,
1 s then 2 s apart. Arithmetic failures (division by zero, a non-finite result) fail the same
way every time, so no rule retries them.
"""

from collections.abc import Callable

from aws_durable_execution_sdk_python.config import Duration, JitterStrategy
from aws_durable_execution_sdk_python.retries import (
    RetryDecision,
    RetryPresets,
    RetryStrategyConfig,
    create_retry_strategy,
)

RetryStrategy = Callable[[Exception, int], RetryDecision]


def transient_only(strategy: RetryStrategy) -> RetryStrategy:
    """Retry with `strategy`, except arithmetic failures: they fail the same way every time."""

    def decide(error: Exception, attempts_made: int) -> RetryDecision:
        if isinstance(error, ArithmeticError):
            return RetryDecision.no_retry()
        return strategy(error, attempts_made)

    return decide


TRANSIENT_BACKOFF = transient_only(
    create_retry_strategy(
        RetryStrategyConfig(
            max_attempts=3,
            initial_delay=Duration.from_seconds(1),
            backoff_rate=2,
            jitter_strategy=JitterStrategy.NONE,
        )
    )
)
RETRY_RULES: dict[str, RetryStrategy] = {
    "Add": TRANSIENT_BACKOFF,
    "Subtract": TRANSIENT_BACKOFF,
    "Multiply": TRANSIENT_BACKOFF,
    "Division": RetryPresets.none(),
    "Record": TRANSIENT_BACKOFF,
}
