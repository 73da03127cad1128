"""The calculations table: its keys, its item format and the writes that record how a calculation ended.

One item per calculation, keyed by its durable execution name (`executionName`, partition key
only; KEY_SCHEMA, which template.yaml deploys and the local twin creates). Attributes, all typed
for the low-level DynamoDB client (`new_item` makes a started calculation's):

- `owner` (S): the consumer that started it; absent for executions started outside the API,
  which keeps them out of the `byOwner` index (partition `owner`, sort `startedAt`).
- `id` (S): the id the consumer sees; `input` (S): JSON of {"num1", "num2"}.
- `status` (S): the API's status (calculation_facts.calculation_status).
- `startedAt`, `endedAt` (S): ISO 8601 UTC, fixed width (`2026-11-29T12:00:00.000000Z`), so they sort.
- `executionArn` (S); `result` (S): JSON of the result document; `errorType`, `errorMessage` (S).
- `expiresAt` (N): epoch seconds, the table's TTL: the end plus the function's retention, so the
  table never points at an execution Lambda has forgotten.

Writers (the durable function's Record step, the status projector, the API) all use the same
conditional updates: a terminal status is never moved back, so duplicate and out-of-order
status changes change nothing. Clients are passed in; standard library only.
"""

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from calculation_facts import TERMINAL_STATUSES

TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
RUNNING = "RUNNING"
# The durable function's RetentionPeriodInDays: Lambda's range, and the template's default.
RETENTION_DAYS_DEFAULT = 14
RETENTION_DAYS_MIN, RETENTION_DAYS_MAX = 1, 90

# The table's key and its owner index, as template.yaml declares them (CalculationsTable).
OWNER_INDEX = "byOwner"
KEY_SCHEMA: dict[str, Any] = {
    "AttributeDefinitions": [
        {"AttributeName": "executionName", "AttributeType": "S"},
        {"AttributeName": "owner", "AttributeType": "S"},
        {"AttributeName": "startedAt", "AttributeType": "S"},
    ],
    "KeySchema": [{"AttributeName": "executionName", "KeyType": "HASH"}],
    "GlobalSecondaryIndexes": [
        {
            "IndexName": OWNER_INDEX,
            "KeySchema": [
                {"AttributeName": "owner", "KeyType": "HASH"},
                {"AttributeName": "startedAt", "KeyType": "RANGE"},
            ],
            "Projection": {
                "ProjectionType": "INCLUDE",
                "NonKeyAttributes": ["id", "status", "endedAt", "expiresAt"],
            },
        }
    ],
}
# A position in the owner index (a query's LastEvaluatedKey): the table's key and the index's.
OWNER_INDEX_POSITION = ("executionName", "owner", "startedAt")

# Every attribute through a placeholder: status, result, input, owner... are reserved words.
ATTRIBUTE_NAMES = {
    "#executionName": "executionName",
    "#owner": "owner",
    "#id": "id",
    "#input": "input",
    "#status": "status",
    "#startedAt": "startedAt",
    "#endedAt": "endedAt",
    "#executionArn": "executionArn",
    "#result": "result",
    "#errorType": "errorType",
    "#errorMessage": "errorMessage",
    "#expiresAt": "expiresAt",
}
# Met when the item is new or still running: a terminal status is never replaced.
NOT_ENDED = "attribute_not_exists(#status) OR #status = :running"


def format_time(moment: datetime) -> str:
    """`2026-11-29T12:00:00.000000Z`: UTC, microseconds, always the same width."""
    if moment.tzinfo is None:
        raise ValueError("a time without a time zone is ambiguous")
    return moment.astimezone(UTC).strftime(TIME_FORMAT)


def parse_time(text: str) -> datetime:
    """The inverse of format_time (that exact format only), as an aware UTC datetime."""
    return datetime.strptime(text, TIME_FORMAT).replace(tzinfo=UTC)


def expires_at(ended_at: datetime, retention_days: int) -> int:
    """Epoch seconds when Lambda forgets an execution that ended at `ended_at`."""
    if ended_at.tzinfo is None:
        raise ValueError("a time without a time zone is ambiguous")
    return int((ended_at + timedelta(days=retention_days)).timestamp())


@dataclass(frozen=True)
class Record:
    """One item, read: JSON attributes parsed, times as datetimes; absent attributes are None."""

    execution_name: str
    status: str
    owner: str | None = None
    id: str | None = None
    input: dict[str, Any] | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    execution_arn: str | None = None
    result: Any = None
    error_type: str | None = None
    error_message: str | None = None
    expires_at: int | None = None

    @property
    def ended(self) -> bool:
        """Whether the calculation has ended: its status is one it never leaves."""
        return self.status in TERMINAL_STATUSES

    @classmethod
    def from_item(cls, item: dict[str, dict[str, str]]) -> "Record":
        """From a low-level item (`{"status": {"S": "RUNNING"}, ...}`), whole or projected."""

        def text(name: str) -> str | None:
            value = item.get(name)
            return value["S"] if value else None

        def parsed(name: str, parse: Any) -> Any:
            value = text(name)
            return None if value is None else parse(value)

        expires = item.get("expiresAt")
        return cls(
            execution_name=item["executionName"]["S"],
            status=item["status"]["S"],
            owner=text("owner"),
            id=text("id"),
            input=parsed("input", json.loads),
            started_at=parsed("startedAt", parse_time),
            ended_at=parsed("endedAt", parse_time),
            execution_arn=text("executionArn"),
            result=parsed("result", json.loads),
            error_type=text("errorType"),
            error_message=text("errorMessage"),
            expires_at=int(expires["N"]) if expires else None,
        )


def new_item(
    execution_name: str,
    owner: str,
    calculation_id: str,
    request: dict[str, Any],
    started_at: datetime,
    execution_arn: str | None = None,
) -> dict[str, dict[str, str]]:
    """A RUNNING calculation's item, as the API writes it at start (and the repair rebuilds it).

    No expiry yet: the outcome sets it (retention counts from the end, as in Lambda).
    """
    item = {
        "executionName": {"S": execution_name},
        "owner": {"S": owner},
        "id": {"S": calculation_id},
        "input": {"S": json.dumps(request, separators=(",", ":"), sort_keys=True, allow_nan=False)},
        "status": {"S": RUNNING},
        "startedAt": {"S": format_time(started_at)},
    }
    if execution_arn is not None:
        item["executionArn"] = {"S": execution_arn}
    return item


def _names(expression: str) -> dict[str, str]:
    return {placeholder: name for placeholder, name in ATTRIBUTE_NAMES.items() if placeholder in expression}


def record_outcome(
    client: Any,
    table: str,
    execution_name: str,
    *,
    status: str,
    ended_at: datetime,
    retention_days: int,
    result: Any = None,
    error_type: str | None = None,
    error_message: str | None = None,
    execution_arn: str | None = None,
    started_at: datetime | None = None,
) -> bool:
    """Record that a calculation ended, once: True if this write did it, False if it had already ended.

    One UpdateItem, conditioned on the item being new or RUNNING: a duplicate or late status
    change finds the terminal status and changes nothing. `endedAt`, `executionArn` and
    `startedAt` keep a value already there. Other DynamoDB errors propagate.
    """
    if status not in TERMINAL_STATUSES:
        raise ValueError(f"not a terminal status: {status}")
    assignments = [
        "#status = :status",
        "#endedAt = if_not_exists(#endedAt, :endedAt)",
        "#expiresAt = :expiresAt",
    ]
    values: dict[str, dict[str, str]] = {
        ":status": {"S": status},
        ":running": {"S": RUNNING},
        ":endedAt": {"S": format_time(ended_at)},
        ":expiresAt": {"N": str(expires_at(ended_at, retention_days))},
    }
    if result is not None:
        assignments.append("#result = :result")
        values[":result"] = {"S": json.dumps(result, separators=(",", ":"), allow_nan=False)}
    if error_type is not None:
        assignments.append("#errorType = :errorType")
        values[":errorType"] = {"S": error_type}
    if error_message is not None:
        assignments.append("#errorMessage = :errorMessage")
        values[":errorMessage"] = {"S": error_message}
    if execution_arn is not None:
        assignments.append("#executionArn = if_not_exists(#executionArn, :executionArn)")
        values[":executionArn"] = {"S": execution_arn}
    if started_at is not None:
        assignments.append("#startedAt = if_not_exists(#startedAt, :startedAt)")
        values[":startedAt"] = {"S": format_time(started_at)}

    update = "SET " + ", ".join(assignments)
    try:
        client.update_item(
            TableName=table,
            Key={"executionName": {"S": execution_name}},
            UpdateExpression=update,
            ConditionExpression=NOT_ENDED,
            ExpressionAttributeNames=_names(update + NOT_ENDED),
            ExpressionAttributeValues=values,
        )
    except client.exceptions.ConditionalCheckFailedException:
        return False
    return True


def record_running(
    client: Any, table: str, execution_name: str, *, execution_arn: str, started_at: datetime
) -> None:
    """Record that a calculation runs: ARN and start time if missing, RUNNING unless it has a status.

    Unconditional and idempotent: it never overwrites a status, so a RUNNING event that arrives
    after the end leaves the end in place.
    """
    update = (
        "SET #executionArn = if_not_exists(#executionArn, :executionArn),"
        " #startedAt = if_not_exists(#startedAt, :startedAt),"
        " #status = if_not_exists(#status, :running)"
    )
    client.update_item(
        TableName=table,
        Key={"executionName": {"S": execution_name}},
        UpdateExpression=update,
        ExpressionAttributeNames=_names(update),
        ExpressionAttributeValues={
            ":executionArn": {"S": execution_arn},
            ":startedAt": {"S": format_time(started_at)},
            ":running": {"S": RUNNING},
        },
    )
