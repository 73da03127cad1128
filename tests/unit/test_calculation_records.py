"""The calculations table's item format and conditional writes, on a stubbed DynamoDB client."""

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import boto3
import pytest
from botocore.stub import Stubber

from calculation_records import (
    OPEN_SHARDS,
    Record,
    Write,
    expires_at,
    forget_abandoned,
    forget_vanished,
    format_time,
    is_visible,
    new_item,
    open_shard,
    parse_time,
    query_open,
    record_missing_result,
    record_outcome,
    record_running,
)

TABLE = "calculations"
NAME = "calc-a3173e7875e4e3e04853931f28b5a537"
ARN = f"arn:aws:lambda:us-east-1:123456789012:function:math-durable:1/durable-execution/{NAME}/0b1c"
STARTED = datetime(2026, 11, 29, 12, 0, 0, 250000, tzinfo=UTC)
ENDED = STARTED + timedelta(seconds=2)
# ENDED + 14 days: 2026-12-13T12:00:02.25Z
EXPIRES_14_DAYS = "1797163202"
TERMINAL_CONDITION = "attribute_exists(#executionName) AND #status = :running"
SAME_EXECUTION = " AND (attribute_not_exists(#executionArn) OR #executionArn = :executionArn)"
CLOSE = " REMOVE #openShard, #startDeadline"


@pytest.fixture
def dynamodb() -> Iterator[tuple[object, Stubber]]:
    client = boto3.client(
        "dynamodb", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def test_times_are_utc_with_microseconds_at_a_fixed_width():
    assert format_time(STARTED) == "2026-11-29T12:00:00.250000Z"
    assert format_time(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)) == "2026-01-02T03:04:05.000000Z"
    assert format_time(datetime(2026, 11, 29, 14, 0, tzinfo=timezone(timedelta(hours=2)))) == (
        "2026-11-29T12:00:00.000000Z"
    )
    assert parse_time("2026-11-29T12:00:00.250000Z") == STARTED


def test_a_time_without_a_zone_is_refused():
    with pytest.raises(ValueError, match="time zone"):
        format_time(datetime(2026, 11, 29, 12, 0))


def test_an_item_expires_when_its_execution_is_forgotten():
    assert expires_at(ENDED, 14) == int(EXPIRES_14_DAYS)
    assert expires_at(datetime(1970, 1, 1, tzinfo=UTC), 1) == 86400


def test_outcome_sets_the_terminal_status_and_result_unless_already_ended(dynamodb):
    client, stubber = dynamodb
    stubber.add_response(
        "update_item",
        {},
        {
            "TableName": TABLE,
            "Key": {"executionName": {"S": NAME}},
            "UpdateExpression": "SET #status = :status, #endedAt = if_not_exists(#endedAt, :endedAt),"
            " #expiresAt = :expiresAt, #result = :result,"
            " #executionArn = if_not_exists(#executionArn, :executionArn),"
            " #startedAt = if_not_exists(#startedAt, :startedAt)" + CLOSE,
            "ConditionExpression": TERMINAL_CONDITION + SAME_EXECUTION,
            "ExpressionAttributeNames": {
                "#executionName": "executionName",
                "#status": "status",
                "#endedAt": "endedAt",
                "#expiresAt": "expiresAt",
                "#result": "result",
                "#executionArn": "executionArn",
                "#startedAt": "startedAt",
                "#openShard": "openShard",
                "#startDeadline": "startDeadline",
            },
            "ExpressionAttributeValues": {
                ":status": {"S": "SUCCEEDED"},
                ":running": {"S": "RUNNING"},
                ":endedAt": {"S": "2026-11-29T12:00:02.250000Z"},
                ":expiresAt": {"N": EXPIRES_14_DAYS},
                ":result": {"S": '{"Add":15,"Subtract":5,"Multiply":50,"Division":2.0}'},
                ":executionArn": {"S": ARN},
                ":startedAt": {"S": "2026-11-29T12:00:00.250000Z"},
            },
        },
    )

    recorded = record_outcome(
        client,
        TABLE,
        NAME,
        status="SUCCEEDED",
        ended_at=ENDED,
        retention_days=14,
        result={"Add": 15, "Subtract": 5, "Multiply": 50, "Division": 2.0},
        execution_arn=ARN,
        started_at=STARTED,
    )

    assert recorded is Write.RECORDED


def test_outcome_with_an_error_sets_only_the_given_fields(dynamodb):
    client, stubber = dynamodb
    stubber.add_response(
        "update_item",
        {},
        {
            "TableName": TABLE,
            "Key": {"executionName": {"S": NAME}},
            "UpdateExpression": "SET #status = :status, #endedAt = if_not_exists(#endedAt, :endedAt),"
            " #expiresAt = :expiresAt, #errorType = :errorType, #errorMessage = :errorMessage" + CLOSE,
            "ConditionExpression": TERMINAL_CONDITION,
            "ExpressionAttributeNames": {
                "#executionName": "executionName",
                "#status": "status",
                "#endedAt": "endedAt",
                "#expiresAt": "expiresAt",
                "#errorType": "errorType",
                "#errorMessage": "errorMessage",
                "#openShard": "openShard",
                "#startDeadline": "startDeadline",
            },
            "ExpressionAttributeValues": {
                ":status": {"S": "FAILED"},
                ":running": {"S": "RUNNING"},
                ":endedAt": {"S": "2026-11-29T12:00:02.250000Z"},
                ":expiresAt": {"N": EXPIRES_14_DAYS},
                ":errorType": {"S": "durable_math.InvalidInputError"},
                ":errorMessage": {"S": "num1 must be a number, got str"},
            },
        },
    )

    assert (
        record_outcome(
            client,
            TABLE,
            NAME,
            status="FAILED",
            ended_at=ENDED,
            retention_days=14,
            error_type="durable_math.InvalidInputError",
            error_message="num1 must be a number, got str",
        )
        is Write.RECORDED
    )


def existence_read() -> dict[str, object]:
    return {
        "TableName": TABLE,
        "Key": {"executionName": {"S": NAME}},
        "ProjectionExpression": "executionName",
        "ConsistentRead": True,
    }


def test_outcome_for_a_calculation_that_already_ended_changes_nothing(dynamodb):
    # Given an item whose status is already terminal: DynamoDB refuses the condition
    client, stubber = dynamodb
    stubber.add_client_error("update_item", service_error_code="ConditionalCheckFailedException")
    stubber.add_response("get_item", {"Item": {"executionName": {"S": NAME}}}, existence_read())

    # When the same outcome (or a late one) is recorded, Then it reports that nothing was written
    written = record_outcome(client, TABLE, NAME, status="STOPPED", ended_at=ENDED, retention_days=14)
    assert written is Write.UNCHANGED


def test_outcome_for_a_deleted_calculation_creates_no_item_and_says_so(dynamodb):
    # Given no item (its consumer deleted it): DynamoDB refuses the condition, and the read finds nothing
    client, stubber = dynamodb
    stubber.add_client_error("update_item", service_error_code="ConditionalCheckFailedException")
    stubber.add_response("get_item", {}, existence_read())

    # When a late outcome is recorded
    written = record_outcome(client, TABLE, NAME, status="SUCCEEDED", ended_at=ENDED, retention_days=14)

    # Then nothing was written, and the writer knows there is no item
    assert written is Write.NO_ITEM


def test_outcome_write_errors_other_than_the_condition_propagate(dynamodb):
    client, stubber = dynamodb
    stubber.add_client_error(
        "update_item", service_error_code="ProvisionedThroughputExceededException", http_status_code=400
    )

    with pytest.raises(client.exceptions.ProvisionedThroughputExceededException):
        record_outcome(client, TABLE, NAME, status="SUCCEEDED", ended_at=ENDED, retention_days=14)


def test_outcome_refuses_a_status_that_is_not_an_end(dynamodb):
    client, _ = dynamodb
    with pytest.raises(ValueError, match="not a terminal status: RUNNING"):
        record_outcome(client, TABLE, NAME, status="RUNNING", ended_at=ENDED, retention_days=14)


def running_update() -> dict[str, object]:
    return {
        "TableName": TABLE,
        "Key": {"executionName": {"S": NAME}},
        "UpdateExpression": "SET #executionArn = if_not_exists(#executionArn, :executionArn),"
        " #startedAt = if_not_exists(#startedAt, :startedAt) REMOVE #startDeadline",
        "ConditionExpression": "attribute_exists(#executionName)",
        "ExpressionAttributeNames": {
            "#executionName": "executionName",
            "#executionArn": "executionArn",
            "#startedAt": "startedAt",
            "#startDeadline": "startDeadline",
        },
        "ExpressionAttributeValues": {
            ":executionArn": {"S": ARN},
            ":startedAt": {"S": "2026-11-29T12:00:00.250000Z"},
        },
    }


def test_running_fills_what_is_missing_settles_the_start_and_never_touches_the_status(dynamodb):
    client, stubber = dynamodb
    stubber.add_response("update_item", {}, running_update())

    assert record_running(client, TABLE, NAME, execution_arn=ARN, started_at=STARTED) is Write.RECORDED


def test_running_for_a_deleted_calculation_creates_no_item_and_says_so(dynamodb):
    client, stubber = dynamodb
    stubber.add_client_error(
        "update_item", service_error_code="ConditionalCheckFailedException", expected_params=running_update()
    )

    assert record_running(client, TABLE, NAME, execution_arn=ARN, started_at=STARTED) is Write.NO_ITEM


def test_a_new_item_is_running_with_its_input_as_compact_sorted_json():
    # Given a start's facts, its fields in any order
    started = datetime(2026, 11, 29, 12, 0, 0, tzinfo=UTC)

    # When its item is made, without and with the execution's ARN
    item = new_item("calc-1", "key:k1", "order-42", {"num2": 5, "num1": 10}, started)
    rebuilt = new_item("calc-1", "key:k1", "order-42", {"num2": 5, "num1": 10}, started, "arn:x")

    # Then it is RUNNING, keyed by the execution name, owned, open, and has no expiry yet;
    # without its ARN it must get one within 30 s (2026-11-29T12:00:30Z)
    common = {
        "executionName": {"S": "calc-1"},
        "owner": {"S": "key:k1"},
        "id": {"S": "order-42"},
        "input": {"S": '{"num1":10,"num2":5}'},
        "status": {"S": "RUNNING"},
        "startedAt": {"S": "2026-11-29T12:00:00.000000Z"},
        "openShard": {"S": "5"},
    }
    assert item == {**common, "startDeadline": {"N": "1795953630"}}
    assert rebuilt == {**common, "executionArn": {"S": "arn:x"}}


def test_open_items_spread_evenly_over_the_shards_each_always_in_the_same_one():
    # Given 8,000 execution names, When each is given its shard
    shards = [open_shard(f"calc-{number:032x}") for number in range(8000)]

    # Then each shard takes close to an eighth, and a name always lands in the same shard
    assert OPEN_SHARDS == 8
    assert sorted(set(shards)) == ["0", "1", "2", "3", "4", "5", "6", "7"]
    assert all(900 <= shards.count(shard) <= 1100 for shard in set(shards))
    assert open_shard(NAME) == open_shard(NAME) == "0"


DEADLINE = int(STARTED.timestamp()) + 30


@pytest.mark.parametrize(
    ("record", "seconds_after_start", "visible"),
    [
        (Record(NAME, "RUNNING", start_deadline=DEADLINE), 29, True),
        (Record(NAME, "RUNNING", start_deadline=DEADLINE), 30, False),
        (Record(NAME, "RUNNING", start_deadline=DEADLINE, execution_arn=ARN), 60, True),
        (Record(NAME, "RUNNING"), 3600, True),
        (Record(NAME, "SUCCEEDED", start_deadline=DEADLINE), 60, True),
        (Record(NAME, "SUCCEEDED", expires_at=DEADLINE), 29, True),
        (Record(NAME, "SUCCEEDED", expires_at=DEADLINE), 30, False),
    ],
    ids=[
        "start within its deadline",
        "abandoned start",
        "started late, with its ARN",
        "running with no deadline",
        "ended",
        "ended within retention",
        "ended past retention",
    ],
)
def test_a_record_is_visible_unless_expired_or_an_abandoned_start(record, seconds_after_start, visible):
    now = STARTED.replace(microsecond=0) + timedelta(seconds=seconds_after_start)
    assert record.visible(now) is visible


def test_an_abandoned_start_is_deleted_only_while_it_still_has_no_arn_past_its_deadline(dynamodb):
    client, stubber = dynamodb
    expected = {
        "TableName": TABLE,
        "Key": {"executionName": {"S": NAME}},
        "ConditionExpression": "attribute_not_exists(#executionArn) AND #startDeadline <= :now",
        "ExpressionAttributeNames": {"#executionArn": "executionArn", "#startDeadline": "startDeadline"},
        "ExpressionAttributeValues": {":now": {"N": "1795953631"}},
    }
    stubber.add_response("delete_item", {}, expected)
    stubber.add_client_error(
        "delete_item", service_error_code="ConditionalCheckFailedException", expected_params=expected
    )
    now = datetime(2026, 11, 29, 12, 0, 31, tzinfo=UTC)

    assert forget_abandoned(client, TABLE, NAME, now) is True
    assert forget_abandoned(client, TABLE, NAME, now) is False


def test_a_vanished_execution_is_deleted_only_while_its_item_still_runs_it(dynamodb):
    client, stubber = dynamodb
    stubber.add_response(
        "delete_item",
        {},
        {
            "TableName": TABLE,
            "Key": {"executionName": {"S": NAME}},
            "ConditionExpression": "#executionArn = :executionArn AND #status = :running",
            "ExpressionAttributeNames": {"#executionArn": "executionArn", "#status": "status"},
            "ExpressionAttributeValues": {":executionArn": {"S": ARN}, ":running": {"S": "RUNNING"}},
        },
    )

    assert forget_vanished(client, TABLE, NAME, ARN) is True


def test_open_items_are_read_oldest_first_from_one_shard_of_the_sparse_index(dynamodb):
    client, stubber = dynamodb
    stubber.add_response(
        "query",
        {
            "Items": [
                {
                    "executionName": {"S": NAME},
                    "openShard": {"S": "0"},
                    "startedAt": {"S": "2026-11-29T12:00:00.250000Z"},
                    "status": {"S": "RUNNING"},
                    "startDeadline": {"N": str(DEADLINE)},
                }
            ],
            "LastEvaluatedKey": {"executionName": {"S": NAME}},
        },
        {
            "TableName": TABLE,
            "IndexName": "byOpenShard",
            "KeyConditionExpression": "#openShard = :shard AND #startedAt < :before",
            "ExpressionAttributeNames": {"#openShard": "openShard", "#startedAt": "startedAt"},
            "ExpressionAttributeValues": {
                ":shard": {"S": "0"},
                ":before": {"S": "2026-11-29T12:00:10.000000Z"},
            },
            "ScanIndexForward": True,
        },
    )

    records, last = query_open(client, TABLE, "0", datetime(2026, 11, 29, 12, 0, 10, tzinfo=UTC))

    assert records == [Record(NAME, "RUNNING", started_at=STARTED, start_deadline=DEADLINE)]
    assert last == {"executionName": {"S": NAME}}


def test_a_whole_item_reads_as_a_record():
    item = {
        "executionName": {"S": NAME},
        "owner": {"S": "key:abc123"},
        "id": {"S": "order-42"},
        "input": {"S": '{"num1":10,"num2":0}'},
        "status": {"S": "FAILED"},
        "startedAt": {"S": "2026-11-29T12:00:00.250000Z"},
        "endedAt": {"S": "2026-11-29T12:00:02.250000Z"},
        "executionArn": {"S": ARN},
        "result": {
            "S": '{"error_details":"One or more operations failed","errors":{"Division":"division by zero"}}'
        },
        "expiresAt": {"N": EXPIRES_14_DAYS},
    }

    record = Record.from_item(item)

    assert record == Record(
        execution_name=NAME,
        status="FAILED",
        owner="key:abc123",
        id="order-42",
        input={"num1": 10, "num2": 0},
        started_at=STARTED,
        ended_at=ENDED,
        execution_arn=ARN,
        result={"error_details": "One or more operations failed", "errors": {"Division": "division by zero"}},
        expires_at=1797163202,
    )


def test_an_index_item_reads_with_the_rest_absent():
    item = {
        "executionName": {"S": NAME},
        "owner": {"S": "key:abc123"},
        "startedAt": {"S": "2026-11-29T12:00:00.250000Z"},
        "id": {"S": "order-42"},
        "status": {"S": "RUNNING"},
    }

    record = Record.from_item(item)

    assert (record.id, record.status, record.started_at) == ("order-42", "RUNNING", STARTED)
    assert (record.ended_at, record.result, record.input, record.expires_at) == (None, None, None, None)


@pytest.mark.parametrize(
    ("record", "visible"),
    [
        (None, False),
        (Record(execution_name=NAME, status="RUNNING", owner="key:k1"), True),
        (Record(execution_name=NAME, status="RUNNING", owner="key:k2"), False),
        (Record(execution_name=NAME, status="RUNNING"), False),
        (Record(execution_name=NAME, status="SUCCEEDED", owner="key:k1", expires_at=1797163203), True),
        (Record(execution_name=NAME, status="SUCCEEDED", owner="key:k1", expires_at=1797163202), False),
        (Record(execution_name=NAME, status="SUCCEEDED", owner="key:k1", expires_at=1797163201), False),
    ],
    ids=["none", "own", "another's", "no-owner", "a-second-before-expiry", "at-expiry", "after-expiry"],
)
def test_an_item_is_visible_to_its_owner_until_its_expiry(record, visible):
    # Given it is 2026-12-13T12:00:02Z (epoch 1797163202)
    now = datetime(2026, 12, 13, 12, 0, 2, tzinfo=UTC)

    # Then only the owner sees the item, and not from its expiry second on
    assert is_visible(record, "key:k1", now) is visible


@pytest.mark.parametrize(
    ("document", "status"),
    [
        ({"Add": 15, "Subtract": 5, "Multiply": 50, "Division": 2.0}, "SUCCEEDED"),
        (
            {
                "error_details": "One or more operations failed",
                "errors": {"Division": "division by zero"},
                "Add": 10,
                "Subtract": 10,
                "Multiply": 0,
            },
            "FAILED",
        ),
    ],
)
def test_a_missing_result_is_given_to_a_succeeded_item_with_the_status_it_implies(dynamodb, document, status):
    # Given a SUCCEEDED item without a result, and the document Lambda holds
    client, stubber = dynamodb
    condition = "attribute_exists(#executionName) AND #status = :succeeded AND attribute_not_exists(#result)"
    stubber.add_response(
        "update_item",
        {},
        {
            "TableName": TABLE,
            "Key": {"executionName": {"S": NAME}},
            "UpdateExpression": "SET #result = :result, #status = :status",
            "ConditionExpression": condition,
            "ExpressionAttributeNames": {
                "#executionName": "executionName",
                "#status": "status",
                "#result": "result",
            },
            "ExpressionAttributeValues": {
                ":succeeded": {"S": "SUCCEEDED"},
                ":result": {"S": json.dumps(document, separators=(",", ":"))},
                ":status": {"S": status},
            },
        },
    )

    # When it is recorded, Then the item gets it, FAILED when its operations failed
    assert record_missing_result(client, TABLE, NAME, document) is Write.RECORDED
