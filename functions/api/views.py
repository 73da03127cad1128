"""How the table's records and Lambda's history events become the contract's documents."""

from typing import Any

from calculation_facts import operations_failed
from calculation_records import Record
from models import (
    HISTORY_MAX_ATTEMPTS,
    Attempt,
    Calculation,
    CalculationInput,
    CalculationStatus,
    CalculationSummary,
    ExecutionError,
    FailedOperation,
    History,
    Links,
    Operation,
    OperationResults,
    OperationStatus,
    PartialResults,
)

ERROR_DETAILS_KEYS = ("error_details", "errors")


def calculation(record: Record, base_path: str = "") -> Calculation:
    """The whole calculation; a document reporting failed operations is split into them and the rest."""
    view = Calculation(
        id=record.id,
        status=CalculationStatus(record.status),
        input=CalculationInput.of(record.input),
        started_at=record.started_at,
        ended_at=record.ended_at,
        links=Links.of(record.id, base_path),
    )
    document = record.result
    if operations_failed(document):
        errors = document.get("errors") if isinstance(document.get("errors"), dict) else {}
        view.failed_operations = [
            FailedOperation(operation=name, message=str(message)) for name, message in errors.items()
        ]
        view.partial_results = PartialResults.model_validate(
            {k: v for k, v in document.items() if k not in ERROR_DETAILS_KEYS}
        )
    elif record.status == CalculationStatus.SUCCEEDED and isinstance(document, dict):
        view.result = OperationResults.model_validate(document)
    elif record.status in (CalculationStatus.FAILED, CalculationStatus.TIMED_OUT, CalculationStatus.STOPPED):
        view.error = ExecutionError.of(record.error_type, record.error_message)
    return view


def summary(record: Record, base_path: str = "") -> CalculationSummary:
    return CalculationSummary(
        id=record.id,
        status=CalculationStatus(record.status),
        started_at=record.started_at,
        ended_at=record.ended_at,
        links=Links.of(record.id, base_path),
    )


def history(calculation_id: str, events: list[dict[str, Any]], ended: bool) -> History:
    """Each operation's latest state, folded from Lambda's history events in order."""
    operations: dict[str, Operation] = {}
    for event in events:
        kind, phase = _split_event_type(event.get("EventType", ""))
        if kind is None or "Id" not in event:
            continue
        operation = operations.get(event["Id"])
        if operation is None:
            operation = operations[event["Id"]] = Operation(
                id=event["Id"],
                name=event.get("Name"),
                type=kind,
                sub_type=event.get("SubType"),
                parent_id=event.get("ParentId"),
                status=OperationStatus.STARTED,
            )
        _apply(operation, phase, event, ended)
    return History(id=calculation_id, ended=ended, operations=list(operations.values()))


# History event type prefixes per operation type; execution-level events are the calculation.
OPERATION_KINDS = {
    "Step": "STEP",
    "Context": "CONTEXT",
    "Wait": "WAIT",
    "Callback": "CALLBACK",
    "ChainedInvoke": "CHAINED_INVOKE",
}
PHASES = {
    "Started": OperationStatus.STARTED,
    "Succeeded": OperationStatus.SUCCEEDED,
    "Failed": OperationStatus.FAILED,
    "Cancelled": OperationStatus.CANCELLED,
    "TimedOut": OperationStatus.TIMED_OUT,
    "Stopped": OperationStatus.STOPPED,
}


def _split_event_type(event_type: str) -> tuple[str | None, str]:
    """`StepSucceeded` → (`STEP`, `Succeeded`); (None, "") for execution-level and unknown events."""
    for prefix, kind in OPERATION_KINDS.items():
        phase = event_type.removeprefix(prefix)
        if phase != event_type and phase in PHASES:
            return kind, phase
    return None, ""


def _apply(operation: Operation, phase: str, event: dict[str, Any], execution_ended: bool) -> None:
    timestamp = event.get("EventTimestamp")
    details = next((value for key, value in event.items() if key.endswith("Details")), None) or {}
    retry = details.get("RetryDetails") or {}
    payload = (details.get("Error") or {}).get("Payload") or {}
    error = ExecutionError.of(payload.get("ErrorType"), payload.get("ErrorMessage"))
    if operation.type == "STEP":
        started = 1 if phase == "Started" else 0
        operation.attempts = max((operation.attempts or 0) + started, retry.get("CurrentAttempt") or 0)
        _track_attempt(operation, phase, timestamp, error, retry.get("NextAttemptDelaySeconds") or 0)
    if phase == "Started":
        operation.started_at = operation.started_at or timestamp
        operation.status = OperationStatus.STARTED
        operation.ended_at = None
        return
    operation.status = PHASES[phase]
    operation.ended_at = timestamp
    if error:
        operation.error = error
    elif phase == "Succeeded":
        operation.error = None
    if phase == "Failed" and (retry.get("NextAttemptDelaySeconds") or 0) > 0 and not execution_ended:
        operation.status = OperationStatus.PENDING
        operation.ended_at = None


def _track_attempt(
    operation: Operation, phase: str, timestamp: Any, error: ExecutionError | None, retry_delay: int
) -> None:
    """A step's Started opens an attempt and its next end closes it; the first HISTORY_MAX_ATTEMPTS."""
    attempts = operation.attempt_details = operation.attempt_details or []
    if phase == "Started" or not attempts or attempts[-1].ended_at is not None:
        if len(attempts) >= HISTORY_MAX_ATTEMPTS:
            return
        attempts.append(
            Attempt(
                number=len(attempts) + 1,
                status=OperationStatus.STARTED,
                started_at=timestamp if phase == "Started" else None,
            )
        )
        if phase == "Started":
            return
    attempt = attempts[-1]
    attempt.status = PHASES[phase]
    attempt.ended_at = timestamp
    attempt.error = error
    if phase == "Failed" and retry_delay > 0:
        attempt.retry_delay_seconds = retry_delay
