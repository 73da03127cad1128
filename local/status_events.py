"""Lambda's status-change events, delivered to the status projector as EventBridge delivers them.

Lambda puts a `Durable Execution Status Change` event (source `aws.lambda`) on the default bus
whenever an execution starts and when it ends; EventBridge delivers each to the rule's target at
least once, in no guaranteed order, retrying a target that fails. Locally the runtime publishes
the same event, and a few delivery threads call the target (the projector's `lambda_handler`,
in-process) off the caller's thread. A failed delivery is retried with exponential backoff a
bounded number of times, then dropped and logged at ERROR (where EventBridge would send it to the
rule's dead-letter queue).

Events come from an outbox (local/store.py): the store puts each one there in the transaction that
changes the execution's state, and the bus takes it out only once the target accepted it. So an
event survives a stop or a SIGKILL of the runtime, and the next runtime delivers it at start-up;
one dropped after its attempts stays there too, and is tried again at the next start. The
runtime also puts RUNNING there again for each execution it resumes at start-up.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from aws_durable_execution_sdk_python_testing.execution import Execution

from local import hosted_function
from local.function_worker import LambdaContext

logger = logging.getLogger("local.events")

SOURCE = "aws.lambda"
DETAIL_TYPE = "Durable Execution Status Change"
PROJECTOR_FUNCTION_NAME = "status-projector"
DELIVERY_ATTEMPTS = 6  # the first and five retries: 0.5 + 1 + 2 + 4 + 8 s of backoff, 15.5 s in all
FIRST_RETRY_SECONDS = 0.5
DELIVERY_THREADS = 4
TARGET_TIMEOUT_SECONDS = 30.0

Target = Callable[[dict[str, Any], Any], Any]


class Outbox(Protocol):
    """Where events wait until delivered (local/store.py's WriteThroughStore)."""

    def subscribe(self, listener: Callable[[dict[str, Any]], None]) -> None: ...

    def pending_events(self) -> list[dict[str, Any]]: ...

    def event_delivered(self, event_id: str) -> None: ...


def _iso(moment: datetime) -> str:
    """ISO 8601 in UTC with milliseconds, as AWS writes timestamps: 2026-11-29T12:00:00.123Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def status_event(execution: Execution, status: str, now: datetime | None = None) -> dict[str, Any]:
    """The EventBridge event telling that `execution` is now `status` (`endTimestamp` for a terminal one)."""
    started = execution.get_operation_execution_started()
    arn = execution.durable_execution_arn
    detail: dict[str, Any] = {
        "durableExecutionArn": arn,
        "durableExecutionName": execution.start_input.execution_name,
        "functionArn": arn.split("/durable-execution/", 1)[0],
        "status": status,
        "startTimestamp": _iso(started.start_timestamp),
    }
    if status != "RUNNING" and started.end_timestamp is not None:
        detail["endTimestamp"] = _iso(started.end_timestamp)
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "source": SOURCE,
        "detail-type": DETAIL_TYPE,
        "account": hosted_function.ACCOUNT_ID,
        "region": hosted_function.REGION,
        "time": (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "resources": [],
        "detail": detail,
    }


def projector_context() -> LambdaContext:
    """The Lambda context the projector's handler gets for one delivery."""
    request_id = str(uuid.uuid4())
    return LambdaContext(
        function_name=PROJECTOR_FUNCTION_NAME,
        function_version="$LATEST",
        invoked_function_arn=(
            f"arn:aws:lambda:{hosted_function.REGION}:{hosted_function.ACCOUNT_ID}"
            f":function:{PROJECTOR_FUNCTION_NAME}"
        ),
        memory_limit_in_mb=128,
        aws_request_id=request_id,
        log_group_name=f"/aws/lambda/{PROJECTOR_FUNCTION_NAME}",
        log_stream_name=request_id,
        timeout_seconds=TARGET_TIMEOUT_SECONDS,
    )


class StatusEventBus:
    """Delivers an outbox's events to `target(event, context)` on background threads, with retries.

    Without an outbox, it delivers what is published to it, from memory.
    """

    def __init__(
        self,
        target: Target,
        outbox: Outbox | None = None,
        *,
        attempts: int = DELIVERY_ATTEMPTS,
        first_retry_seconds: float = FIRST_RETRY_SECONDS,
        threads: int = DELIVERY_THREADS,
    ) -> None:
        self._target = target
        self._outbox = outbox
        self._attempts = attempts
        self._first_retry = first_retry_seconds
        # (due time, sequence, attempt number, event): the earliest due first.
        self._queue: list[tuple[float, int, int, dict[str, Any]]] = []
        self._sequence = itertools.count()
        self._busy = 0
        self._closed = False
        self._cond = threading.Condition()
        self.delivered = 0
        self.dropped = 0
        self._threads = [
            threading.Thread(target=self._deliver_forever, name=f"status-events-{n}", daemon=True)
            for n in range(threads)
        ]
        for thread in self._threads:
            thread.start()
        if outbox is not None:
            outbox.subscribe(self.publish)
            # Left by a previous runtime (stopped, killed, or out of attempts): delivered first.
            for event in outbox.pending_events():
                self.publish(event)

    def publish(self, event: dict[str, Any]) -> None:
        """Queue `event` for delivery now; never blocks on the target."""
        self._schedule(event, attempt=1, delay=0.0)

    def _schedule(self, event: dict[str, Any], attempt: int, delay: float) -> None:
        with self._cond:
            if self._closed:
                return
            heapq.heappush(self._queue, (time.monotonic() + delay, next(self._sequence), attempt, event))
            self._cond.notify()

    def _next(self) -> tuple[int, dict[str, Any]] | None:
        """The next due event and its attempt number; None once closed."""
        with self._cond:
            while not self._closed:
                if self._queue:
                    wait = self._queue[0][0] - time.monotonic()
                    if wait <= 0:
                        _, _, attempt, event = heapq.heappop(self._queue)
                        self._busy += 1
                        return attempt, event
                    self._cond.wait(wait)
                else:
                    self._cond.wait()
            return None

    def _deliver_forever(self) -> None:
        while (due := self._next()) is not None:
            attempt, event = due
            try:
                self._deliver(event, attempt)
            finally:
                with self._cond:
                    self._busy -= 1
                    self._cond.notify_all()

    def _deliver(self, event: dict[str, Any], attempt: int) -> None:
        detail = event["detail"]
        try:
            self._target(event, projector_context())
        except Exception as error:  # noqa: BLE001 (any failure of the target is a failed delivery)
            if attempt < self._attempts:
                delay = self._first_retry * 2 ** (attempt - 1)
                logger.warning(
                    "status event delivery failed, retrying in %.1f s (attempt %d of %d): %s %s: %r",
                    delay,
                    attempt,
                    self._attempts,
                    detail["durableExecutionName"],
                    detail["status"],
                    error,
                )
                self._schedule(event, attempt + 1, delay)
            else:
                with self._cond:
                    self.dropped += 1
                logger.error(
                    "status event dropped after %d attempts: %s %s (event %s): %r; %s",
                    attempt,
                    detail["durableExecutionName"],
                    detail["status"],
                    event["id"],
                    error,
                    "it stays in the outbox for the next start" if self._outbox else "it is lost",
                )
            return
        if self._outbox is not None:
            self._outbox.event_delivered(event["id"])
        with self._cond:
            self.delivered += 1

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no event is due or being delivered (retries later than `timeout` do not count)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._busy or any(due <= deadline for due, *_ in self._queue):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(min(remaining, 0.1))
            return True

    def close(self, timeout: float = 5.0) -> None:
        """Deliver what is due within `timeout`, then stop; what is left is dropped, its count logged."""
        self.wait_idle(timeout)
        with self._cond:
            self._closed = True
            pending = len(self._queue)
            self._queue.clear()
            self._cond.notify_all()
        if pending:
            logger.warning(
                "%d status event(s) not delivered before the stop%s",
                pending,
                ": they stay in the outbox for the next start" if self._outbox else "",
            )
        for thread in self._threads:
            thread.join(timeout=TARGET_TIMEOUT_SECONDS)
