"""Every use of the testing package's non-public members, in one place.

The package (aws-durable-execution-sdk-python-testing, pinned to 1.4.0) has no public way to
start an execution under a given ARN, to resume one that a previous process left RUNNING, to be
told when any execution ends, or to filter a listing by several statuses and a version. This
module reaches into its executor and its SQLite schema for exactly those four things, so a
version bump needs checking here and nowhere else (tests/integration/test_runtime_internals.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from contextlib import closing
from datetime import datetime

from aws_durable_execution_sdk_python_testing.execution import Execution
from aws_durable_execution_sdk_python_testing.executor import Executor
from aws_durable_execution_sdk_python_testing.model import StartDurableExecutionInput
from aws_durable_execution_sdk_python_testing.stores.sqlite import SQLiteExecutionStore

EndListener = Callable[[str], None]


class NotifyingExecutor(Executor):
    """The package's executor, telling a listener whenever an execution reaches a terminal state.

    `Executor.wait_until_complete` serves one waiter per execution and only for executions this
    process started; the local endpoint needs many waiters and resumed executions too.
    """

    def __init__(self, *args, on_end: EndListener, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._on_end = on_end

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


def filter_sql(
    store: SQLiteExecutionStore,
    *,
    arn_prefixes: Iterable[str],
    execution_name: str | None,
    statuses: Iterable[str],
    started_after: datetime | None,
    started_before: datetime | None,
    newest_first: bool,
    offset: int,
    limit: int,
) -> tuple[list[Execution], bool]:
    """One page of executions straight from the store's `executions` table, and whether more exist."""
    conditions: list[str] = []
    params: list[object] = []
    prefixes = list(arn_prefixes)
    if prefixes:
        conditions.append(
            "(" + " OR ".join("substr(durable_execution_arn, 1, ?) = ?" for _ in prefixes) + ")"
        )
        for prefix in prefixes:
            params += [len(prefix), prefix]
    if execution_name is not None:
        conditions.append("execution_name = ?")
        params.append(execution_name)
    status_list = list(statuses)
    if status_list:
        conditions.append(f"status IN ({', '.join('?' for _ in status_list)})")
        params += status_list
    if started_after is not None:
        conditions.append("start_timestamp >= ?")
        params.append(started_after.timestamp())
    if started_before is not None:
        conditions.append("start_timestamp <= ?")
        params.append(started_before.timestamp())
    where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
    order = "DESC" if newest_first else "ASC"
    sql = (
        f"SELECT data FROM executions {where} "
        f"ORDER BY start_timestamp {order}, rowid {order} LIMIT ? OFFSET ?"
    )
    with closing(store._get_connection()) as conn:
        rows = conn.execute(sql, [*params, limit + 1, offset]).fetchall()
    executions = [Execution.from_json_dict(json.loads(data)) for (data,) in rows[:limit]]
    return executions, len(rows) > limit
