"""The webhooks table: every consumer's endpoints and every delivery's attempts. Every access is here.

Its own table, not items in the calculations table: that table's owner index lists
calculations, its items expire with their executions, and its key is an execution name. Here a
generic key (`pk`, `sk`; KEY_SCHEMA, which template.yaml deploys and the local runtime creates):

- an endpoint: `pk` = `owner#<owner>`, `sk` = `endpoint#<id>`; one query lists a consumer's.
  `url`, `events` (the event types it receives), `description`, `createdAt`, `disabled` and
  `disabledReason`, and `secrets`: newest first, each `{"secret", "expiresAt"}` (an old secret
  keeps signing until its `expiresAt` after a rotation; the newest has none).
- a delivery: `pk` = `endpoint#<id>`, `sk` = `delivery#<message id>`; the message id (the
  `webhook-id` header) starts with the event's time, so a query lists the newest first.
  `eventType`, `payload` (the JSON body, kept for a redelivery), `status` (pending, succeeded,
  failed), `round` (1, then one more per redelivery), `executionArn` (the last round's), and
  `attempts`: each `{"round", "number", "at", "statusCode", "latencyMs", "error"}`.
  Deliveries expire (`expiresAt`, the table's TTL) DELIVERY_RETENTION_DAYS after their start.

Secrets are kept as written: the table is encrypted at rest (with the stack's KMS key when one
is given), they are answered only at creation and rotation, and nothing logs them. Clients are
passed in; a condition that does not hold is answered here, every other botocore error propagates.
"""

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from calculation_records import format_time, parse_time

KEY_SCHEMA: dict[str, Any] = {
    "AttributeDefinitions": [
        {"AttributeName": "pk", "AttributeType": "S"},
        {"AttributeName": "sk", "AttributeType": "S"},
    ],
    "KeySchema": [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ],
}
DELIVERY_RETENTION_DAYS = 30
PENDING, SUCCEEDED, FAILED = "pending", "succeeded", "failed"
_serializer, _deserializer = TypeSerializer(), TypeDeserializer()


def _endpoint_key(owner: str, endpoint_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"owner#{owner}"}, "sk": {"S": f"endpoint#{endpoint_id}"}}


def _delivery_key(endpoint_id: str, delivery_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"endpoint#{endpoint_id}"}, "sk": {"S": f"delivery#{delivery_id}"}}


def _typed(values: dict[str, Any]) -> dict[str, Any]:
    return {name: _serializer.serialize(value) for name, value in values.items()}


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    return {name: _number(_deserializer.deserialize(value)) for name, value in item.items()}


def _number(value: Any) -> Any:
    """DynamoDB's numbers as ints, also inside lists and maps."""
    if isinstance(value, Decimal):
        return int(value)
    if isinstance(value, list):
        return [_number(v) for v in value]
    if isinstance(value, dict):
        return {k: _number(v) for k, v in value.items()}
    return value


def _refused(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


@dataclass(frozen=True)
class Endpoint:
    id: str
    owner: str
    url: str
    events: list[str]
    created_at: datetime
    secrets: list[dict[str, str]] = field(repr=False)
    description: str | None = None
    disabled: bool = False
    disabled_reason: str | None = None

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> "Endpoint":
        values = _plain(item)
        return cls(
            id=values["id"],
            owner=values["owner"],
            url=values["url"],
            events=list(values["events"]),
            created_at=parse_time(values["createdAt"]),
            secrets=values["secrets"],
            description=values.get("description"),
            disabled=values.get("disabled", False),
            disabled_reason=values.get("disabledReason"),
        )

    def signing_secrets(self, now: datetime) -> list[str]:
        """The secrets that sign now, newest first: the current one, and a rotated one in its overlap."""
        return [s["secret"] for s in self.secrets if "expiresAt" not in s or parse_time(s["expiresAt"]) > now]


@dataclass(frozen=True)
class Delivery:
    id: str
    endpoint_id: str
    owner: str
    event_type: str
    payload: dict[str, Any]
    status: str
    round: int
    created_at: datetime
    attempts: list[dict[str, Any]]
    execution_arn: str | None = None

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> "Delivery":
        values = _plain(item)
        return cls(
            id=values["id"],
            endpoint_id=values["endpointId"],
            owner=values["owner"],
            event_type=values["eventType"],
            payload=json.loads(values["payload"]),
            status=values["status"],
            round=values["round"],
            created_at=parse_time(values["createdAt"]),
            attempts=values.get("attempts", []),
            execution_arn=values.get("executionArn"),
        )


# Endpoints.


def put_endpoint(client: Any, table: str, endpoint: Endpoint) -> None:
    item = {
        "id": endpoint.id,
        "owner": endpoint.owner,
        "url": endpoint.url,
        "events": endpoint.events,
        "createdAt": format_time(endpoint.created_at),
        "secrets": endpoint.secrets,
        "disabled": False,
    }
    if endpoint.description is not None:
        item["description"] = endpoint.description
    client.put_item(
        TableName=table,
        Item={**_endpoint_key(endpoint.owner, endpoint.id), **_typed(item)},
        ConditionExpression="attribute_not_exists(pk)",
    )


def count_endpoints(client: Any, table: str, owner: str) -> int:
    answer = client.query(
        TableName=table,
        KeyConditionExpression="pk = :pk AND begins_with(sk, :kind)",
        ExpressionAttributeValues={":pk": {"S": f"owner#{owner}"}, ":kind": {"S": "endpoint#"}},
        Select="COUNT",
        ConsistentRead=True,
    )
    return answer["Count"]


def list_endpoints(client: Any, table: str, owner: str) -> list[Endpoint]:
    """The owner's endpoints, oldest first (few: their number is limited)."""
    items: list[dict[str, Any]] = []
    start: dict[str, Any] | None = None
    while True:
        extra = {"ExclusiveStartKey": start} if start else {}
        answer = client.query(
            TableName=table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :kind)",
            ExpressionAttributeValues={":pk": {"S": f"owner#{owner}"}, ":kind": {"S": "endpoint#"}},
            ConsistentRead=True,
            **extra,
        )
        items += answer["Items"]
        start = answer.get("LastEvaluatedKey")
        if not start:
            break
    return sorted((Endpoint.from_item(item) for item in items), key=lambda e: e.created_at)


def get_endpoint(client: Any, table: str, owner: str, endpoint_id: str) -> Endpoint | None:
    item = client.get_item(TableName=table, Key=_endpoint_key(owner, endpoint_id), ConsistentRead=True).get(
        "Item"
    )
    return Endpoint.from_item(item) if item else None


def delete_endpoint(client: Any, table: str, owner: str, endpoint_id: str) -> bool:
    try:
        client.delete_item(
            TableName=table, Key=_endpoint_key(owner, endpoint_id), ConditionExpression="attribute_exists(pk)"
        )
    except ClientError as error:
        if _refused(error):
            return False
        raise
    return True


def rotate_secret(
    client: Any, table: str, owner: str, endpoint_id: str, secret: str, now: datetime, overlap: timedelta
) -> Endpoint | None:
    """`secret` signs from now on; the current one also signs for `overlap`; older ones are dropped."""
    endpoint = get_endpoint(client, table, owner, endpoint_id)
    if endpoint is None:
        return None
    current = endpoint.signing_secrets(now)[:1]
    secrets = [{"secret": secret}, *({"secret": s, "expiresAt": format_time(now + overlap)} for s in current)]
    try:
        answer = client.update_item(
            TableName=table,
            Key=_endpoint_key(owner, endpoint_id),
            UpdateExpression="SET #secrets = :secrets",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeNames={"#secrets": "secrets"},
            ExpressionAttributeValues={":secrets": _serializer.serialize(secrets)},
            ReturnValues="ALL_NEW",
        )
    except ClientError as error:
        if _refused(error):
            return None
        raise
    return Endpoint.from_item(answer["Attributes"])


def disable_endpoint(client: Any, table: str, owner: str, endpoint_id: str, reason: str) -> bool:
    """Stop sending to an endpoint (its receiver answered 410 Gone); False when it is gone already."""
    try:
        client.update_item(
            TableName=table,
            Key=_endpoint_key(owner, endpoint_id),
            UpdateExpression="SET #disabled = :yes, #disabledReason = :reason",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeNames={"#disabled": "disabled", "#disabledReason": "disabledReason"},
            ExpressionAttributeValues={":yes": {"BOOL": True}, ":reason": {"S": reason}},
        )
    except ClientError as error:
        if _refused(error):
            return False
        raise
    return True


# Deliveries.


def start_delivery(
    client: Any,
    table: str,
    *,
    owner: str,
    endpoint_id: str,
    delivery_id: str,
    event_type: str,
    payload: dict[str, Any],
    round: int,
    execution_arn: str,
    now: datetime,
) -> None:
    """The delivery's item, pending for this round; a replay of the same round changes nothing."""
    values = {
        ":id": delivery_id,
        ":endpointId": endpoint_id,
        ":owner": owner,
        ":eventType": event_type,
        ":payload": json.dumps(payload, separators=(",", ":")),
        ":createdAt": format_time(now),
        ":expiresAt": int((now + timedelta(days=DELIVERY_RETENTION_DAYS)).timestamp()),
        ":round": round,
        ":status": PENDING,
        ":attempts": [],
        ":executionArn": execution_arn,
    }
    try:
        client.update_item(
            TableName=table,
            Key=_delivery_key(endpoint_id, delivery_id),
            UpdateExpression=(
                "SET #id = if_not_exists(#id, :id), #endpointId = :endpointId, #owner = :owner, "
                "#eventType = :eventType, #payload = if_not_exists(#payload, :payload), "
                "#createdAt = if_not_exists(#createdAt, :createdAt), #expiresAt = :expiresAt, "
                "#round = :round, #status = :status, #attempts = if_not_exists(#attempts, :attempts), "
                "#executionArn = :executionArn"
            ),
            ConditionExpression="attribute_not_exists(#round) OR #round < :round",
            # Every attribute through a placeholder: several (status, owner, round) are reserved words.
            ExpressionAttributeNames={f"#{name[1:]}": name[1:] for name in values},
            ExpressionAttributeValues=_typed(values),
        )
    except ClientError as error:
        if not _refused(error):
            raise


def record_attempt(
    client: Any, table: str, endpoint_id: str, delivery_id: str, attempt: dict[str, Any]
) -> None:
    """One more attempt in the delivery's list (the step that made it runs once, so does this)."""
    client.update_item(
        TableName=table,
        Key=_delivery_key(endpoint_id, delivery_id),
        UpdateExpression="SET #attempts = list_append(if_not_exists(#attempts, :none), :attempt)",
        ExpressionAttributeNames={"#attempts": "attempts"},
        ExpressionAttributeValues={
            ":none": {"L": []},
            ":attempt": _serializer.serialize([{k: v for k, v in attempt.items() if v is not None}]),
        },
    )


def end_delivery(
    client: Any, table: str, endpoint_id: str, delivery_id: str, round: int, status: str
) -> None:
    """The round's outcome; a later round (a redelivery started meanwhile) is left alone."""
    try:
        client.update_item(
            TableName=table,
            Key=_delivery_key(endpoint_id, delivery_id),
            UpdateExpression="SET #status = :status",
            ConditionExpression="#round = :round",
            ExpressionAttributeNames={"#status": "status", "#round": "round"},
            ExpressionAttributeValues=_typed({":status": status, ":round": round}),
        )
    except ClientError as error:
        if not _refused(error):
            raise


def get_delivery(client: Any, table: str, endpoint_id: str, delivery_id: str) -> Delivery | None:
    key = _delivery_key(endpoint_id, delivery_id)
    item = client.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")
    return Delivery.from_item(item) if item else None


def list_deliveries(client: Any, table: str, endpoint_id: str, limit: int) -> list[Delivery]:
    """The endpoint's latest deliveries, newest first."""
    answer = client.query(
        TableName=table,
        KeyConditionExpression="pk = :pk AND begins_with(sk, :kind)",
        ExpressionAttributeValues={":pk": {"S": f"endpoint#{endpoint_id}"}, ":kind": {"S": "delivery#"}},
        ScanIndexForward=False,
        Limit=limit,
        ConsistentRead=True,
    )
    return [Delivery.from_item(item) for item in answer["Items"]]
