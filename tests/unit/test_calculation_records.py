"""The calculations table's item format and conditional writes, on a stubbed DynamoDB client."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import boto3
import pytest
from botocore.stub import Stubber

from calculation_records import (
    Record,
    expires_at,
    format_time,
    is_visible,
    new_item,
    parse_time,
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
TERMINAL_CONDITION = "attribute_not_exists(#status) OR #status = :running"


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
            " #startedAt = if_not_exists(#startedAt, :startedAt)",
            "ConditionExpression": TERMINAL_CONDITION,
            "ExpressionAttributeNames": {
                "#status": "status",
                "#endedAt": "endedAt",
                "#expiresAt": "expiresAt",
                "#result": "result",
                "#executionArn": "executionArn",
                "#startedAt": "startedAt",
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

    assert recorded is True


def test_outcome_with_an_error_sets_only_the_given_fields(dynamodb):
    client, stubber = dynamodb
    stubber.add_response(
        "update_item",
        {},
        {
            "TableName": TABLE,
            "Key": {"executionName": {"S": NAME}},
            "UpdateExpression": "SET #status = :status, #endedAt = if_not_exists(#endedAt, :endedAt),"
            " #expiresAt = :expiresAt, #errorType = :errorType, #errorMessage = :errorMessage",
            "ConditionExpression": TERMINAL_CONDITION,
            "ExpressionAttributeNames": {
                "#status": "status",
                "#endedAt": "endedAt",
                "#expiresAt": "expiresAt",
                "#errorType": "errorType",
                "#errorMessage": "errorMessage",
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

    assert record_outcome(
        client,
        TABLE,
        NAME,
        status="FAILED",
        ended_at=ENDED,
        retention_days=14,
        error_type="durable_math.InvalidInputError",
        error_message="num1 must be a number, got str",
    )


def test_outcome_for_a_calculation_that_already_ended_changes_nothing(dynamodb):
    # Given an item whose status is already terminal: DynamoDB refuses the condition
    client, stubber = dynamodb
    stubber.add_client_error("update_item", service_error_code="ConditionalCheckFailedException")

    # When the same outcome (or a late one) is recorded, Then it reports that nothing was written
    assert record_outcome(client, TABLE, NAME, status="STOPPED", ended_at=ENDED, retention_days=14) is False


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


def test_running_fills_what_is_missing_and_never_replaces_a_status(dynamodb):
    client, stubber = dynamodb
    stubber.add_response(
        "update_item",
        {},
        {
            "TableName": TABLE,
            "Key": {"executionName": {"S": NAME}},
            "UpdateExpression": "SET #executionArn = if_not_exists(#executionArn, :executionArn),"
            " #startedAt = if_not_exists(#startedAt, :startedAt),"
            " #status = if_not_exists(#status, :running)",
            "ExpressionAttributeNames": {
                "#executionArn": "executionArn",
                "#startedAt": "startedAt",
                "#status": "status",
            },
            "ExpressionAttributeValues": {
                ":executionArn": {"S": ARN},
                ":startedAt": {"S": "2026-11-29T12:00:00.250000Z"},
                ":running": {"S": "RUNNING"},
            },
        },
    )

    record_running(client, TABLE, NAME, execution_arn=ARN, started_at=STARTED)


def test_a_new_item_is_running_with_its_input_as_compact_sorted_json():
    # Given a start's facts, its fields in any order
    started = datetime(2026, 11, 29, 12, 0, 0, tzinfo=UTC)

    # When its item is made, without and with the execution's ARN
    item = new_item("calc-1", "key:k1", "order-42", {"num2": 5, "num1": 10}, started)
    rebuilt = new_item("calc-1", "key:k1", "order-42", {"num2": 5, "num1": 10}, started, "arn:x")

    # Then it is RUNNING, keyed by the execution name, owned, and has no expiry yet
    assert item == {
        "executionName": {"S": "calc-1"},
        "owner": {"S": "key:k1"},
        "id": {"S": "order-42"},
        "input": {"S": '{"num1":10,"num2":5}'},
        "status": {"S": "RUNNING"},
        "startedAt": {"S": "2026-11-29T12:00:00.000000Z"},
    }
    assert rebuilt == {**item, "executionArn": {"S": "arn:x"}}


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
