"""The status projector on stubbed DynamoDB and Lambda: every event, in any order, any number of times."""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from botocore.stub import Stubber

import status_projector
import webhook_trigger
from settings_reader import SettingsError

NAME = "calc-a3173e7875e4e3e04853931f28b5a537"
ARN = f"arn:aws:lambda:us-east-1:123456789012:function:math-durable:1/durable-execution/{NAME}/7d3e"
STARTED = "2026-11-29T12:00:00.250Z"
ENDED = "2026-11-29T12:00:02.250Z"
# ENDED + 14 days (RETENTION_PERIOD_DAYS unset): 2026-12-13T12:00:02Z
EXPIRES = "1797163202"
DOCUMENT = '{"Add":15,"Subtract":5,"Multiply":50,"Division":2.0}'
FAILED_DOCUMENT = (
    '{"error_details":"One or more operations failed","errors":{"Division":"division by zero"},'
    '"Add":10,"Subtract":10,"Multiply":0}'
)


@dataclass
class LambdaContext:
    function_name: str = "status-projector"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:status-projector"
    aws_request_id: str = "b1e7c0de-0000-4000-8000-000000000001"


def status_change(status: str, name: str = NAME) -> dict[str, Any]:
    """The EventBridge event Lambda sends when an execution changes status."""
    detail = {
        "durableExecutionArn": ARN,
        "durableExecutionName": name,
        "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:math-durable:1",
        "status": status,
        "startTimestamp": STARTED,
    }
    if status != "RUNNING":
        detail["endTimestamp"] = ENDED
    return {
        "version": "0",
        "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "source": "aws.lambda",
        "detail-type": "Durable Execution Status Change",
        "account": "123456789012",
        "region": "us-east-1",
        "time": "2026-11-29T12:00:03Z",
        "resources": [],
        "detail": detail,
    }


def project(event: dict[str, Any]) -> None:
    status_projector.lambda_handler(event, LambdaContext())


@pytest.fixture(autouse=True)
def container(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A fresh container with the projector's settings; clients made on first use."""
    monkeypatch.setenv("CALCULATIONS_TABLE_NAME", "calculations")
    monkeypatch.delenv("RETENTION_PERIOD_DAYS", raising=False)
    for name in ("AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_LAMBDA", "AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    caches = (status_projector.get_settings, status_projector.dynamodb_client, status_projector.lambda_client)
    for cached in caches:
        cached.cache_clear()
    yield
    for cached in caches:
        cached.cache_clear()


@pytest.fixture
def table() -> Iterator[Stubber]:
    with Stubber(status_projector.dynamodb_client()) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


@pytest.fixture
def lambda_() -> Iterator[Stubber]:
    """With nothing queued, any Lambda call fails the test."""
    with Stubber(status_projector.lambda_client()) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def running_update() -> dict[str, Any]:
    return {
        "TableName": "calculations",
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


def outcome_update(status: str, result: str | None = None) -> dict[str, Any]:
    result_set = " #result = :result," if result else ""
    # A stop or a time-out is Lambda's word: it also ends what the Record step wrote a moment before.
    outside = status in ("STOPPED", "TIMED_OUT")
    ended = "#endedAt = :endedAt" if outside else "#endedAt = if_not_exists(#endedAt, :endedAt)"
    running = "(#status = :running OR #endUnconfirmed = :true)" if outside else "#status = :running"
    names = {"#status": "status", "#endedAt": "endedAt", "#expiresAt": "expiresAt"}
    values = {
        ":status": {"S": status},
        ":running": {"S": "RUNNING"},
        **({":true": {"BOOL": True}} if outside else {}),
        ":endedAt": {"S": "2026-11-29T12:00:02.250000Z"},
        ":expiresAt": {"N": EXPIRES},
        ":executionArn": {"S": ARN},
        ":startedAt": {"S": "2026-11-29T12:00:00.250000Z"},
    }
    if result:
        names["#result"] = "result"
        values[":result"] = {"S": result}
    names |= {
        "#executionArn": "executionArn",
        "#startedAt": "startedAt",
        "#executionName": "executionName",
        "#openShard": "openShard",
        "#startDeadline": "startDeadline",
    }
    if outside:
        names |= {"#endUnconfirmed": "endUnconfirmed", "#result": "result"}
    return {
        "TableName": "calculations",
        "Key": {"executionName": {"S": NAME}},
        "UpdateExpression": f"SET #status = :status, {ended},"
        f" #expiresAt = :expiresAt,{result_set}"
        " #executionArn = if_not_exists(#executionArn, :executionArn),"
        " #startedAt = if_not_exists(#startedAt, :startedAt) REMOVE #openShard, #startDeadline"
        + (", #endUnconfirmed, #result" if outside else ""),
        "ConditionExpression": f"attribute_exists(#executionName) AND {running}"
        " AND (attribute_not_exists(#executionArn) OR #executionArn = :executionArn)",
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
    }


def item_read() -> dict[str, Any]:
    return {"TableName": "calculations", "Key": {"executionName": {"S": NAME}}, "ConsistentRead": True}


def existence_read() -> dict[str, Any]:
    """The one read a refused status write makes: is there an item at all?"""
    return {
        "TableName": "calculations",
        "Key": {"executionName": {"S": NAME}},
        "ProjectionExpression": "executionName",
        "ConsistentRead": True,
    }


def logged_messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == "status-projector"]


def item_with(status: str) -> dict[str, Any]:
    return {"Item": {"executionName": {"S": NAME}, "status": {"S": status}}}


def execution_read() -> dict[str, Any]:
    return {"DurableExecutionArn": ARN, "IncludeExecutionData": True}


def execution(result: str) -> dict[str, Any]:
    return {
        "DurableExecutionArn": ARN,
        "DurableExecutionName": NAME,
        "FunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:math-durable:1",
        "Status": "SUCCEEDED",
        "StartTimestamp": "2026-11-29T12:00:00.250Z",
        "EndTimestamp": "2026-11-29T12:00:02.250Z",
        "Result": result,
    }


def test_running_records_the_arn_and_start_without_replacing_any_status(table, lambda_):
    # Given a RUNNING event, Then one update, conditioned on the item existing, fills only what is missing
    table.add_response("update_item", {}, running_update())

    project(status_change("RUNNING"))


@pytest.mark.parametrize("status", ["FAILED", "TIMED_OUT", "STOPPED"])
def test_an_end_without_a_result_records_the_status_and_end_time(table, lambda_, status):
    # Given an execution that failed, timed out or was stopped: the event carries no result
    table.add_response("update_item", {}, outcome_update(status))

    # When the event arrives, Then that status is recorded with the end time, and Lambda is not called
    project(status_change(status))


def test_succeeded_after_the_record_step_changes_nothing(table, lambda_):
    # Given an item the Record step has already ended (result and status written)
    table.add_response("get_item", item_with("SUCCEEDED"), item_read())

    # When SUCCEEDED arrives, Then the projector reads the item once and neither writes nor calls Lambda
    project(status_change("SUCCEEDED"))


def test_succeeded_after_the_record_step_reads_the_item_once_for_the_webhooks_too(
    table, lambda_, monkeypatch
):
    # Given a stack with webhooks, and an item the Record step has ended, whose owner has no endpoint
    monkeypatch.setenv("WEBHOOKS_TABLE_NAME", "webhooks")
    monkeypatch.setenv("WEBHOOK_FUNCTION_NAME", "webhook-delivery:live")
    webhook_trigger.get_settings.cache_clear()
    webhook_trigger.dynamodb_client.cache_clear()
    ended = item_with("SUCCEEDED")["Item"] | {
        "owner": {"S": "key:k1"},
        "id": {"S": "c0ffee"},
        "startedAt": {"S": "2026-11-29T12:00:00.250000Z"},
        "endedAt": {"S": "2026-11-29T12:00:02.250000Z"},
        "result": {"S": DOCUMENT},
    }
    table.add_response("get_item", {"Item": ended}, item_read())
    endpoints_query = {
        "TableName": "webhooks",
        "KeyConditionExpression": "pk = :pk AND begins_with(sk, :kind)",
        "ExpressionAttributeValues": {":pk": {"S": "owner#key:k1"}, ":kind": {"S": "endpoint#"}},
        "ConsistentRead": True,
    }
    try:
        with Stubber(webhook_trigger.dynamodb_client()) as webhooks_table:
            # Then the deliveries' side reads only the owner's endpoints, not the item again
            webhooks_table.add_response("query", {"Items": [], "Count": 0}, endpoints_query)

            # When SUCCEEDED arrives
            project(status_change("SUCCEEDED"))

            webhooks_table.assert_no_pending_responses()
    finally:
        webhook_trigger.get_settings.cache_clear()
        webhook_trigger.dynamodb_client.cache_clear()


@pytest.mark.parametrize(
    ("result", "status"),
    [(DOCUMENT, "SUCCEEDED"), (FAILED_DOCUMENT, "FAILED")],
    ids=["document", "error_details"],
)
def test_succeeded_without_a_recorded_result_reads_it_from_lambda_once(table, lambda_, result, status):
    # Given a still-RUNNING item (the Record step disabled or failed)
    table.add_response("get_item", item_with("RUNNING"), item_read())
    lambda_.add_response("get_durable_execution", execution(result), execution_read())
    # Then the result from Lambda is recorded, with the calculation's status (FAILED for error_details)
    table.add_response("update_item", {}, outcome_update(status, result))

    project(status_change("SUCCEEDED"))


def test_a_duplicate_end_changes_nothing(table, lambda_):
    # Given the same FAILED event twice: the second finds the item ended and the condition fails
    table.add_response("update_item", {}, outcome_update("FAILED"))
    table.add_client_error("update_item", service_error_code="ConditionalCheckFailedException")
    table.add_response("get_item", {"Item": {"executionName": {"S": NAME}}}, existence_read())

    # When both arrive, Then neither raises (nothing to retry)
    project(status_change("FAILED"))
    project(status_change("FAILED"))


def test_a_duplicate_succeeded_reads_lambda_at_most_once(table, lambda_):
    table.add_response("get_item", item_with("RUNNING"), item_read())
    lambda_.add_response("get_durable_execution", execution(DOCUMENT), execution_read())
    table.add_response("update_item", {}, outcome_update("SUCCEEDED", DOCUMENT))
    table.add_response("get_item", item_with("SUCCEEDED"), item_read())

    project(status_change("SUCCEEDED"))
    project(status_change("SUCCEEDED"))


def test_running_after_the_end_leaves_the_end_in_place(table, lambda_):
    # Given the end first, then a late RUNNING (EventBridge keeps no order)
    table.add_response("update_item", {}, outcome_update("STOPPED"))
    # Then the RUNNING write sets the status only where there is none: never over STOPPED
    table.add_response("update_item", {}, running_update())

    project(status_change("STOPPED"))
    project(status_change("RUNNING"))


def test_a_late_running_after_delete_creates_no_item_and_is_not_retried(table, lambda_, caplog):
    # Given a deleted calculation: the update's condition finds no item
    table.add_client_error(
        "update_item", service_error_code="ConditionalCheckFailedException", expected_params=running_update()
    )

    # When its RUNNING event arrives late, Then nothing is written, nothing raises, and it is logged
    project(status_change("RUNNING"))
    assert logged_messages(caplog) == ["no calculation item"]


@pytest.mark.parametrize("status", ["FAILED", "TIMED_OUT", "STOPPED"])
def test_a_late_end_after_delete_creates_no_item_and_is_not_retried(table, lambda_, caplog, status):
    table.add_client_error(
        "update_item",
        service_error_code="ConditionalCheckFailedException",
        expected_params=outcome_update(status),
    )
    table.add_response("get_item", {}, existence_read())

    project(status_change(status))
    assert logged_messages(caplog) == ["no calculation item"]


def test_succeeded_without_an_item_neither_reads_lambda_nor_writes(table, lambda_, caplog):
    # Given no item: deleted, or an execution started outside the API (`aws lambda invoke` with a name)
    table.add_response("get_item", {}, item_read())

    # When SUCCEEDED arrives, Then one read, no Lambda call (the stub refuses any), no write
    project(status_change("SUCCEEDED"))
    assert logged_messages(caplog) == ["no calculation item"]


def test_succeeded_of_another_execution_of_the_name_neither_reads_lambda_nor_writes(table, lambda_, caplog):
    # Given the item of a new run of a deleted calculation's id: RUNNING, with its own execution's ARN
    running_again = item_with("RUNNING")
    running_again["Item"]["executionArn"] = {"S": ARN.replace("/7d3e", "/9f00")}
    table.add_response("get_item", running_again, item_read())

    # When the deleted run's SUCCEEDED arrives late, Then it is logged and nothing else happens
    project(status_change("SUCCEEDED"))
    assert logged_messages(caplog) == ["event of another execution"]


def test_a_failed_write_raises_so_the_event_is_retried(table, lambda_):
    table.add_client_error("update_item", service_error_code="InternalServerError", http_status_code=500)

    with pytest.raises(status_projector.dynamodb_client().exceptions.InternalServerError):
        project(status_change("TIMED_OUT"))


def test_a_failed_lambda_read_raises_so_the_event_is_retried(table, lambda_):
    table.add_response("get_item", item_with("RUNNING"), item_read())
    lambda_.add_client_error(
        "get_durable_execution", service_error_code="TooManyRequestsException", http_status_code=429
    )

    with pytest.raises(status_projector.lambda_client().exceptions.TooManyRequestsException):
        project(status_change("SUCCEEDED"))


def test_retention_period_days_sets_when_the_item_expires(table, lambda_, monkeypatch):
    # Given a 1-day retention: the item expires at 2026-11-30T12:00:02Z
    monkeypatch.setenv("RETENTION_PERIOD_DAYS", "1")
    expected = outcome_update("FAILED")
    expected["ExpressionAttributeValues"][":expiresAt"] = {"N": "1796040002"}
    table.add_response("update_item", {}, expected)

    project(status_change("FAILED"))


def test_an_event_that_is_not_a_status_change_is_refused(table, lambda_):
    event = status_change("RUNNING")
    del event["detail"]["durableExecutionName"]

    with pytest.raises(ValueError, match="durableExecutionName"):
        project(event)


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"CALCULATIONS_TABLE_NAME": None}, "CALCULATIONS_TABLE_NAME is required"),
        ({"RETENTION_PERIOD_DAYS": "0"}, "RETENTION_PERIOD_DAYS must be a whole number from 1 to 90"),
    ],
)
def test_missing_or_invalid_settings_fail_loudly(monkeypatch, variables, message):
    for name, value in variables.items():
        if value is None:
            monkeypatch.delenv(name)
        else:
            monkeypatch.setenv(name, value)

    with pytest.raises(SettingsError, match=message):
        project(status_change("RUNNING"))
