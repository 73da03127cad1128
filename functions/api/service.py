"""The calculations' rules, with no HTTP in them: starting once per key, reading only one's own,
listing with cursors, stopping and deleting.

A calculation is one item of the calculations table and one durable execution, named from its
owner and id (calculation_facts.execution_name), so two consumers' ids never meet. Reads are
served by the table alone; Lambda's control plane is called for history, stop and delete only,
with the ARN the table holds.
"""

import base64
import binascii
import json
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

import dynamodb_adapter
import lambda_adapter
from calculation_facts import execution_name
from calculation_records import OWNER_INDEX_POSITION, Record
from errors import (
    AlreadyEnded,
    CalculationNotFound,
    IdempotencyConflict,
    InvalidParameter,
    NoResult,
    StillRunning,
    Unavailable,
)
from settings import get_settings


@dataclass(frozen=True)
class Started:
    """A start's outcome: the calculation, whether it existed before, and whether it ended in the wait."""

    calculation: Record
    replayed: bool
    waited: bool


def start(owner: str, calculation_id: str, request_input: dict[str, Any], wait_seconds: int) -> Started:
    """Start a calculation once per (owner, id): the same input again is the same calculation.

    The item is written before the execution starts, so the table decides idempotency and an
    event can never arrive for an item that is not there; an Invoke that fails removes it again.
    """
    name = execution_name(owner, calculation_id)
    payload = canonical_json({**request_input, "calculation": {"owner": owner, "id": calculation_id}})
    replayed = False
    started_at = datetime.now(UTC)
    try:
        dynamodb_adapter.put_new(name, owner, calculation_id, request_input, started_at)
    except dynamodb_adapter.AlreadyExists:
        existing = _visible(dynamodb_adapter.get(name), owner)
        if existing is None:
            # Deleted (or expired) since the write was refused: a retry starts it afresh.
            raise Unavailable("the calculation's item went while it started", "dynamodb") from None
        if existing.input != request_input:
            raise IdempotencyConflict from None
        replayed = True
        if existing.execution_arn:
            return _finish(existing, payload, wait_seconds, replayed)
    # A new item, or a replay whose first start did not get as far as recording its execution.
    try:
        arn = lambda_adapter.start(name, payload)
    except lambda_adapter.NameTaken:
        # Lambda still holds an execution of this name with another input (a table restored from
        # an older backup): the id is taken, exactly as if the table had known it.
        dynamodb_adapter.forget_unstarted(name)
        raise IdempotencyConflict from None
    except Exception:
        dynamodb_adapter.forget_unstarted(name)
        raise
    try:
        dynamodb_adapter.set_arn(name, arn)
    except dynamodb_adapter.NotOwned:
        # A concurrent start of the same key failed and removed the item meanwhile. The
        # execution runs; a retry with the same key finds it again (Lambda deduplicates the name).
        raise Unavailable("the calculation's item went while it started", "dynamodb") from None
    if replayed:
        return _finish(_read(name, owner), payload, wait_seconds, replayed)
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
    return _finish(started, payload, wait_seconds, replayed)


def _finish(calculation: Record, payload: str, wait_seconds: int, replayed: bool) -> Started:
    """Wait up to `wait_seconds` for a running calculation to end, then read it again."""
    if wait_seconds <= 0 or calculation.ended:
        return Started(calculation, replayed, waited=False)
    if not lambda_adapter.attach(calculation.execution_name, payload, wait_seconds):
        return Started(calculation, replayed, waited=False)
    calculation = _read(calculation.execution_name, calculation.owner)
    return Started(calculation, replayed, waited=calculation.ended)


def canonical_json(document: dict[str, Any]) -> str:
    """Equal documents give byte-equal JSON (Lambda compares payloads to deduplicate starts)."""
    return json.dumps(document, separators=(",", ":"), sort_keys=True, allow_nan=False)


def get(owner: str, calculation_id: str) -> Record:
    """The caller's calculation; CalculationNotFound for an unknown id and for another's alike."""
    return _read(execution_name(owner, calculation_id), owner)


def _read(name: str, owner: str) -> Record:
    calculation = _visible(dynamodb_adapter.get(name), owner)
    if calculation is None:
        raise CalculationNotFound
    return calculation


def _visible(record: Record | None, owner: str) -> Record | None:
    """The record if the caller may see it: its own, and visible (not expired, not an abandoned start)."""
    if record is None or record.owner != owner or not record.visible(datetime.now(UTC)):
        return None
    return record


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
    warm container keeps it (CACHE_SIZE), by ARN: a new run of the same name (after a delete,
    perhaps in another container) is another execution.
    """
    calculation = get(owner, calculation_id)
    if not calculation.execution_arn:
        return [], False
    kept = _histories().get(calculation.execution_arn)
    if kept is not None:
        return kept, True
    try:
        events, ended = lambda_adapter.history(calculation.execution_arn)
    except lambda_adapter.ExecutionGone:
        raise CalculationNotFound from None
    if ended:
        _histories().put(calculation.execution_arn, events)
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
        try:
            lambda_adapter.delete(calculation.execution_arn)
        except lambda_adapter.ExecutionNotEnded:
            raise StillRunning from None
    try:
        dynamodb_adapter.delete(calculation.execution_name, owner)
    except dynamodb_adapter.NotOwned:
        raise CalculationNotFound from None
    if calculation.execution_arn:
        _histories().forget(calculation.execution_arn)


def list_page(
    owner: str, status: str | None, limit: int, cursor: str | None
) -> tuple[list[Record], str | None]:
    """One page of the caller's calculations, newest first, and the cursor of the next page."""
    records, next_key = dynamodb_adapter.query_owner(
        owner, status, limit, read_cursor(cursor, owner, status), datetime.now(UTC)
    )
    return records, (make_cursor(next_key, status) if next_key else None)


def make_cursor(key: dict[str, str], status: str | None) -> str:
    """An opaque cursor: where the listing stopped in the owner's index, and the filter it serves."""
    raw = json.dumps({"k": key, "s": status}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def read_cursor(cursor: str | None, owner: str, status: str | None) -> dict[str, str] | None:
    """The index key a cursor holds; refused unless this API issued it to this caller and filter."""
    if not cursor:
        return None
    try:
        decoded = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        key, issued_for = decoded["k"], decoded["s"]
    except (binascii.Error, ValueError, TypeError, KeyError):
        raise InvalidParameter("cursor", "is not a cursor this API issued") from None
    if (
        not isinstance(key, dict)
        or set(key) != set(OWNER_INDEX_POSITION)
        or not all(isinstance(value, str) for value in key.values())
        or key["owner"] != owner
    ):
        raise InvalidParameter("cursor", "is not a cursor this API issued") from None
    if issued_for != status:
        raise InvalidParameter("cursor", "belongs to a listing with another status filter")
    return key


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

    def forget(self, key: str) -> None:
        self._items.pop(key, None)


@cache
def _histories() -> LRU:
    return LRU(get_settings().cache_size)


def clear_caches() -> None:
    """Forget every cached history and client (a fresh container)."""
    _histories.cache_clear()
    dynamodb_adapter.clear_clients()
    lambda_adapter.clear_clients()
