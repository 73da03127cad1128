"""The durable function, seen through the boto3 Lambda client: start, attach, history, stop, delete.

Only starting (Invoke) is on the request path of every calculation; the control-plane calls here
(history, stop, delete) take the execution's ARN from the calculations table, so none of them
lists or looks up executions. Clients are created on first use.
"""

from functools import cache
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from aws_calls import CALL_ATTEMPTS, translated
from aws_clients import create_client
from errors import UpstreamError
from settings import get_settings

SERVICE = "lambda"
HISTORY_PAGE_SIZE = 1000
EXECUTION_END_EVENTS = frozenset(
    {"ExecutionSucceeded", "ExecutionFailed", "ExecutionTimedOut", "ExecutionStopped"}
)


class NameTaken(Exception):
    """Lambda holds an execution of this name started with another payload."""


class ExecutionGone(Exception):
    """Lambda no longer has the execution (deleted, or its retention has passed)."""


class ExecutionNotEnded(Exception):
    """Lambda refuses to delete an execution that is still running."""


class AlreadyEndedInLambda(Exception):
    """Lambda refuses to stop an execution that has ended."""


@cache
def lambda_client() -> Any:
    """The container's Lambda client, created on first use."""
    return create_client("lambda", attempts=CALL_ATTEMPTS)


@cache
def attach_client(wait_seconds: int) -> Any:
    """A client whose synchronous Invoke gives up after `wait_seconds` and is never retried."""
    return create_client("lambda", read_timeout=wait_seconds, attempts=1)


def start(execution_name: str, payload: str) -> str:
    """Start the function's alias asynchronously under the name; the ARN of the execution.

    Lambda answers a repeated start with the same name and payload with the existing execution,
    and refuses one with the same name and another payload (NameTaken).
    """
    with translated(SERVICE, {"DurableExecutionAlreadyStartedException": NameTaken}):
        response = _invoke(lambda_client(), "Event", execution_name, payload)
    arn = response.get("DurableExecutionArn")
    if not arn:
        raise UpstreamError("Lambda started no durable execution (is the function durable?)", SERVICE)
    return arn


def attach(execution_name: str, payload: str, wait_seconds: int) -> bool:
    """Wait up to `wait_seconds` for the execution to end; True when it ended in time.

    A synchronous Invoke with the execution's name and payload re-attaches to the running
    execution and returns when it ends: one data-plane call instead of polling. Any failure
    here only means "not finished yet": the execution runs on.
    """
    try:
        _invoke(attach_client(wait_seconds), "RequestResponse", execution_name, payload)
    except (ClientError, BotoCoreError):  # timeouts are BotoCoreErrors too
        return False
    return True


def _invoke(client: Any, invocation_type: str, execution_name: str, payload: str) -> dict[str, Any]:
    """Invoke the alias under the execution's name, and read the answer's body to its end: only
    then does botocore reuse the connection."""
    settings = get_settings()
    response = client.invoke(
        FunctionName=settings.function_name,
        Qualifier=settings.qualifier,
        InvocationType=invocation_type,
        DurableExecutionName=execution_name,
        Payload=payload.encode(),
    )
    body = response.get("Payload")
    if body is not None:
        body.read()
    return response


def history(execution_arn: str) -> tuple[list[dict[str, Any]], bool]:
    """Every history event of the execution, oldest first, and whether the execution has ended."""
    events: list[dict[str, Any]] = []
    marker: str | None = None
    with translated(SERVICE, {"ResourceNotFoundException": ExecutionGone}):
        while True:
            page = lambda_client().get_durable_execution_history(
                DurableExecutionArn=execution_arn,
                IncludeExecutionData=True,
                MaxItems=HISTORY_PAGE_SIZE,
                **({"Marker": marker} if marker else {}),
            )
            events.extend(page.get("Events", []))
            marker = page.get("NextMarker")
            if not marker:
                break
    return events, any(event.get("EventType") in EXECUTION_END_EVENTS for event in events)


def stop(execution_arn: str) -> None:
    """Stop a running execution; Lambda refuses one that has ended (AlreadyEndedInLambda)."""
    with translated(
        SERVICE,
        {
            "ResourceNotFoundException": ExecutionGone,
            # An execution that has ended cannot be stopped; Lambda refuses with either code.
            "InvalidParameterValueException": AlreadyEndedInLambda,
            "ResourceConflictException": AlreadyEndedInLambda,
        },
    ):
        lambda_client().stop_durable_execution(
            DurableExecutionArn=execution_arn,
            Error={"ErrorType": "StoppedByUser", "ErrorMessage": "stopped through the API"},
        )


def delete(execution_arn: str) -> None:
    """Delete an ended execution's record in Lambda; one already gone counts as deleted."""
    try:
        with translated(
            SERVICE,
            {"ResourceNotFoundException": ExecutionGone, "ResourceConflictException": ExecutionNotEnded},
        ):
            lambda_client().delete_durable_execution(DurableExecutionArn=execution_arn)
    except ExecutionGone:
        return


def clear_clients() -> None:
    """Forget the container's clients (a fresh container, in tests)."""
    lambda_client.cache_clear()
    attach_client.cache_clear()
