"""The calculations' use cases, with no HTTP in them: what joins the concerns (idempotency,
waiting, cursors, the history cache, the table and Lambda) for each route.

A calculation is one item of the calculations table and one durable execution, named from its
owner and id (calculation_facts.execution_name), so two consumers' ids never meet. Reads are
served by the table alone; Lambda's control plane is called for history, stop and delete only,
with the ARN the table holds.
"""

import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import calculation_records
import dynamodb_adapter
import history_cache
import idempotency
import lambda_adapter
import waiting
from calculation_facts import execution_name
from calculation_records import Record
from cursors import make_cursor, read_cursor
from errors import AlreadyEnded, CalculationNotFound, NoResult, StillRunning, Throttled, Unavailable

# The table and Lambda record an end a moment apart, and either may be first: the Record step
# writes it just before Lambda ends the execution; a stop's or a time-out's end is written just
# after (by the stop's route, the projector). A delete of an item that has ended, and a wait that
# Lambda's end has returned, pause up to about 1.5 s for the other, before they answer RUNNING.
ENDING_PAUSES_SECONDS = (0.05, 0.1, 0.2, 0.4, 0.8)


@dataclass(frozen=True)
class Started:
    """A start's outcome: the calculation, whether it existed before, and whether it ended in the wait."""

    calculation: Record
    replayed: bool
    waited: bool


def start(owner: str, calculation_id: str, request_input: dict[str, Any], wait_seconds: int) -> Started:
    """Start a calculation once per (owner, id) (idempotency), then wait for it if asked (waiting)."""
    name = execution_name(owner, calculation_id)
    payload = idempotency.execution_payload(owner, calculation_id, request_input)
    started_at = datetime.now(UTC)
    existing = idempotency.claim(name, owner, calculation_id, request_input, started_at)
    if existing is not None and existing.execution_arn:
        return _finish(existing, payload, wait_seconds, replayed=True)
    # A new item, or a replay whose first start did not get as far as recording its execution.
    arn = idempotency.start_execution(name, payload)
    if existing is not None:
        calculation = _read_once_started(name, owner, replace(existing, execution_arn=arn))
        return _finish(calculation, payload, wait_seconds, replayed=True)
    # As written, not read back: a fresh start answers RUNNING even if it has already ended.
    started = Record(
        execution_name=name,
        status="RUNNING",
        owner=owner,
        id=calculation_id,
        input=request_input,
        started_at=started_at,
        execution_arn=arn,
    )
    return _finish(started, payload, wait_seconds, replayed=False)


def _finish(calculation: Record, payload: str, wait_seconds: int, replayed: bool) -> Started:
    """Wait up to `wait_seconds` for a running calculation to end, then read it again."""
    if not waiting.wait_for_end(calculation, payload, wait_seconds):
        return Started(calculation, replayed, waited=False)
    try:
        calculation = _read_ended(calculation.execution_name, calculation.owner)
    except (Throttled, Unavailable):
        return Started(calculation, replayed, waited=False)  # the start stands: see _read_once_started
    return Started(calculation, replayed, waited=calculation.ended)


def _read_once_started(name: str, owner: str, started: Record) -> Record:
    """The item of a calculation whose execution has started; `started` if the table cannot answer
    now: the start stands, answered 202 with where to follow it, not a 503 that a client without
    an Idempotency-Key would retry into a second calculation."""
    try:
        return _read(name, owner)
    except (Throttled, Unavailable):
        return started


def _read_ended(name: str, owner: str) -> Record:
    """The item of an execution Lambda has ended, read again while its end is being written."""
    calculation = _read(name, owner)
    for pause in ENDING_PAUSES_SECONDS:
        if calculation.ended:
            break
        time.sleep(pause)
        calculation = _read(name, owner)
    return calculation


def get(owner: str, calculation_id: str) -> Record:
    """The caller's calculation; CalculationNotFound for an unknown id and for another's alike."""
    return _read(execution_name(owner, calculation_id), owner)


def _read(name: str, owner: str) -> Record:
    calculation = dynamodb_adapter.get(name)
    if not calculation_records.is_visible(calculation, owner, datetime.now(UTC)):
        raise CalculationNotFound
    return calculation


def result(owner: str, calculation_id: str) -> tuple[Record, Any]:
    """The calculation and its result document (None while it runs); NoResult if it ended without one."""
    calculation = get(owner, calculation_id)
    if not calculation.ended:
        return calculation, None
    if calculation.result is None:
        raise NoResult(calculation.status)
    return calculation, calculation.result


def history(owner: str, calculation_id: str) -> tuple[list[dict[str, Any]], bool]:
    """Lambda's history events of the caller's calculation, and whether it has ended.

    The table says whose it is and where it runs; a finished history never changes, so the
    warm container keeps it (history_cache).
    """
    calculation = get(owner, calculation_id)
    if not calculation.execution_arn:
        return [], False
    kept = history_cache.histories().get(calculation.execution_arn)
    if kept is not None:
        return kept, True
    try:
        events, ended = lambda_adapter.history(calculation.execution_arn)
    except lambda_adapter.ExecutionGone:
        raise CalculationNotFound from None
    if ended:
        history_cache.histories().put(calculation.execution_arn, events)
    return events, ended


def stop(owner: str, calculation_id: str) -> Record:
    """Stop the caller's running calculation and answer with it, now STOPPED."""
    calculation = get(owner, calculation_id)
    if calculation.ended:
        raise AlreadyEnded(calculation.status)
    if not calculation.execution_arn:
        # Its start has not recorded the execution yet: nothing can be stopped for a moment.
        raise Unavailable("the calculation is still starting", "dynamodb")
    try:
        lambda_adapter.stop(calculation.execution_arn)
    except lambda_adapter.AlreadyEndedInLambda:
        now = get(owner, calculation_id)
        raise AlreadyEnded(now.status if now.ended else None) from None
    except lambda_adapter.ExecutionGone:
        raise CalculationNotFound from None
    dynamodb_adapter.record_stopped(calculation.execution_name, datetime.now(UTC))
    return get(owner, calculation_id)


def delete(owner: str, calculation_id: str) -> None:
    """Remove the caller's ended calculation: Lambda's record, then the table item."""
    calculation = get(owner, calculation_id)
    if not calculation.ended:
        raise StillRunning
    if calculation.execution_arn:
        _delete_ended_execution(calculation.execution_arn)
    try:
        dynamodb_adapter.delete(calculation.execution_name, owner)
    except dynamodb_adapter.NotOwned:
        raise CalculationNotFound from None
    if calculation.execution_arn:
        history_cache.histories().forget(calculation.execution_arn)


def _delete_ended_execution(execution_arn: str) -> None:
    """Lambda's record of an execution the table says has ended; StillRunning if Lambda never agrees."""
    for pause in (*ENDING_PAUSES_SECONDS, None):
        try:
            lambda_adapter.delete(execution_arn)
            return
        except lambda_adapter.ExecutionNotEnded:
            if pause is None:
                raise StillRunning from None
            time.sleep(pause)


def list_page(
    owner: str, status: str | None, limit: int, cursor: str | None
) -> tuple[list[Record], str | None]:
    """One page of the caller's calculations, newest first, and the cursor of the next page."""
    records, next_key = dynamodb_adapter.query_owner(
        owner, status, limit, read_cursor(cursor, owner, status), datetime.now(UTC)
    )
    return records, (make_cursor(next_key, status) if next_key else None)


def clear_caches() -> None:
    """Forget every cached history and client (a fresh container)."""
    history_cache.clear()
    dynamodb_adapter.clear_clients()
    lambda_adapter.clear_clients()
