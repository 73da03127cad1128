"""The durable function on the testing package's executor, with the Lambda control plane's semantics.

One process owns the store: a lock around check-and-create makes execution names unique per
function, and executions a previous process left RUNNING are resumed at start-up.
"""

from __future__ import annotations

import json
import math
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

from aws_durable_execution_sdk_python.lambda_service import ErrorObject
from aws_durable_execution_sdk_python_testing.checkpoint.processor import CheckpointProcessor
from aws_durable_execution_sdk_python_testing.client import InMemoryServiceClient
from aws_durable_execution_sdk_python_testing.clock import RealClock
from aws_durable_execution_sdk_python_testing.exceptions import (
    AwsApiException,
    InvalidParameterValueException,
    ResourceNotFoundException,
)
from aws_durable_execution_sdk_python_testing.execution import Execution
from aws_durable_execution_sdk_python_testing.invoker import InProcessInvoker
from aws_durable_execution_sdk_python_testing.model import Execution as ExecutionSummary
from aws_durable_execution_sdk_python_testing.model import StartDurableExecutionInput
from aws_durable_execution_sdk_python_testing.scheduler import Scheduler
from aws_durable_execution_sdk_python_testing.worker.registry import ExecutionRegistry

from local import executor_internals
from local.hosted_function import (
    ACCOUNT_ID,
    FUNCTION_NAME,
    REGION,
    RETENTION_PERIOD_DAYS,
    FunctionRef,
    execution_arn_prefix,
)
from local.store import WriteThroughStore

EXECUTION_TIMEOUT_SECONDS = 900
DEFAULT_MAX_ITEMS = 50
MAX_ITEMS = 1000
DATABASE_FILE = "executions.db"


class DurableExecutionAlreadyStartedException(AwsApiException):
    """The name is taken by an execution with another input (Lambda answers 409)."""

    http_status_code = 409


class ResourceConflictException(AwsApiException):
    """The execution is in a state that does not allow the request (Lambda answers 409)."""

    http_status_code = 409


class Reopened(NamedTuple):
    """What `open` found left RUNNING: executions resumed, and those whose timeout passed meanwhile."""

    resumed: int
    timed_out: int


def _same_payload(stored: str | None, given: str) -> bool:
    return json.loads(stored or "{}") == json.loads(given)


def _offset(marker: str | None) -> int:
    if marker is None or marker == "":
        return 0
    if not marker.isdigit():
        raise InvalidParameterValueException(f"Invalid marker: {marker}")
    return int(marker)


def _page_size(max_items: int | None) -> int:
    if max_items is None or max_items == 0:
        return DEFAULT_MAX_ITEMS
    if not 0 < max_items <= MAX_ITEMS:
        raise InvalidParameterValueException(f"MaxItems must be between 0 and {MAX_ITEMS}")
    return max_items


class DurableRuntime:
    """Starts, follows, lists and stops executions of one in-process durable handler."""

    def __init__(
        self,
        handler: Callable,
        data_dir: Path | None,
        *,
        function_name: str = FUNCTION_NAME,
        execution_timeout_seconds: int = EXECUTION_TIMEOUT_SECONDS,
        database_file: str = DATABASE_FILE,
        status_events: bool = True,
        concurrent_invocations: int | None = None,
    ) -> None:
        """`data_dir` None keeps everything in memory; otherwise also in SQLite in that folder,
        in `database_file`. `function_name` is the function it hosts (hosted_function's names),
        whose executions may run `execution_timeout_seconds` (its DurableConfig.ExecutionTimeout);
        `concurrent_invocations` of its handler run at once (None: the testing package's default).

        With `status_events`, its store is the status events' outbox: RUNNING for each execution
        that starts (a new one, or one resumed at `open`) and the terminal status of each that ends
        (EventBridge's rule matches the calculations' function only).
        """
        self.function_name = function_name
        self._execution_timeout = execution_timeout_seconds
        if data_dir is not None:
            data_dir.mkdir(parents=True, exist_ok=True)
        self.store = WriteThroughStore(
            data_dir / database_file if data_dir is not None else None, status_events=status_events
        )
        self._scheduler = Scheduler()
        self._registry = ExecutionRegistry(self.store, self._scheduler)
        clock = RealClock()
        checkpoints = CheckpointProcessor(store=self.store, scheduler=self._scheduler, clock=clock)
        invoker = InProcessInvoker(handler, InMemoryServiceClient(checkpoints, self._registry), region=REGION)
        self.executor = executor_internals.NotifyingExecutor(
            store=self.store,
            scheduler=self._scheduler,
            invoker=invoker,
            checkpoint_processor=checkpoints,
            registry=self._registry,
            clock=clock,
            region=REGION,
            on_end=self._ended,
            concurrent_invocations=concurrent_invocations,
        )
        checkpoints.add_execution_observer(self.executor)
        checkpoints.set_chained_invoke_preflight(self.executor.preflight_chained_invoke)
        self._start_lock = threading.Lock()
        # Notified whenever any execution ends; waiters re-check their own execution.
        self._ended_condition = threading.Condition()

    def open(self) -> Reopened:
        """Start the scheduler and resume what a previous process left running, or time it out."""
        self._scheduler.start()
        return self._resume_in_flight()

    def close(self) -> None:
        self.executor.shutdown()
        self._registry.shutdown()
        self._scheduler.stop()
        self.store.close()

    def _resume_in_flight(self) -> Reopened:
        running = [
            execution
            for execution in self.store.in_flight()
            if execution.start_input.function_name == self.function_name
        ]
        now = datetime.now(UTC)
        timed_out = 0
        for execution in running:
            started = execution.get_operation_execution_started().start_timestamp or now
            remaining = execution.start_input.execution_timeout_seconds - (now - started).total_seconds()
            if remaining > 0:
                executor_internals.resume_execution(self.executor, execution, math.ceil(remaining))
                self.store.announce(execution, "RUNNING")
            else:
                timed_out += 1
                self.executor.on_timed_out(
                    execution.durable_execution_arn,
                    ErrorObject.from_message("Execution timed out while the runtime was stopped."),
                )
        return Reopened(resumed=len(running) - timed_out, timed_out=timed_out)

    # Start and wait.

    def start(self, function: FunctionRef, payload: str, execution_name: str | None) -> str:
        """Start an execution and return its ARN; the same name and payload again returns the existing one."""
        name = execution_name or str(uuid.uuid4())
        with self._start_lock:
            existing = self.store.find(self.function_name, name)
            if existing is not None:
                if not _same_payload(existing.start_input.input, payload):
                    raise DurableExecutionAlreadyStartedException(
                        f"Durable execution with name {name} already exists with a different input"
                    )
                return existing.durable_execution_arn
            # The SDK finds the EXECUTION operation by the ARN's last segment: the invocation id.
            invocation_id = str(uuid.uuid4())
            arn = f"{execution_arn_prefix(function.version, self.function_name)}{name}/{invocation_id}"
            start_input = StartDurableExecutionInput(
                account_id=ACCOUNT_ID,
                function_name=self.function_name,
                function_qualifier=function.version,
                execution_name=name,
                execution_timeout_seconds=self._execution_timeout,
                execution_retention_period_days=RETENTION_PERIOD_DAYS,
                invocation_id=invocation_id,
                input=payload,
            )
            executor_internals.start_execution(self.executor, arn, start_input)
        return arn

    def _ended(self, execution_arn: str) -> None:
        with self._ended_condition:
            self._ended_condition.notify_all()

    def wait(
        self, execution_arn: str, timeout: float, abandoned: Callable[[], bool] = lambda: False
    ) -> Execution | None:
        """The execution once it has ended; None after `timeout` seconds or once `abandoned()`."""
        deadline = time.monotonic() + timeout

        def complete() -> bool:
            return self.executor.get_execution(execution_arn).is_complete

        with self._ended_condition:
            while not complete():
                remaining = deadline - time.monotonic()
                if remaining <= 0 or abandoned():
                    return None
                # The store is the truth; the notification only saves polling. Re-check now and then.
                self._ended_condition.wait(min(remaining, 1.0))
        return self.executor.get_execution(execution_arn)

    # The control-plane reads.

    def describe(self, execution_arn: str, *, include_data: bool = True) -> dict[str, Any]:
        details = self.executor.get_execution_details(execution_arn).to_dict()
        if not include_data:
            details.pop("InputPayload", None)
            details.pop("Result", None)
        return details

    def history(
        self,
        execution_arn: str,
        *,
        include_data: bool = True,
        reverse_order: bool = False,
        marker: str | None = None,
        max_items: int | None = None,
    ) -> dict[str, Any]:
        _offset(marker)  # the same check as a listing marker: a number (here an event id) or nothing
        response = self.executor.get_execution_history(
            execution_arn,
            include_execution_data=include_data,
            reverse_order=reverse_order,
            marker=marker,
            max_items=_page_size(max_items),
        )
        return response.to_dict()

    def list(
        self,
        function: FunctionRef,
        *,
        execution_name: str | None = None,
        statuses: Iterable[str] = (),
        started_after: datetime | None = None,
        started_before: datetime | None = None,
        reverse_order: bool = False,
        marker: str | None = None,
        max_items: int | None = None,
    ) -> dict[str, Any]:
        """Newest first unless `reverse_order`, as Lambda lists them."""
        offset, limit = _offset(marker), _page_size(max_items)
        page, more = self.store.page(
            self.function_name,
            execution_name=execution_name,
            arn_prefix=execution_arn_prefix(function.version, self.function_name)
            if function.version
            else None,
            statuses=statuses,
            started_after=started_after,
            started_before=started_before,
            oldest_first=reverse_order,
            offset=offset,
            limit=limit,
        )
        response: dict[str, Any] = {
            "DurableExecutions": [
                ExecutionSummary.from_execution(e, e.current_status().value, REGION).to_dict() for e in page
            ]
        }
        if more:
            response["NextMarker"] = str(offset + len(page))
        return response

    def stop(self, execution_arn: str, error: dict[str, Any] | None) -> dict[str, Any]:
        """Stop a running execution, keeping the caller's error as the stop reason."""
        reason = ErrorObject.from_dict(error) if error else None
        response = self.executor.stop_execution(execution_arn, reason)
        return response.to_dict()

    def forget(self, execution_arn: str) -> bool:
        """Forget an ended execution whose retention period has passed; False if it was already gone."""
        with self._start_lock:
            try:
                self.store.delete(execution_arn)
            except ResourceNotFoundException:
                return False
        return True

    def delete(self, execution_arn: str) -> datetime:
        """Forget an ended execution, in memory and in SQLite; returns when the deletion was requested."""
        requested = datetime.now(UTC)
        with self._start_lock:
            execution = self.executor.get_execution(execution_arn)  # ResourceNotFoundException if unknown
            if not execution.is_complete:
                raise ResourceConflictException(
                    f"Durable execution {execution_arn} is {execution.current_status().value}: "
                    "stop it or let it end before deleting it"
                )
            self.store.delete(execution_arn)
        return requested
