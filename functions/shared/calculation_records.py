"""The calculations table: its keys, its item format and the writes that record how a calculation ended.

One item per calculation, keyed by its durable execution name (`executionName`, partition key
only; KEY_SCHEMA, which template.yaml deploys and the local twin creates). Attributes, all typed
for the low-level DynamoDB client (`new_item` makes a started calculation's):

- `owner` (S): the consumer that started it; the `byOwner` index's partition (sort `startedAt`).
  Only the API (and the repair, from an execution's input) makes items: executions started
  outside the API have none.
- `id` (S): the id the consumer sees; `input` (S): JSON of {"num1", "num2"}.
- `status` (S): the API's status (calculation_facts.calculation_status).
- `startedAt`, `endedAt` (S): ISO 8601 UTC, fixed width (`2026-11-29T12:00:00.000000Z`), so they sort.
- `executionArn` (S); `result` (S): JSON of the result document; `errorType`, `errorMessage` (S).
- `expiresAt` (N): epoch seconds, the table's TTL: the end plus the function's retention, so the
  table never points at an execution Lambda has forgotten.
- `startDeadline` (N): epoch seconds, set by the API's put and removed once the ARN is recorded.
  A RUNNING item with no ARN past it is an abandoned start (the API stopped between the item and
  the Invoke): `visible` hides it, `START_CONDITION` lets a new start replace it, the reconciler
  resolves it.
- `openShard` (S): set while the calculation is open (not ended), removed by every terminal
  write: the key of the sparse `byOpenShard` index (sort `startedAt`) the reconciler reads.
- `endUnconfirmed` (BOOL): set by the durable function's `Record` step, which writes the end a
  moment before Lambda ends the execution. A stop or a time-out that lands in that moment is the
  execution's real end (OUTSIDE_ENDS), and replaces what `Record` wrote.

Every access to the table goes through this module, so the key, the conditions and what a
reader may see are written once: `put_new` and `get_record` (one item), `is_visible` (whether a
consumer may see it), `set_execution_arn`, `forget_unstarted`, `delete_owned`, `query_owner`
(the owner index, newest first), `query_open` (the reconciler's sparse index), and the outcome
writes `record_running` and `record_outcome`. Writers (the durable function's Record step, the
status projector, the API, the reconciler, the repair command) all use the same conditional
updates: a terminal status is never moved back (but for `endUnconfirmed`'s one case), so
duplicate and out-of-order status changes change nothing, and a status write never creates an
item, so a late event cannot bring back a deleted calculation (it reports Write.NO_ITEM).
Clients are passed in (a conditional write that does not hold is answered here; every other
botocore error propagates); standard library only.
"""

import enum
import json
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from calculation_facts import TERMINAL_STATUSES, calculation_status

TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
RUNNING = "RUNNING"
# The durable function's RetentionPeriodInDays: Lambda's range, and the template's default.
RETENTION_DAYS_DEFAULT = 14
RETENTION_DAYS_MIN, RETENTION_DAYS_MAX = 1, 90

# How long a new item may wait for its execution's ARN: above the API's slowest Invoke (its
# client's connect and read timeouts and retries), under the minute a consumer would wait.
START_DEADLINE_SECONDS = 30

# The table's key and its indexes, as template.yaml declares them (CalculationsTable).
OWNER_INDEX = "byOwner"
OPEN_INDEX = "byOpenShard"
# Open items spread over this many index partitions (one partition takes ~1,000 writes/s, and an
# open calculation writes the index about three times), read one by one by the reconciler.
OPEN_SHARDS = 8
KEY_SCHEMA: dict[str, Any] = {
    "AttributeDefinitions": [
        {"AttributeName": "executionName", "AttributeType": "S"},
        {"AttributeName": "owner", "AttributeType": "S"},
        {"AttributeName": "startedAt", "AttributeType": "S"},
        {"AttributeName": "openShard", "AttributeType": "S"},
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
                # What a listing shows, and what `visible` reads.
                "NonKeyAttributes": ["id", "status", "endedAt", "expiresAt", "executionArn", "startDeadline"],
            },
        },
        {
            "IndexName": OPEN_INDEX,
            "KeySchema": [
                {"AttributeName": "openShard", "KeyType": "HASH"},
                {"AttributeName": "startedAt", "KeyType": "RANGE"},
            ],
            "Projection": {
                "ProjectionType": "INCLUDE",
                # What the reconciler decides by.
                "NonKeyAttributes": ["status", "executionArn", "startDeadline"],
            },
        },
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
    "#startDeadline": "startDeadline",
    "#openShard": "openShard",
    "#endUnconfirmed": "endUnconfirmed",
}
# Met when the item exists and still runs: a terminal status is never replaced, an item never made.
STILL_RUNNING = "attribute_exists(#executionName) AND #status = :running"
# Ends that come from outside the function, after `Record` may have written its own: Lambda's word.
OUTSIDE_ENDS = frozenset({"STOPPED", "TIMED_OUT"})
# Met as STILL_RUNNING is, or by an end `Record` wrote before Lambda ended the execution.
RUNNING_OR_UNCONFIRMED = (
    "attribute_exists(#executionName) AND (#status = :running OR #endUnconfirmed = :true)"
)
# Met by an item that no longer takes its name: past its retention, or an abandoned start.
START_CONDITION = (
    "attribute_not_exists(#executionName) OR #expiresAt <= :now"
    " OR (#startDeadline <= :now AND attribute_not_exists(#executionArn))"
)
# The items `visible` keeps, as a filter on a query (needs :now).
VISIBLE_FILTER = (
    "(attribute_not_exists(#expiresAt) OR #expiresAt > :now)"
    " AND (attribute_not_exists(#startDeadline) OR #startDeadline > :now OR attribute_exists(#executionArn))"
)


class Write(enum.Enum):
    """What a status write did."""

    RECORDED = "recorded"
    UNCHANGED = "unchanged"
    """The item had ended already, or belongs to another execution of the same name."""
    NO_ITEM = "no item"
    """No item (deleted, expired, or an execution started outside the API): nothing was written."""


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
    start_deadline: int | None = None

    @property
    def ended(self) -> bool:
        """Whether the calculation has ended: its status is one it never leaves."""
        return self.status in TERMINAL_STATUSES

    def abandoned(self, now: datetime) -> bool:
        """A start that never recorded its execution by its deadline (no ARN, not ended)."""
        return (
            not self.ended
            and self.execution_arn is None
            and self.start_deadline is not None
            and self.start_deadline <= now.timestamp()
        )

    def visible(self, now: datetime) -> bool:
        """Whether a reader may show it: neither past its retention nor an abandoned start.

        VISIBLE_FILTER says the same to a query.
        """
        if self.expires_at is not None and self.expires_at <= now.timestamp():
            return False
        return not self.abandoned(now)

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
        deadline = item.get("startDeadline")
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
            start_deadline=int(deadline["N"]) if deadline else None,
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

    No expiry yet: the outcome sets it (retention counts from the end, as in Lambda). Open (in the
    reconciler's index); without an ARN, a start deadline START_DEADLINE_SECONDS away.
    """
    item = {
        "executionName": {"S": execution_name},
        "owner": {"S": owner},
        "id": {"S": calculation_id},
        "input": {"S": json.dumps(request, separators=(",", ":"), sort_keys=True, allow_nan=False)},
        "status": {"S": RUNNING},
        "startedAt": {"S": format_time(started_at)},
        "openShard": {"S": open_shard(execution_name)},
    }
    if execution_arn is not None:
        item["executionArn"] = {"S": execution_arn}
    else:
        item["startDeadline"] = {"N": str(int(started_at.timestamp()) + START_DEADLINE_SECONDS)}
    return item


def open_shard(execution_name: str) -> str:
    """The open index's partition of a calculation: one of OPEN_SHARDS, fixed by its name."""
    return str(zlib.crc32(execution_name.encode()) % OPEN_SHARDS)


def _names(expression: str) -> dict[str, str]:
    return {placeholder: name for placeholder, name in ATTRIBUTE_NAMES.items() if placeholder in expression}


def _exists(client: Any, table: str, execution_name: str) -> bool:
    item = client.get_item(
        TableName=table, Key=key(execution_name), ProjectionExpression="executionName", ConsistentRead=True
    ).get("Item")
    return item is not None


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
    before_lambda_ends: bool = False,
) -> Write:
    """Record that a calculation ended, once: RECORDED if this write did it.

    One UpdateItem, conditioned on the item existing and RUNNING (and, given an ARN, holding no
    other execution's): a duplicate or late status change changes nothing. It closes the item
    (off the open index, no start deadline). `endedAt`, `executionArn` and `startedAt` keep a value
    already there. Only when the condition fails, one read tells UNCHANGED from NO_ITEM. Other
    DynamoDB errors propagate.

    `before_lambda_ends`: the writer is the function itself (`Record`), so Lambda has not ended
    the execution yet; the item says so (`endUnconfirmed`), and an OUTSIDE_ENDS status written
    later (from Lambda: its event, a stop it accepted, its answer) replaces this end and its result.
    """
    if status not in TERMINAL_STATUSES:
        raise ValueError(f"not a terminal status: {status}")
    assignments = [
        "#status = :status",
        "#endedAt = if_not_exists(#endedAt, :endedAt)",
        "#expiresAt = :expiresAt",
    ]
    removals = ["#openShard", "#startDeadline"]
    values: dict[str, dict[str, Any]] = {
        ":status": {"S": status},
        ":running": {"S": RUNNING},
        ":endedAt": {"S": format_time(ended_at)},
        ":expiresAt": {"N": str(expires_at(ended_at, retention_days))},
    }
    condition = STILL_RUNNING
    if before_lambda_ends:
        assignments.append("#endUnconfirmed = :true")
        values[":true"] = {"BOOL": True}
    elif status in OUTSIDE_ENDS:
        condition = RUNNING_OR_UNCONFIRMED
        values[":true"] = {"BOOL": True}
        assignments[1] = "#endedAt = :endedAt"  # Lambda's end, not the one `Record` foresaw
        removals.append("#endUnconfirmed")
        if result is None:  # Lambda's stopped or timed-out execution has none
            removals.append("#result")
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
        # A late end of a deleted calculation's execution must not end the new one of its name.
        condition += " AND (attribute_not_exists(#executionArn) OR #executionArn = :executionArn)"
    if started_at is not None:
        assignments.append("#startedAt = if_not_exists(#startedAt, :startedAt)")
        values[":startedAt"] = {"S": format_time(started_at)}

    update = "SET " + ", ".join(assignments) + " REMOVE " + ", ".join(removals)
    try:
        client.update_item(
            TableName=table,
            Key=key(execution_name),
            UpdateExpression=update,
            ConditionExpression=condition,
            ExpressionAttributeNames=_names(update + condition),
            ExpressionAttributeValues=values,
        )
    except client.exceptions.ConditionalCheckFailedException:
        return Write.UNCHANGED if _exists(client, table, execution_name) else Write.NO_ITEM
    return Write.RECORDED


def record_execution_end(
    client: Any, table: str, execution: dict[str, Any], *, retention_days: int, now: datetime
) -> Write:
    """Record an ended execution's outcome from GetDurableExecution's answer (IncludeExecutionData).

    Its status as the API reports it (calculation_facts.calculation_status), its result document
    and error; its end time, or `now` when Lambda gives none.
    """
    result = json.loads(execution["Result"]) if execution.get("Result") else None
    error = execution.get("Error") or {}
    return record_outcome(
        client,
        table,
        execution["DurableExecutionName"],
        status=calculation_status(execution["Status"], result),
        ended_at=execution.get("EndTimestamp") or now,
        retention_days=retention_days,
        result=result,
        error_type=error.get("ErrorType"),
        error_message=error.get("ErrorMessage"),
        execution_arn=execution["DurableExecutionArn"],
    )


def record_missing_result(client: Any, table: str, execution_name: str, result: Any) -> Write:
    """Give a SUCCEEDED item without a result the result document Lambda holds, once.

    Only an item that ended SUCCEEDED and has no result (its end recorded from an event, Lambda's
    answer lacking the result then) is written: its status becomes what the document says
    (calculation_facts.calculation_status: FAILED when operations failed). Anything else is
    UNCHANGED (or NO_ITEM), as the other outcome writes.
    """
    condition = "attribute_exists(#executionName) AND #status = :succeeded AND attribute_not_exists(#result)"
    update = "SET #result = :result, #status = :status"
    try:
        client.update_item(
            TableName=table,
            Key=key(execution_name),
            UpdateExpression=update,
            ConditionExpression=condition,
            ExpressionAttributeNames=_names(update + condition),
            ExpressionAttributeValues={
                ":succeeded": {"S": "SUCCEEDED"},
                ":result": {"S": json.dumps(result, separators=(",", ":"), allow_nan=False)},
                ":status": {"S": calculation_status("SUCCEEDED", result)},
            },
        )
    except client.exceptions.ConditionalCheckFailedException:
        return Write.UNCHANGED if _exists(client, table, execution_name) else Write.NO_ITEM
    return Write.RECORDED


def record_running(
    client: Any,
    table: str,
    execution_name: str,
    *,
    execution_arn: str,
    started_at: datetime | None = None,
) -> Write:
    """Record that a calculation's execution runs: its ARN (and start time) where missing.

    The start is then settled: the start deadline goes. Never a status: a RUNNING that arrives
    after the end leaves the end in place. NO_ITEM, writing nothing, when there is no item.
    """
    assignments = ["#executionArn = if_not_exists(#executionArn, :executionArn)"]
    values = {":executionArn": {"S": execution_arn}}
    if started_at is not None:
        assignments.append("#startedAt = if_not_exists(#startedAt, :startedAt)")
        values[":startedAt"] = {"S": format_time(started_at)}
    update = "SET " + ", ".join(assignments) + " REMOVE #startDeadline"
    condition = "attribute_exists(#executionName)"
    try:
        client.update_item(
            TableName=table,
            Key=key(execution_name),
            UpdateExpression=update,
            ConditionExpression=condition,
            ExpressionAttributeNames=_names(update + condition),
            ExpressionAttributeValues=values,
        )
    except client.exceptions.ConditionalCheckFailedException:
        return Write.NO_ITEM
    return Write.RECORDED


def forget_abandoned(client: Any, table: str, execution_name: str, now: datetime) -> bool:
    """Delete an abandoned start (still no ARN, its deadline passed); False if it is not one now."""
    condition = "attribute_not_exists(#executionArn) AND #startDeadline <= :now"
    return _delete_if(client, table, execution_name, condition, {":now": {"N": str(int(now.timestamp()))}})


def forget_vanished(client: Any, table: str, execution_name: str, execution_arn: str) -> bool:
    """Delete a RUNNING item whose execution Lambda no longer knows; False if the item moved on."""
    condition = "#executionArn = :executionArn AND #status = :running"
    values = {":executionArn": {"S": execution_arn}, ":running": {"S": RUNNING}}
    return _delete_if(client, table, execution_name, condition, values)


def _delete_if(client: Any, table: str, execution_name: str, condition: str, values: dict[str, Any]) -> bool:
    try:
        client.delete_item(
            TableName=table,
            Key=key(execution_name),
            ConditionExpression=condition,
            ExpressionAttributeNames=_names(condition),
            ExpressionAttributeValues=values,
        )
    except client.exceptions.ConditionalCheckFailedException:
        return False
    return True


def query_open(
    client: Any, table: str, shard: str, started_before: datetime, start_key: dict[str, Any] | None = None
) -> tuple[list[Record], dict[str, Any] | None]:
    """One page of a shard of the open index, oldest first, started before `started_before`.

    The index is sparse (only open items carry `openShard`): no Scan, and ended calculations cost
    nothing. Eventually consistent, as every index: the writes that act on it are conditional.
    """
    response = client.query(
        TableName=table,
        IndexName=OPEN_INDEX,
        KeyConditionExpression="#openShard = :shard AND #startedAt < :before",
        ExpressionAttributeNames={"#openShard": "openShard", "#startedAt": "startedAt"},
        ExpressionAttributeValues={":shard": {"S": shard}, ":before": {"S": format_time(started_before)}},
        ScanIndexForward=True,
        **({"ExclusiveStartKey": start_key} if start_key else {}),
    )
    return [Record.from_item(item) for item in response.get("Items", [])], response.get("LastEvaluatedKey")


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
    the old one's retention has passed. Nor does an abandoned start (START_CONDITION): a retry
    with the same key always works.
    """
    try:
        client.put_item(
            TableName=table,
            Item=new_item(execution_name, owner, calculation_id, request, started_at, execution_arn),
            ConditionExpression=START_CONDITION,
            ExpressionAttributeNames=_names(START_CONDITION),
            ExpressionAttributeValues={":now": {"N": str(int(started_at.timestamp()))}},
        )
    except client.exceptions.ConditionalCheckFailedException:
        return False
    return True


def get_record(client: Any, table: str, execution_name: str) -> Record | None:
    """The item, read strongly consistent; None when there is none."""
    item = client.get_item(TableName=table, Key=key(execution_name), ConsistentRead=True).get("Item")
    return Record.from_item(item) if item else None


def is_visible(record: Record | None, owner: str, now: datetime) -> bool:
    """Whether a consumer may see the item: its own, not past its retention, not an abandoned start."""
    return record is not None and record.owner == owner and record.visible(now)


def set_execution_arn(client: Any, table: str, execution_name: str, execution_arn: str) -> bool:
    """Remember the execution's ARN, where the item has none; False when the item is gone.

    The API writes it right after Invoke, so that history, stop and delete can address the
    execution at once, before any status change arrives; it settles the start (record_running).
    """
    return record_running(client, table, execution_name, execution_arn=execution_arn) is not Write.NO_ITEM


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
    names = {"#owner": "owner", **_names(VISIBLE_FILTER)}
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
