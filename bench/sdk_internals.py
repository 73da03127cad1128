"""The durable SDKs' private members the bench reads, in one place (tests/unit/test_bench_sdk_internals.py
fails when an SDK release moves them).

- `state._STOP_SIGNAL_POLL_SECONDS` (aws-durable-execution-sdk-python 3.0.0): the checkpoint
  thread's stop poll, shortened to compare with waking the thread. Goes when the SDK wakes the
  thread itself (then the bench compares nothing).
- `DurableFunctionTestRunner._service_client` (the testing package): its in-process checkpoint
  service, wrapped to count checkpoint calls. Goes when the runner reports them.
- `WebRunner._executor` and `WebRunner._server` (the testing package's `dex-local-runner`): the
  executor its server starts executions with, and the server's bound port, for the side by side
  (bench/peer_host.py). Go when the runner exposes them.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from aws_durable_execution_sdk_python import state
from aws_durable_execution_sdk_python_testing.runner import DurableFunctionTestRunner, WebRunner


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


def web_runner_executor(runner: WebRunner) -> Any:
    """The executor the runner's server starts executions with (its `POST /start-durable-execution`)."""
    return runner._executor


def web_runner_port(runner: WebRunner) -> int:
    """The port the runner's server bound (it was started on port 0)."""
    return runner._server.server_address[1]
