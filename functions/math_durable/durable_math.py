"""Durable function: runs Add, Subtract, Multiply and Division in parallel on two numbers.

Every branch is one named step, so each operation is checkpointed, retried by its own rule
and visible in the execution history. Code outside the steps only validates and collects,
and is deterministic, so replays reach the same decisions.
"""

import functools
from collections.abc import Callable, Mapping
from typing import Any

from aws_durable_execution_sdk_python.concurrency.models import BatchResult
from aws_durable_execution_sdk_python.config import (
    CompletionConfig,
    Duration,
    JitterStrategy,
    ParallelBranch,
    ParallelConfig,
    StepConfig,
)
from aws_durable_execution_sdk_python.context import DurableContext, StepContext
from aws_durable_execution_sdk_python.execution import durable_execution
from aws_durable_execution_sdk_python.retries import (
    RetryDecision,
    RetryPresets,
    RetryStrategyConfig,
    create_retry_strategy,
)
from aws_durable_execution_sdk_python.state import ExecutionState, _Signal
from aws_lambda_powertools import Logger

from arithmetic import OPERATIONS, Number, is_finite

ERROR_DETAILS = "One or more operations failed"

logger = Logger(service="math-durable")

RetryStrategy = Callable[[Exception, int], RetryDecision]


def transient_only(strategy: RetryStrategy) -> RetryStrategy:
    """Retry with `strategy`, except arithmetic failures: they fail the same way every time."""

    def decide(error: Exception, attempts_made: int) -> RetryDecision:
        if isinstance(error, ArithmeticError):
            return RetryDecision.no_retry()
        return strategy(error, attempts_made)

    return decide


# Retry rules per operation, in one place. Transient errors: 3 attempts, 1 s then 2 s apart.
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
}

# The SDK's default completion policy stops at the first failed branch; every operation's
# outcome belongs in the result, so wait for all four.
PARALLEL_CONFIG = ParallelConfig(completion_config=CompletionConfig.all_completed())


def wake_checkpoint_thread_on_stop() -> None:
    """End each invocation as soon as its work is done, not on the checkpoint thread's next poll.

    In SDK 3.0.0 the background checkpoint thread checks its stop signal only between waits
    of up to 100 ms on its queue (`_STOP_SIGNAL_POLL_SECONDS` in the SDK's state.py), and the
    handler joins that thread before it returns: ~100 ms of each invocation, billed by Lambda
    (`make bench` measures it; README "Performance"). Putting a wake-up item in the queue right
    after the stop signal lets the thread see the signal at once. The
    item is the SDK's own no-op wake-up, which the thread consumes and then exits; nothing
    else about stopping changes. Applied once per process; the local runtime hosts this same
    module, so it gets the same behaviour. The SDK is pinned exactly;
    tests/unit/test_invocation_end.py fails if a new version stops honouring this.
    """
    stop = ExecutionState.stop_checkpointing
    if getattr(stop, "wakes_checkpoint_thread", False):
        return

    @functools.wraps(stop)
    def stop_and_wake(state: ExecutionState) -> None:
        stop(state)
        state._checkpoint_queue.put(_Signal.REFRESH_WAKE)

    stop_and_wake.wakes_checkpoint_thread = True  # type: ignore[attr-defined]
    ExecutionState.stop_checkpointing = stop_and_wake  # type: ignore[method-assign]


wake_checkpoint_thread_on_stop()


class InvalidInputError(ValueError):
    """The execution input is not two finite JSON numbers."""


def read_number(event: Mapping[str, Any], field: str) -> Number:
    """A missing number is 0; anything but a finite int or float is refused, naming the field."""
    value = event.get(field, 0)
    # bool is an int subclass in Python but `true` is not a number in JSON.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInputError(f"{field} must be a number, got {type(value).__name__}")
    if isinstance(value, int) and not is_finite(value):
        raise InvalidInputError(f"{field} must be a finite number, got an integer beyond 1.8e308")
    if not is_finite(value):
        raise InvalidInputError(f"{field} must be a finite number, got {value}")
    return value


def read_input(event: Any) -> tuple[Number, Number]:
    if not isinstance(event, Mapping):
        raise InvalidInputError(f"input must be a JSON object, got {type(event).__name__}")
    return read_number(event, "num1"), read_number(event, "num2")


def operation_branch(name: str, num1: Number, num2: Number) -> ParallelBranch:
    def compute(step_context: StepContext) -> Number:
        step_context.logger.info("operation started", extra={"operation": name})
        result = OPERATIONS[name](num1, num2)
        step_context.logger.info("operation succeeded", extra={"operation": name, "result": result})
        return result

    def run(context: DurableContext) -> Number:
        return context.step(compute, name=name, config=StepConfig(retry_strategy=RETRY_RULES[name]))

    return ParallelBranch(func=run, name=name)


def collect(names: list[str], batch: BatchResult) -> dict[str, Any]:
    """The original pattern's two documents: four results, or error_details beside them."""
    results: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for item in batch.all:
        name = names[item.index]
        if item.error is None and item.status.value == "SUCCEEDED":
            results[name] = item.result
        else:
            errors[name] = (item.error.message if item.error else None) or "operation failed"
    if not errors:
        return results
    return {"error_details": ERROR_DETAILS, "errors": errors, **results}


@durable_execution
def lambda_handler(event: Any, context: DurableContext) -> dict[str, Any]:
    context.set_logger(logger)
    num1, num2 = read_input(event)
    context.logger.info("calculation started", extra={"num1": num1, "num2": num2})

    names = list(OPERATIONS)
    batch = context.parallel(
        [operation_branch(name, num1, num2) for name in names],
        name="Calculate",
        config=PARALLEL_CONFIG,
    )
    output = collect(names, batch)

    if "error_details" in output:
        context.logger.warning("calculation failed", extra={"errors": output["errors"]})
    else:
        context.logger.info("calculation succeeded", extra={"result": output})
    return output
