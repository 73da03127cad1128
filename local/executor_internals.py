"""Every use of the testing package's non-public members, in one place.

The package (aws-durable-execution-sdk-python-testing, pinned to 1.4.0) has no public way to
start an execution under a given ARN, to resume one that a previous process left RUNNING, to
be told when any execution ends, or to tell the saves that acknowledge nothing from the others.
This module reaches into its executor for exactly those four things, and for the size of its
pool of handler invocations, so a version bump needs
checking here and nowhere else (tests/integration/test_runtime_internals.py). The SQLite schema
the runtime's store writes is the package's too (local/store.py).
"""

from __future__ import annotations

from collections.abc import Callable

from aws_durable_execution_sdk_python_testing.execution import Execution
from aws_durable_execution_sdk_python_testing.executor import Executor
from aws_durable_execution_sdk_python_testing.model import StartDurableExecutionInput
from aws_durable_execution_sdk_python_testing.threads import DaemonThreadPool

EndListener = Callable[[str], None]


class NotifyingExecutor(Executor):
    """The package's executor, telling a listener whenever an execution reaches a terminal state.

    `Executor.wait_until_complete` serves one waiter per execution and only for executions this
    process started; the local endpoint needs many waiters and resumed executions too.
    """

    def __init__(
        self, *args, on_end: EndListener, concurrent_invocations: int | None = None, **kwargs
    ) -> None:
        """`concurrent_invocations`: handler invocations run at once (the package's default, a few
        more than the cores, when None)."""
        super().__init__(*args, **kwargs)
        self._on_end = on_end
        if concurrent_invocations is not None:  # the package's pool starts its threads on first use
            self._invocation_pool = DaemonThreadPool(
                max_workers=concurrent_invocations, thread_name_prefix="durable-invocation"
            )

    def _begin_invocation(self, execution_arn: str):
        # Handing the execution to the handler acknowledges nothing: its save may wait (local/store.py).
        with self._store.deferred():
            return super()._begin_invocation(execution_arn)

    def _finish_invocation(self, *args, **kwargs) -> None:
        # So may recording that the invocation returned, until its outcome is applied.
        with self._store.deferred():
            super()._finish_invocation(*args, **kwargs)

    def _complete_events(self, execution_arn: str) -> None:
        super()._complete_events(execution_arn)
        # The scheduler event only served the package's own single waiter: release it.
        if event := self._completion_events.pop(execution_arn, None):
            event.remove()
        self._on_end(execution_arn)


def start_execution(
    executor: Executor, execution_arn: str, start_input: StartDurableExecutionInput
) -> Execution:
    """Create, persist and launch an execution under an ARN of our choosing.

    `Executor.start_execution` makes an opaque `uuid/uuid` ARN; the Lambda API promises
    `arn:aws:lambda:...:function:NAME:VERSION/durable-execution/NAME/ID`.
    """
    execution = Execution(durable_execution_arn=execution_arn, start_input=start_input, operations=[])
    execution.region = executor.region
    execution.start(now=executor._clock.now())
    executor._store.save(execution)
    executor._launch_execution(execution, start_input.execution_timeout_seconds)
    return execution


def resume_execution(executor: Executor, execution: Execution, timeout_seconds: int) -> None:
    """Re-arm a stored RUNNING execution's timeout and invoke it again; the SDK replays it."""
    executor._launch_execution(execution, timeout_seconds)
