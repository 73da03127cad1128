"""The durable function, seen through the boto3 Lambda client: start, find, describe, history, stop.

botocore errors become the few named exceptions below; app.py maps them to HTTP once. The client
takes its endpoint from the standard AWS configuration only (AWS_ENDPOINT_URL_LAMBDA points it at
a local runtime). A finished execution never changes, so the warm container keeps finished
executions and their histories (CACHE_SIZE), and ids' ARNs (a fixed number), in bounded LRU caches.
"""

import json
import math
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from itertools import islice
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from settings import get_settings

ENDED_STATUSES = frozenset({"SUCCEEDED", "FAILED", "TIMED_OUT", "STOPPED"})
EXECUTION_END_EVENTS = frozenset(
    {"ExecutionSucceeded", "ExecutionFailed", "ExecutionTimedOut", "ExecutionStopped"}
)
HISTORY_PAGE_SIZE = 1000
# Ids whose execution ARN the container keeps (about 350 bytes each: 1.5 MB at most).
ARN_CACHE_SIZE = 4096
# Finding an id by name reads at most FIND_PAGES pages of FIND_PAGE_SIZE executions (see find_arn).
FIND_PAGE_SIZE = 1000
FIND_PAGES = 3


class LambdaCallError(Exception):
    """A Lambda API call did not give the answer the API needs."""

    def __init__(self, message: str, code: str = ""):
        super().__init__(message)
        self.code = code


class CalculationNotFound(LambdaCallError):
    """No execution of the durable function has this name."""


class AlreadyStarted(LambdaCallError):
    """The name is taken by an execution started with another input."""


class AlreadyEnded(LambdaCallError):
    """The execution has already ended, so it cannot be stopped."""

    def __init__(self, execution: "Execution"):
        super().__init__(f"the execution has already ended ({execution.status})", code=execution.status)
        self.execution = execution


class Throttled(LambdaCallError):
    """Lambda refused the call for the account's request rate (TooManyRequestsException)."""

    def __init__(self, retry_after: int):
        super().__init__("the service is busy", code="TooManyRequestsException")
        self.retry_after = retry_after


class Unavailable(LambdaCallError):
    """Lambda could not be reached or failed on its side: worth retrying later."""


class UpstreamError(LambdaCallError):
    """Lambda answered with an error the API cannot turn into a meaningful answer."""


@dataclass(frozen=True)
class Execution:
    """One durable execution, with its input and result documents parsed."""

    id: str
    arn: str
    status: str
    started_at: datetime
    ended_at: datetime | None
    input: Any
    result: Any
    error_type: str | None
    error_message: str | None

    @property
    def ended(self) -> bool:
        return self.status in ENDED_STATUSES


@dataclass(frozen=True)
class ExecutionSummary:
    id: str
    status: str
    started_at: datetime
    ended_at: datetime | None


class LRU:
    """A small bounded mapping that forgets the least recently used entry first."""

    def __init__(self, size: int):
        self.size = size
        self._items: OrderedDict[str, Any] = OrderedDict()

    def get(self, key: str) -> Any:
        if key not in self._items:
            return None
        self._items.move_to_end(key)
        return self._items[key]

    def put(self, key: str, value: Any) -> None:
        if self.size <= 0:
            return
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)


# Each Lambda call: 2 attempts of at most 2 s to connect and 5 s to read, with the standard mode's
# backoff between them (at most 1 s; 6 s if Lambda sends x-amz-retry-after): 15 s, at the very
# worst 20 s, under API Gateway's 29 s, so a caller whose Lambda call hangs gets the API's own 503.
CALL_ATTEMPTS = 2
CONNECT_TIMEOUT_SECONDS = 2
READ_TIMEOUT_SECONDS = 5


@cache
def lambda_client() -> Any:
    """The container's Lambda client, created on first use."""
    return boto3.client(
        "lambda",
        config=Config(
            retries={"mode": "standard", "total_max_attempts": CALL_ATTEMPTS},
            connect_timeout=CONNECT_TIMEOUT_SECONDS,
            read_timeout=READ_TIMEOUT_SECONDS,
            user_agent_extra="durable-calculations-api",
        ),
    )


@cache
def attach_client(wait_seconds: int) -> Any:
    """A client whose synchronous Invoke gives up after `wait_seconds` and is never retried."""
    return boto3.client(
        "lambda",
        config=Config(
            retries={"mode": "standard", "total_max_attempts": 1},
            connect_timeout=CONNECT_TIMEOUT_SECONDS,
            read_timeout=wait_seconds,
            user_agent_extra="durable-calculations-api",
        ),
    )


@cache
def _arns() -> LRU:
    """id → ARN, sized apart from CACHE_SIZE: an ARN never changes, so even with CACHE_SIZE=0 a
    read of an id this container has seen costs one Get, not a List and a Get."""
    return LRU(ARN_CACHE_SIZE)


@cache
def _finished() -> LRU:
    return LRU(get_settings().cache_size)


@cache
def _histories() -> LRU:
    """Finished histories are a few times larger than executions: a quarter as many are kept."""
    return LRU(math.ceil(get_settings().cache_size / 4))


def clear_caches() -> None:
    """Forget every cached client, ARN, execution and history (a fresh container)."""
    for cached in (lambda_client, attach_client, _arns, _finished, _histories):
        cached.cache_clear()


@contextmanager
def _translated(missing_means_not_found: bool = False) -> Iterator[None]:
    """Turn botocore errors into this module's exceptions, never passing on AWS's own words."""
    try:
        yield
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code == "TooManyRequestsException":
            retry_after = error.response.get("retryAfterSeconds")
            raise Throttled(_retry_after(retry_after)) from error
        if code == "DurableExecutionAlreadyStartedException":
            raise AlreadyStarted("the calculation id is taken by a calculation with another input") from error
        if code == "ResourceNotFoundException" and missing_means_not_found:
            raise CalculationNotFound("no calculation has this id") from error
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        if code == "ServiceException" or status >= 500:
            raise Unavailable(f"Lambda failed ({code})", code) from error
        raise UpstreamError(f"Lambda refused the call ({code})", code) from error
    except BotoCoreError as error:
        raise Unavailable(f"Lambda could not be reached ({type(error).__name__})") from error


def _retry_after(value: Any) -> int:
    try:
        return max(1, int(value))
    except (TypeError, ValueError):
        return get_settings().retry_after_seconds


def _document(text: str | None) -> Any:
    """Parse a JSON document from Lambda; NaN or Infinity would make our answers invalid JSON."""
    if text is None:
        return None

    def refuse(constant: str) -> None:
        raise UpstreamError(f"Lambda returned a document with {constant}")

    try:
        document = json.loads(text, parse_constant=refuse)
    except json.JSONDecodeError as error:
        raise UpstreamError("Lambda returned a document that is not JSON") from error
    if _has_non_finite(document):
        raise UpstreamError("Lambda returned a document with a number out of range")
    return document


def _has_non_finite(value: Any) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        return any(_has_non_finite(item) for item in value.values())
    if isinstance(value, list):
        return any(_has_non_finite(item) for item in value)
    return False


def start(calculation_id: str, payload: str) -> str:
    """Start the function's alias asynchronously under the id; the ARN of the execution.

    AWS answers a repeated start with the same name and payload with the existing execution,
    and refuses one with the same name and another payload (AlreadyStarted).
    """
    settings = get_settings()
    try:
        with _translated():
            response = lambda_client().invoke(
                FunctionName=settings.function_name,
                Qualifier=settings.qualifier,
                InvocationType="Event",
                DurableExecutionName=calculation_id,
                Payload=payload.encode(),
            )
    except AlreadyStarted:
        # Lambda may also refuse a name whose execution has already ended; with the same
        # input it is still the same calculation, so answer with it.
        existing = describe(calculation_id)
        if existing.input != json.loads(payload):
            raise
        return existing.arn
    _discard_body(response)
    arn = response.get("DurableExecutionArn")
    if not arn:
        raise UpstreamError("Lambda started no durable execution (is the function durable?)")
    _arns().put(calculation_id, arn)
    return arn


def attach(calculation_id: str, payload: str, wait_seconds: int) -> bool:
    """Wait up to `wait_seconds` for the execution to end; True when it ended in time.

    A synchronous Invoke with the execution's name and payload re-attaches to the running
    execution and returns when it ends: one data-plane call instead of polling the
    control plane. Any failure here only means "not finished yet": the execution runs on.
    """
    settings = get_settings()
    try:
        response = attach_client(wait_seconds).invoke(
            FunctionName=settings.function_name,
            Qualifier=settings.qualifier,
            InvocationType="RequestResponse",
            DurableExecutionName=calculation_id,
            Payload=payload.encode(),
        )
        _discard_body(response)
    except (ClientError, BotoCoreError):  # timeouts are BotoCoreErrors too
        return False
    return True


def _discard_body(response: dict[str, Any]) -> None:
    """Read an Invoke answer's body to its end: only then does botocore reuse the connection."""
    body = response.get("Payload")
    if body is not None:
        body.read()


def find_arn(calculation_id: str) -> str:
    """The execution ARN for an id: it holds a random part, so it is looked up once and kept."""
    arn = _arns().get(calculation_id)
    if arn:
        return arn
    settings = get_settings()
    # The name filter matches names that contain the id; only an exact name is this calculation.
    # Pages are as large as Lambda allows, so a second call is needed only for very short ids.
    # An unknown short id (say "a") would otherwise read every retained execution, 1000 per List
    # call, against the account's 15 List calls per second and API Gateway's 29 s. So only the
    # newest FIND_PAGES pages of names containing the id are read; past them the id is not found
    # (a short id whose execution is older than 3000 newer ones containing it is then a 404).
    pages = (
        lambda_client()
        .get_paginator("list_durable_executions_by_function")
        .paginate(
            FunctionName=settings.function_name,
            Qualifier=settings.qualifier,
            DurableExecutionName=calculation_id,
            PaginationConfig={"PageSize": FIND_PAGE_SIZE},
        )
    )
    matches: list[dict[str, Any]] = []
    with _translated():
        for page in islice(pages, FIND_PAGES):
            matches = [
                i for i in page.get("DurableExecutions", []) if i["DurableExecutionName"] == calculation_id
            ]
            if matches:
                break
    if not matches:
        raise CalculationNotFound("no calculation has this id")
    arn = max(matches, key=lambda item: item["StartTimestamp"])["DurableExecutionArn"]
    _arns().put(calculation_id, arn)
    return arn


def describe(calculation_id: str) -> Execution:
    """The execution with its input and result; served from the container once it has ended."""
    finished = _finished().get(calculation_id)
    if finished:
        return finished
    arn = find_arn(calculation_id)
    with _translated(missing_means_not_found=True):
        response = lambda_client().get_durable_execution(DurableExecutionArn=arn, IncludeExecutionData=True)
    error = response.get("Error") or {}
    execution = Execution(
        id=response["DurableExecutionName"],
        arn=response["DurableExecutionArn"],
        status=response["Status"],
        started_at=response["StartTimestamp"],
        ended_at=response.get("EndTimestamp"),
        input=_document(response.get("InputPayload")),
        result=_document(response.get("Result")),
        error_type=error.get("ErrorType"),
        error_message=error.get("ErrorMessage"),
    )
    if execution.ended:
        _finished().put(calculation_id, execution)
    return execution


def history(calculation_id: str) -> tuple[list[dict[str, Any]], bool]:
    """Every history event of the execution, oldest first, and whether the execution has ended."""
    kept = _histories().get(calculation_id)
    if kept:
        return kept, True
    arn = find_arn(calculation_id)
    events: list[dict[str, Any]] = []
    marker: str | None = None
    with _translated(missing_means_not_found=True):
        while True:
            page = lambda_client().get_durable_execution_history(
                DurableExecutionArn=arn,
                IncludeExecutionData=True,
                MaxItems=HISTORY_PAGE_SIZE,
                **({"Marker": marker} if marker else {}),
            )
            events.extend(page.get("Events", []))
            marker = page.get("NextMarker")
            if not marker:
                break
    ended = any(event.get("EventType") in EXECUTION_END_EVENTS for event in events)
    if ended:
        _histories().put(calculation_id, events)
    return events, ended


def list_executions(
    statuses: list[str] | None, limit: int, marker: str | None
) -> tuple[list[ExecutionSummary], str | None]:
    """One page of executions, newest first, and the marker of the next page."""
    settings = get_settings()
    with _translated():
        response = lambda_client().list_durable_executions_by_function(
            FunctionName=settings.function_name,
            Qualifier=settings.qualifier,
            MaxItems=limit,
            **({"Statuses": statuses} if statuses else {}),
            **({"Marker": marker} if marker else {}),
        )
    items = [
        ExecutionSummary(
            id=item["DurableExecutionName"],
            status=item["Status"],
            started_at=item["StartTimestamp"],
            ended_at=item.get("EndTimestamp"),
        )
        for item in response.get("DurableExecutions", [])
    ]
    for item in response.get("DurableExecutions", []):
        _arns().put(item["DurableExecutionName"], item["DurableExecutionArn"])
    return items, response.get("NextMarker")


def stop(calculation_id: str) -> Execution:
    """Stop a running execution and return it as it is afterwards (STOPPED)."""
    execution = describe(calculation_id)
    if execution.ended:
        raise AlreadyEnded(execution)
    refusal: UpstreamError | None = None
    try:
        with _translated(missing_means_not_found=True):
            lambda_client().stop_durable_execution(
                DurableExecutionArn=execution.arn,
                Error={"ErrorType": "StoppedByUser", "ErrorMessage": "stopped through the API"},
            )
    except UpstreamError as error:
        # An execution that ended between the two calls cannot be stopped; Lambda refuses
        # with a parameter or conflict error. Look again before reporting a failure.
        if error.code not in ("InvalidParameterValueException", "ResourceConflictException"):
            raise
        refusal = error
    after = describe(calculation_id)
    if after.ended and after.status != "STOPPED":
        raise AlreadyEnded(after)
    if refusal and not after.ended:
        raise refusal
    return after
