"""The calculations table (DynamoDB), the API's read model, seen through the API's client.

calculation_records (the shared layer) owns every access to the table; this module gives it the
container's client and table, and turns botocore errors into errors.py's exceptions and a refused
condition into AlreadyExists / NotOwned. Reads are strongly consistent, so a calculation is
readable as soon as POST answers.
"""

from datetime import datetime
from functools import cache
from typing import Any

import calculation_records
from aws_calls import CALL_ATTEMPTS, translated
from aws_clients import create_client
from calculation_records import Record
from settings import get_settings

SERVICE = "dynamodb"


class AlreadyExists(Exception):
    """An item with this execution name exists."""


class NotOwned(Exception):
    """The item does not exist, or belongs to another owner."""


@cache
def dynamodb_client() -> Any:
    """The container's DynamoDB client, created on first use."""
    return create_client("dynamodb", attempts=CALL_ATTEMPTS)


def _table() -> str:
    return get_settings().calculations_table_name


def put_new(
    execution_name: str, owner: str, calculation_id: str, request: dict[str, Any], started_at: datetime
) -> None:
    """Write a new RUNNING calculation; AlreadyExists when its execution name is taken."""
    with translated(SERVICE):
        written = calculation_records.put_new(
            dynamodb_client(), _table(), execution_name, owner, calculation_id, request, started_at
        )
    if not written:
        raise AlreadyExists


def get(execution_name: str) -> Record | None:
    with translated(SERVICE):
        return calculation_records.get_record(dynamodb_client(), _table(), execution_name)


def set_arn(execution_name: str, execution_arn: str) -> None:
    """Remember the execution's ARN (history, stop and delete address Lambda by it); NotOwned when gone."""
    with translated(SERVICE):
        kept = calculation_records.set_execution_arn(
            dynamodb_client(), _table(), execution_name, execution_arn
        )
    if not kept:
        raise NotOwned


def forget_unstarted(execution_name: str) -> None:
    """Remove a calculation whose execution never started (its Invoke failed): a retry starts afresh."""
    with translated(SERVICE):
        calculation_records.forget_unstarted(dynamodb_client(), _table(), execution_name)


def record_stopped(execution_name: str, stopped_at: datetime) -> None:
    """STOPPED, after Lambda accepted the stop: also over the end the Record step wrote a moment
    before (calculation_records.OUTSIDE_ENDS), never over an end Lambda recorded first."""
    with translated(SERVICE):
        calculation_records.record_outcome(
            dynamodb_client(),
            _table(),
            execution_name,
            status="STOPPED",
            ended_at=stopped_at,
            retention_days=get_settings().retention_period_days,
            error_type="StoppedByUser",
            error_message="stopped through the API",
        )


def delete(execution_name: str, owner: str) -> None:
    """Remove the caller's calculation; NotOwned when it is gone or another's."""
    with translated(SERVICE):
        deleted = calculation_records.delete_owned(dynamodb_client(), _table(), execution_name, owner)
    if not deleted:
        raise NotOwned


def query_owner(
    owner: str, status: str | None, limit: int, start: dict[str, str] | None, now: datetime
) -> tuple[list[Record], dict[str, str] | None]:
    """Up to `limit` of the owner's visible calculations, newest first, and where the next page starts."""
    with translated(SERVICE):
        return calculation_records.query_owner(dynamodb_client(), _table(), owner, status, limit, start, now)


def clear_clients() -> None:
    dynamodb_client.cache_clear()
