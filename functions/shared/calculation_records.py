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

Every access to the table goes through this module, so the key, the conditions and what a
reader may see are written once: `put_new` and `get_record` (one item), `is_visible` (whether a
consumer may see it), `set_execution_arn`, `forget_unstarted`, `delete_owned`, `query_owner`
(the owner index, newest first), and the outcome writes `record_running` and `record_outcome`.
Writers (the durable function's Record step, the status projector, the API, the repair command)
all use the same conditional updates: a terminal status is never moved back, so duplicate and
out-of-order status changes change nothing. Clients are passed in (a conditional write that does
not hold is answered here; every other botocore error propagates); standard library only.
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

# Queries one listing may make when the filter (status, expiry) leaves pages short.
QUERY_ROUNDS = 4

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


def key(execution_name: str) -> dict[str, dict[str, str]]:
    """The item's key, typed for the low-level client: the only place it is spelt."""
    return {"executionName": {"S": execution_name}}


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
    `startedAt` keep a value already there. Other DynamoDB errors propagate. The ARN is written
    here too because an end may be the first thing the table hears of an execution (one started
    outside the API, or whose RUNNING event is late).
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
            Key=key(execution_name),
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
    after the end leaves the end in place. The ARN is written here too for executions the API
    did not start, and for a start that died between Invoke and set_execution_arn.
    """
    update = (
        "SET #executionArn = if_not_exists(#executionArn, :executionArn),"
        " #startedAt = if_not_exists(#startedAt, :startedAt),"
        " #status = if_not_exists(#status, :running)"
    )
    client.update_item(
        TableName=table,
        Key=key(execution_name),
        UpdateExpression=update,
        ExpressionAttributeNames=_names(update),
        ExpressionAttributeValues={
            ":executionArn": {"S": execution_arn},
            ":startedAt": {"S": format_time(started_at)},
            ":running": {"S": RUNNING},
        },
    )


def put_new(
    client: Any,
    table: str,
    execution_name: str,
    owner: str,
    calculation_id: str,
    request: dict[str, Any],
    started_at: datetime,
    execution_arn: str | None = None,
) -> bool:
    """Write a new RUNNING calculation (new_item); False when its execution name is taken.

    An item that had expired by `started_at` (DynamoDB deletes it only some time later) no
    longer takes the name: it is a previous execution's, as Lambda starts a new execution once
    the old one's retention has passed.
    """
    try:
        client.put_item(
            TableName=table,
            Item=new_item(execution_name, owner, calculation_id, request, started_at, execution_arn),
            ConditionExpression="attribute_not_exists(executionName) OR expiresAt <= :now",
            ExpressionAttributeValues={":now": {"N": str(int(started_at.timestamp()))}},
        )
    except client.exceptions.ConditionalCheckFailedException:
        return False
    return True


def get_record(client: Any, table: str, execution_name: str, *, status_only: bool = False) -> Record | None:
    """The item, read strongly consistent (whole, or its status only); None when there is none."""
    projection: dict[str, Any] = (
        {"ProjectionExpression": "executionName, #status", "ExpressionAttributeNames": {"#status": "status"}}
        if status_only
        else {}
    )
    item = client.get_item(TableName=table, Key=key(execution_name), **projection, ConsistentRead=True).get(
        "Item"
    )
    return Record.from_item(item) if item else None


def is_visible(record: Record | None, owner: str, now: datetime) -> bool:
    """Whether a consumer may see the item: its own, and not past its retention."""
    if record is None or record.owner != owner:
        return False
    return record.expires_at is None or record.expires_at > now.timestamp()


# The same rule, as the owner index's query filters it.
VISIBLE_FILTER = "(attribute_not_exists(expiresAt) OR expiresAt > :now)"


def set_execution_arn(client: Any, table: str, execution_name: str, execution_arn: str) -> bool:
    """Remember the execution's ARN, where the item has none; False when the item is gone.

    The API writes it right after Invoke, so that history, stop and delete can address the
    execution at once, before any status change arrives.
    """
    try:
        client.update_item(
            TableName=table,
            Key=key(execution_name),
            UpdateExpression="SET executionArn = if_not_exists(executionArn, :arn)",
            ConditionExpression="attribute_exists(executionName)",
            ExpressionAttributeValues={":arn": {"S": execution_arn}},
        )
    except client.exceptions.ConditionalCheckFailedException:
        return False
    return True


def forget_unstarted(client: Any, table: str, execution_name: str) -> None:
    """Remove a calculation whose execution never started (no ARN yet); one that did start stays."""
    try:
        client.delete_item(
            TableName=table,
            Key=key(execution_name),
            ConditionExpression="attribute_not_exists(executionArn)",
        )
    except client.exceptions.ConditionalCheckFailedException:
        return


def delete_owned(client: Any, table: str, execution_name: str, owner: str) -> bool:
    """Remove the owner's item; False when it is gone or another's."""
    try:
        client.delete_item(
            TableName=table,
            Key=key(execution_name),
            ConditionExpression="#owner = :owner",
            ExpressionAttributeNames={"#owner": "owner"},
            ExpressionAttributeValues={":owner": {"S": owner}},
        )
    except client.exceptions.ConditionalCheckFailedException:
        return False
    return True


def query_owner(
    client: Any,
    table: str,
    owner: str,
    status: str | None,
    limit: int,
    start: dict[str, str] | None,
    now: datetime,
) -> tuple[list[Record], dict[str, str] | None]:
    """Up to `limit` of the owner's visible items, newest first, and the position the next page starts at.

    Positions are plain `{name: text}` for OWNER_INDEX_POSITION's names. DynamoDB applies Limit
    before the filter (status, not expired), so a filtered page may come back short: the next
    query continues from the same place, QUERY_ROUNDS times at most.
    """
    records: list[Record] = []
    position = start
    filters = [VISIBLE_FILTER]
    values: dict[str, Any] = {":owner": {"S": owner}, ":now": {"N": str(int(now.timestamp()))}}
    names = {"#owner": "owner"}
    if status:
        filters.append("#status = :status")
        values[":status"] = {"S": status}
        names["#status"] = "status"
    for _ in range(QUERY_ROUNDS):
        response = client.query(
            TableName=table,
            IndexName=OWNER_INDEX,
            KeyConditionExpression="#owner = :owner",
            FilterExpression=" AND ".join(filters),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
            ScanIndexForward=False,
            Limit=limit - len(records),
            **({"ExclusiveStartKey": _typed(position)} if position else {}),
        )
        records.extend(Record.from_item(item) for item in response.get("Items", []))
        last = response.get("LastEvaluatedKey")
        position = {name: last[name]["S"] for name in OWNER_INDEX_POSITION} if last else None
        if position is None or len(records) >= limit:
            break
    return records, position


def _typed(position: dict[str, str]) -> dict[str, dict[str, str]]:
    return {name: {"S": text} for name, text in position.items()}
