"""The calculations table (DynamoDB), the API's read model: one item per calculation.

The item format and the conditional outcome writes are shared with the durable function and the
status projector (calculation_records, in the shared layer); this module holds the API's own
calls. Reads are strongly consistent, so a calculation is readable as soon as POST answers.
"""

from datetime import datetime
from functools import cache
from typing import Any

from aws_calls import create_client, translated
from calculation_records import (
    OWNER_INDEX,
    OWNER_INDEX_POSITION,
    START_CONDITION,
    VISIBLE_FILTER,
    Record,
    Write,
    new_item,
    record_outcome,
    record_running,
)
from settings import get_settings

SERVICE = "dynamodb"
# Queries one listing request may make when a filter leaves pages short.
QUERY_ROUNDS = 4


class AlreadyExists(Exception):
    """An item with this execution name exists."""


class NotOwned(Exception):
    """The item does not exist, or belongs to another owner."""


@cache
def dynamodb_client() -> Any:
    """The container's DynamoDB client, created on first use."""
    return create_client("dynamodb")


def _table() -> str:
    return get_settings().calculations_table_name


def put_new(
    execution_name: str, owner: str, calculation_id: str, request: dict[str, Any], started_at: datetime
) -> None:
    """Write a new RUNNING calculation; AlreadyExists when its execution name is taken.

    An item past its expiry (which DynamoDB deletes only some time later) or an abandoned start
    no longer takes the name (calculation_records.START_CONDITION).
    """
    with translated(SERVICE, {"ConditionalCheckFailedException": AlreadyExists}):
        dynamodb_client().put_item(
            TableName=_table(),
            Item=new_item(execution_name, owner, calculation_id, request, started_at),
            ConditionExpression=START_CONDITION,
            ExpressionAttributeNames={
                "#executionName": "executionName",
                "#expiresAt": "expiresAt",
                "#startDeadline": "startDeadline",
                "#executionArn": "executionArn",
            },
            ExpressionAttributeValues={":now": {"N": str(int(started_at.timestamp()))}},
        )


def get(execution_name: str) -> Record | None:
    with translated(SERVICE):
        response = dynamodb_client().get_item(
            TableName=_table(), Key={"executionName": {"S": execution_name}}, ConsistentRead=True
        )
    item = response.get("Item")
    return Record.from_item(item) if item else None


def set_arn(execution_name: str, execution_arn: str) -> None:
    """Remember the execution's ARN (history, stop and delete address Lambda by it)."""
    with translated(SERVICE):
        written = record_running(dynamodb_client(), _table(), execution_name, execution_arn=execution_arn)
    if written is Write.NO_ITEM:
        raise NotOwned


def forget_unstarted(execution_name: str) -> None:
    """Remove a calculation whose execution never started (its Invoke failed): a retry starts afresh."""
    try:
        with translated(SERVICE, {"ConditionalCheckFailedException": NotOwned}):
            dynamodb_client().delete_item(
                TableName=_table(),
                Key={"executionName": {"S": execution_name}},
                ConditionExpression="attribute_not_exists(executionArn)",
            )
    except NotOwned:
        return


def record_stopped(execution_name: str, stopped_at: datetime) -> None:
    """STOPPED, unless the calculation reached another end first (a terminal status never moves)."""
    with translated(SERVICE):
        record_outcome(
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
    with translated(SERVICE, {"ConditionalCheckFailedException": NotOwned}):
        dynamodb_client().delete_item(
            TableName=_table(),
            Key={"executionName": {"S": execution_name}},
            ConditionExpression="#owner = :owner",
            ExpressionAttributeNames={"#owner": "owner"},
            ExpressionAttributeValues={":owner": {"S": owner}},
        )


def query_owner(
    owner: str, status: str | None, limit: int, start_key: dict[str, str] | None, now: datetime
) -> tuple[list[Record], dict[str, str] | None]:
    """Up to `limit` of the owner's calculations, newest first, and where the next page starts.

    DynamoDB applies Limit before the filter (status, visible), so a filtered page may come
    back short: the next query continues from the same place, a few times at most.
    """
    records: list[Record] = []
    key = start_key
    filters = [VISIBLE_FILTER]
    values: dict[str, Any] = {":owner": {"S": owner}, ":now": {"N": str(int(now.timestamp()))}}
    names = {
        "#owner": "owner",
        "#expiresAt": "expiresAt",
        "#startDeadline": "startDeadline",
        "#executionArn": "executionArn",
    }
    if status:
        filters.append("#status = :status")
        values[":status"] = {"S": status}
        names["#status"] = "status"
    for _ in range(QUERY_ROUNDS):
        with translated(SERVICE):
            response = dynamodb_client().query(
                TableName=_table(),
                IndexName=OWNER_INDEX,
                KeyConditionExpression="#owner = :owner",
                FilterExpression=" AND ".join(filters),
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ScanIndexForward=False,
                Limit=limit - len(records),
                **({"ExclusiveStartKey": _typed(key)} if key else {}),
            )
        records.extend(Record.from_item(item) for item in response.get("Items", []))
        last = response.get("LastEvaluatedKey")
        key = {name: last[name]["S"] for name in OWNER_INDEX_POSITION} if last else None
        if key is None or len(records) >= limit:
            break
    return records, key


def _typed(key: dict[str, str]) -> dict[str, Any]:
    return {name: {"S": value} for name, value in key.items()}


def clear_clients() -> None:
    dynamodb_client.cache_clear()
