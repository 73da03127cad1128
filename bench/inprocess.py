"""The durable function on the testing package's in-process runner: no HTTP, no API.

This is the baseline for the API figures, and where the function's own costs are read: how
long one invocation runs (what Lambda bills) against how long its operations take, and how
many durable operations and checkpoint calls one calculation makes.
"""

import json
import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

from aws_durable_execution_sdk_python import state
from aws_durable_execution_sdk_python.context import DurableContext
from aws_durable_execution_sdk_python.execution import InvocationStatus
from aws_durable_execution_sdk_python_testing.model import events_to_operations
from aws_durable_execution_sdk_python_testing.runner import DurableFunctionTestRunner

import durable_math
from bench.measure import (
    LoadResult,
    concurrent_load,
    expected_document,
    latencies,
    milliseconds,
    operands,
    percentile,
)
from bench.sdk_internals import checkpoint_service, stop_poll_seconds

EXECUTION_TIMEOUT_SECONDS = 60


def calculate(runner: DurableFunctionTestRunner, name: str, index: int) -> bool:
    """One calculation to its end; True when the document is exactly the right one."""
    num1, num2 = operands(index)
    result = runner.run(
        input=json.dumps({"num1": num1, "num2": num2}),
        execution_name=name,
        execution_timeout=EXECUTION_TIMEOUT_SECONDS,
    )
    return result.status is InvocationStatus.SUCCEEDED and json.loads(
        result.result or "null"
    ) == expected_document(num1, num2)


def baseline(sequential: int, total: int, clients: int) -> dict[str, Any]:
    """Sequential time to result and concurrent throughput, the same workload as the API's."""
    with DurableFunctionTestRunner(handler=durable_math.lambda_handler) as runner:
        for index in range(5):  # warm the imports and the runner's threads
            calculate(runner, f"warm-{index}", index)
        seconds, wrong = latencies(lambda i: calculate(runner, f"seq-{i}", i), sequential)
        load: LoadResult = concurrent_load(lambda i: calculate(runner, f"load-{i}", i), total, clients)
    return {
        "sequential": sequential,
        "p50_ms": milliseconds(percentile(seconds, 50)),
        "p99_ms": milliseconds(percentile(seconds, 99)),
        "sequential_wrong": wrong,
        "throughput_per_s": load.per_second,
        "throughput_n": total,
        "clients": clients,
        "completed": load.completed,
        "wrong": load.wrong,
        "lost": load.lost,
    }


@contextmanager
def original_stop_poll() -> Iterator[None]:
    """The SDK as shipped: the checkpoint thread sees the stop signal only on its next poll."""
    installed = state.ExecutionState.stop_checkpointing
    state.ExecutionState.stop_checkpointing = installed.__wrapped__  # type: ignore[method-assign]
    try:
        yield
    finally:
        state.ExecutionState.stop_checkpointing = installed  # type: ignore[method-assign]


@contextmanager
def shortened_stop_poll(seconds: float) -> Iterator[None]:
    """The SDK with its stop poll shortened instead of woken: the other way to end sooner."""
    with original_stop_poll(), stop_poll_seconds(seconds):
        yield


def timed_invocations(count: int) -> dict[str, float]:
    """Median wall time of one handler invocation, and of the `Calculate` parallel inside it."""
    invocation: list[float] = []
    operations: list[float] = []
    parallel = DurableContext.parallel

    def timed_parallel(self: DurableContext, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return parallel(self, *args, **kwargs)
        finally:
            operations.append(time.perf_counter() - started)

    def timed_handler(event: Any, context: Any) -> Any:
        started = time.perf_counter()
        try:
            return durable_math.lambda_handler(event, context)
        finally:
            invocation.append(time.perf_counter() - started)

    DurableContext.parallel = timed_parallel  # type: ignore[method-assign]
    try:
        with DurableFunctionTestRunner(handler=timed_handler) as runner:
            for index in range(count + 3):
                if not calculate(runner, f"timed-{index}", index):
                    raise RuntimeError(f"calculation {index} gave a wrong result")
    finally:
        DurableContext.parallel = parallel  # type: ignore[method-assign]
    # The first invocations pay for imports and thread start-up; they are not what is billed warm.
    return {
        "invocation_ms": milliseconds(statistics.median(invocation[3:])),
        "operations_ms": milliseconds(statistics.median(operations[3:])),
    }


def invocation_duration(count: int) -> dict[str, dict[str, float]]:
    """Billed duration as shipped by the SDK, with its stop poll shortened, and as the product runs."""
    figures: dict[str, dict[str, float]] = {}
    variants: list[tuple[str, Callable[[], Any]]] = [
        ("sdk_default", original_stop_poll),
        ("poll_5ms", lambda: shortened_stop_poll(0.005)),
        ("product", nullcontext),
    ]
    for label, variant in variants:
        with variant():
            figures[label] = timed_invocations(count)
    return figures


def operations_per_calculation(count: int) -> dict[str, Any]:
    """Durable operations and checkpoint calls per calculation, read from the history and the calls.

    The SDK batches the operation updates of concurrent branches into one checkpoint call when
    they arrive together, so the number of calls varies from run to run: median and maximum.
    """
    with DurableFunctionTestRunner(handler=durable_math.lambda_handler) as runner:
        client = checkpoint_service(runner)
        checkpoint = client.checkpoint
        calls: Counter[str] = Counter()
        updates: Counter[str] = Counter()

        def counted_checkpoint(durable_execution_arn: str, **kwargs: Any) -> Any:
            calls[durable_execution_arn] += 1
            updates[durable_execution_arn] += len(kwargs["updates"])
            return checkpoint(durable_execution_arn=durable_execution_arn, **kwargs)

        client.checkpoint = counted_checkpoint  # type: ignore[method-assign]
        arns = []
        for index in range(count):
            num1, num2 = operands(index)
            payload = json.dumps({"num1": num1, "num2": num2})
            arn = runner.run_async(input=payload, execution_name=f"ops-{index}")
            runner.wait_for_result(arn, timeout=EXECUTION_TIMEOUT_SECONDS)
            arns.append(arn)
        # Every calculation has the same operations: one history tells them.
        history = runner.get_execution_history(arns[0]).events

    operations = events_to_operations(history)
    by_type = Counter(op.operation_type.value for op in operations if op.operation_type.value != "EXECUTION")
    return {
        "calculations": count,
        "history_events": len(history),
        "durable_operations": sum(by_type.values()),
        "operations_by_type": dict(sorted(by_type.items())),
        "checkpoint_calls_median": statistics.median([calls[arn] for arn in arns]),
        "checkpoint_calls_max": max(calls[arn] for arn in arns),
        "operation_updates": updates[arns[0]],
    }
