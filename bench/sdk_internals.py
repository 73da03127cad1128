"""The durable SDKs' private members the bench reads, in one place (tests/unit/test_bench_sdk_internals.py
fails when an SDK release moves them).

- `state._STOP_SIGNAL_POLL_SECONDS` (aws-durable-execution-sdk-python 3.0.0): the checkpoint
  thread's stop poll, shortened to compare with waking the thread. Goes when the SDK wakes the
  thread itself (then the bench compares nothing).
- `DurableFunctionTestRunner._service_client` (the testing package): its in-process checkpoint
  service, wrapped to count checkpoint calls. Goes when the runner reports them.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from aws_durable_execution_sdk_python import state
from aws_durable_execution_sdk_python_testing.runner import DurableFunctionTestRunner


@contextmanager
def stop_poll_seconds(seconds: float) -> Iterator[None]:
    """The SDK's stop poll set to `seconds` for the block, then as shipped again."""
    shipped = state._STOP_SIGNAL_POLL_SECONDS
    state._STOP_SIGNAL_POLL_SECONDS = seconds
    try:
        yield
    finally:
        state._STOP_SIGNAL_POLL_SECONDS = shipped


def checkpoint_service(runner: DurableFunctionTestRunner) -> Any:
    """The runner's in-process checkpoint service (its `checkpoint` method is what the SDK calls)."""
    return runner._service_client
