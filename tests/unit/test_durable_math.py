"""The durable function on the testing package's in-process runner: real checkpoints, real replays.

The runner skips time: a retry's delay is recorded in the history (and on its virtual clock)
without being slept through, so the retry rules are checked from the history in milliseconds.
"""

import itertools
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from aws_durable_execution_sdk_python.execution import InvocationStatus
from aws_durable_execution_sdk_python.lambda_service import OperationStatus
from aws_durable_execution_sdk_python_testing.execution import Execution
from aws_durable_execution_sdk_python_testing.model import Event
from aws_durable_execution_sdk_python_testing.runner import (
    DurableFunctionTestResult,
    DurableFunctionTestRunner,
    StepOperation,
)
from botocore.stub import Stubber

import arithmetic
import durable_math
from durable_math import execution_name_of, lambda_handler

TEN_FIVE = {"Add": 15, "Subtract": 5, "Multiply": 50, "Division": 2.0}
EXECUTION_NAME = "calc-a3173e7875e4e3e04853931f28b5a537"
FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:math-durable:1"
# The runner's invocation id ends the ARN: the SDK finds the execution's operation by it.
EXECUTION_ARN = f"{FUNCTION_ARN}/durable-execution/{EXECUTION_NAME}/inv-12345678-1234-1234-1234-123456789012"
ENDED_AT = datetime(2026, 11, 29, 12, 0, 2, 250000, tzinfo=UTC)


def strict_json(text: str) -> Any:
    def refuse(constant: str) -> None:
        raise ValueError(f"not JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


@pytest.fixture(autouse=True)
def container(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A fresh container: no table configured, settings and client not yet made."""
    for name in (
        "CALCULATIONS_TABLE_NAME",
        "RETENTION_PERIOD_DAYS",
        "AWS_ENDPOINT_URL_DYNAMODB",
        "AWS_PROFILE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    durable_math.get_settings.cache_clear()
    durable_math.dynamodb_client.cache_clear()
    yield
    durable_math.get_settings.cache_clear()
    durable_math.dynamodb_client.cache_clear()


@pytest.fixture
def table(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stubber]:
    """The Record step configured: a table, executions with Lambda's ARNs, a fixed clock, DynamoDB stubbed."""
    monkeypatch.setenv("CALCULATIONS_TABLE_NAME", "calculations")

    # The testing runner names executions `uuid/uuid`; Lambda's ARNs end /durable-execution/NAME/ID.
    def lambda_shaped(input):
        assert input.execution_name == EXECUTION_NAME
        return Execution(durable_execution_arn=EXECUTION_ARN, start_input=input, operations=[])

    monkeypatch.setattr(Execution, "new", staticmethod(lambda_shaped))

    class FixedClock(datetime):
        @classmethod
        def now(cls, tz=None):
            return ENDED_AT.astimezone(tz)

    monkeypatch.setattr(durable_math, "datetime", FixedClock)
    with Stubber(durable_math.dynamodb_client()) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def run(payload: str) -> DurableFunctionTestResult:
    with DurableFunctionTestRunner(handler=lambda_handler) as runner:
        return runner.run(input=payload, execution_timeout=30, execution_name=EXECUTION_NAME)


def run_with_history(payload: str) -> tuple[DurableFunctionTestResult, list[Event]]:
    with DurableFunctionTestRunner(handler=lambda_handler) as runner:
        arn = runner.run_async(input=payload, execution_timeout=30, execution_name=EXECUTION_NAME)
        result = runner.wait_for_result(execution_arn=arn, timeout=30)
        return result, runner.get_execution_history(arn).events


def step(result: DurableFunctionTestResult, name: str) -> StepOperation:
    """Each operation is a named parallel branch holding one step of the same name."""
    return result.get_context("Calculate").get_context(name).get_step(name)


def step_events(events: list[Event], name: str, *types: str) -> list[Event]:
    return [event for event in events if event.name == name and event.event_type in types]


def attempts(events: list[Event], name: str) -> list[tuple[str, int | None, int | None]]:
    """How each attempt of step `name` ended: its number and the delay before the next (0: none)."""
    ends = step_events(events, name, "StepFailed", "StepSucceeded")
    retries = [(event.step_failed_details or event.step_succeeded_details).retry_details for event in ends]
    return [
        (event.event_type, retry.current_attempt, retry.next_attempt_delay_seconds)
        if retry
        else (event.event_type, None, None)
        for event, retry in zip(ends, retries, strict=True)
    ]


def seconds_between_starts(events: list[Event], name: str) -> list[int]:
    """Whole seconds from each attempt's start to the next one's, on the runner's (skipping) clock."""
    starts = [event.event_timestamp for event in step_events(events, name, "StepStarted")]
    return [int((later - earlier).total_seconds()) for earlier, later in itertools.pairwise(starts)]


def record_update(document_json: str, status: str) -> dict[str, Any]:
    """The UpdateItem the Record step sends for this execution, ended at ENDED_AT, kept 14 days."""
    return {
        "TableName": "calculations",
        "Key": {"executionName": {"S": EXECUTION_NAME}},
        "UpdateExpression": "SET #status = :status, #endedAt = if_not_exists(#endedAt, :endedAt),"
        " #expiresAt = :expiresAt, #endUnconfirmed = :true, #result = :result,"
        " #executionArn = if_not_exists(#executionArn, :executionArn) REMOVE #openShard, #startDeadline",
        "ConditionExpression": "attribute_exists(#executionName) AND #status = :running"
        " AND (attribute_not_exists(#executionArn) OR #executionArn = :executionArn)",
        "ExpressionAttributeNames": {
            "#executionName": "executionName",
            "#status": "status",
            "#endedAt": "endedAt",
            "#expiresAt": "expiresAt",
            "#result": "result",
            "#executionArn": "executionArn",
            "#endUnconfirmed": "endUnconfirmed",
            "#openShard": "openShard",
            "#startDeadline": "startDeadline",
        },
        "ExpressionAttributeValues": {
            ":status": {"S": status},
            ":running": {"S": "RUNNING"},
            ":true": {"BOOL": True},  # the function writes its end before Lambda ends the execution
            ":endedAt": {"S": "2026-11-29T12:00:02.250000Z"},
            ":expiresAt": {"N": "1797163202"},  # 2026-12-13T12:00:02Z
            ":result": {"S": document_json},
            ":executionArn": {"S": EXECUTION_ARN},
        },
    }


def operation_names(result: DurableFunctionTestResult) -> list[str | None]:
    return [operation.name for operation in result.operations]


def test_ten_and_five_returns_the_four_results():
    # Given 10 and 5, When the execution runs
    result = run('{"num1": 10, "num2": 5}')

    # Then it succeeds with exactly the original pattern's document
    assert result.status is InvocationStatus.SUCCEEDED
    assert result.result == '{"Add": 15, "Subtract": 5, "Multiply": 50, "Division": 2.0}'
    for name in ["Add", "Subtract", "Multiply", "Division"]:
        assert step(result, name).status is OperationStatus.SUCCEEDED
        assert step(result, name).attempt == 1


def test_the_apis_calculation_key_in_the_input_is_ignored():
    # Given the input the API sends: the numbers and the calculation's owner and id
    result = run('{"num1": 10, "num2": 5, "calculation": {"owner": "key:abc123", "id": "order-42"}}')

    # Then the result is the one the bare numbers give
    assert result.status is InvocationStatus.SUCCEEDED
    assert result.result == '{"Add": 15, "Subtract": 5, "Multiply": 50, "Division": 2.0}'


def test_division_by_zero_reports_error_details_and_the_other_results():
    # Given a zero divisor
    result = run('{"num1": 10, "num2": 0}')

    # Then the failure document names Division and keeps the other three results
    assert result.status is InvocationStatus.SUCCEEDED
    assert list(strict_json(result.result).items()) == [
        ("error_details", "One or more operations failed"),
        ("errors", {"Division": "division by zero"}),
        ("Add", 10),
        ("Subtract", 10),
        ("Multiply", 0),
    ]
    # And Division has no retries: it ran exactly once
    division = step(result, "Division")
    assert division.status is OperationStatus.FAILED
    assert division.attempt == 1
    assert division.error.type == "ZeroDivisionError"


def test_empty_input_defaults_both_numbers_to_zero():
    result = run("{}")

    assert strict_json(result.result) == {
        "error_details": "One or more operations failed",
        "errors": {"Division": "division by zero"},
        "Add": 0,
        "Subtract": 0,
        "Multiply": 0,
    }


def test_transient_failure_in_add_is_retried_and_succeeds(monkeypatch):
    # Given an Add that fails once with a transient error, then works
    calls = []

    def flaky_add(num1, num2):
        calls.append((num1, num2))
        if len(calls) == 1:
            raise ConnectionError("temporarily unavailable")
        return num1 + num2

    monkeypatch.setitem(arithmetic.OPERATIONS, "Add", flaky_add)

    # When the execution runs
    result, events = run_with_history('{"num1": 10, "num2": 5}')

    # Then Add succeeded on its second attempt, 1 s after the first, and the document is complete
    assert result.status is InvocationStatus.SUCCEEDED
    assert strict_json(result.result) == TEN_FIVE
    assert step(result, "Add").attempt == 2
    assert attempts(events, "Add") == [("StepFailed", 1, 1), ("StepSucceeded", None, None)]
    assert seconds_between_starts(events, "Add") == [1]
    assert len(calls) == 2


@pytest.mark.parametrize("name", ["Add", "Subtract", "Multiply"])
def test_a_transient_error_is_tried_three_times_one_then_two_seconds_apart(monkeypatch, name):
    # Given an operation whose every attempt meets a transient error
    def always_down(num1, num2):
        raise ConnectionError("still unavailable")

    monkeypatch.setitem(arithmetic.OPERATIONS, name, always_down)

    # When the execution runs
    result, events = run_with_history('{"num1": 10, "num2": 5}')

    # Then the history shows three attempts, the second 1 s after the first, the third 2 s later
    assert attempts(events, name) == [("StepFailed", 1, 1), ("StepFailed", 2, 2), ("StepFailed", 3, 0)]
    assert seconds_between_starts(events, name) == [1, 2]
    assert step(result, name).attempt == 3
    # And the operation's failure is reported beside the other results
    assert strict_json(result.result)["errors"] == {name: "still unavailable"}


def test_division_is_never_retried_even_on_a_transient_error(monkeypatch):
    # Given a Division that meets a transient error
    def always_down(num1, num2):
        raise ConnectionError("still unavailable")

    monkeypatch.setitem(arithmetic.OPERATIONS, "Division", always_down)

    # When the execution runs
    result, events = run_with_history('{"num1": 10, "num2": 5}')

    # Then Division ran once and failed, with no retry scheduled
    assert attempts(events, "Division") == [("StepFailed", 1, 0)]
    assert step(result, "Division").attempt == 1
    assert strict_json(result.result)["errors"] == {"Division": "still unavailable"}


def test_overflowing_multiply_fails_once_and_output_stays_valid_json():
    # Given numbers whose product overflows a float
    result = run('{"num1": 1e308, "num2": 10}')

    # Then Multiply fails without a retry, and the document is strict JSON
    document = strict_json(result.result)
    assert document["error_details"] == "One or more operations failed"
    assert document["errors"] == {"Multiply": "result is not a finite number: inf"}
    assert document["Add"] == 1e308
    assert document["Division"] == 1e307
    assert step(result, "Multiply").attempt == 1


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ('{"num1": "10", "num2": 5}', "num1 must be a number, got str"),
        ('{"num1": 10, "num2": true}', "num2 must be a number, got bool"),
        ('{"num1": null}', "num1 must be a number, got NoneType"),
        ('{"num1": [1]}', "num1 must be a number, got list"),
        ('{"num1": 1, "num2": NaN}', "num2 must be a finite number, got nan"),
        ('{"num1": 1e400}', "num1 must be a finite number, got inf"),
        ('{"num2": 1' + "0" * 400 + "}", "num2 must be a finite number, got an integer beyond 1.8e308"),
        ("[10, 5]", "input must be a JSON object, got list"),
    ],
)
def test_bad_input_fails_at_once_naming_the_field(payload, message):
    # Given input that is not two finite numbers, When the execution runs
    result = run(payload)

    # Then it fails with a clear message, and no operation ran
    assert result.status is InvocationStatus.FAILED
    assert result.error.message == message
    assert result.error.type == "durable_math.InvalidInputError"
    assert result.operations == []


def test_without_a_table_there_is_no_record_step():
    # Given CALCULATIONS_TABLE_NAME unset (the bare function), When the execution runs
    result = run('{"num1": 10, "num2": 5}')

    # Then its history holds the calculation only
    assert result.status is InvocationStatus.SUCCEEDED
    assert operation_names(result) == ["Calculate"]


def test_record_step_writes_the_result_document_to_the_table(table):
    # Given a table: the write DynamoDB must receive for this execution
    table.add_response(
        "update_item", {}, record_update('{"Add":15,"Subtract":5,"Multiply":50,"Division":2.0}', "SUCCEEDED")
    )

    # When the execution runs
    result = run('{"num1": 10, "num2": 5}')

    # Then the last named step, Record, made that write once, and the result is unchanged
    assert result.status is InvocationStatus.SUCCEEDED
    assert result.result == '{"Add": 15, "Subtract": 5, "Multiply": 50, "Division": 2.0}'
    assert operation_names(result) == ["Calculate", "Record"]
    assert result.get_step("Record").status is OperationStatus.SUCCEEDED
    assert result.get_step("Record").attempt == 1


def test_record_step_records_failed_operations_as_a_failed_calculation(table):
    table.add_response(
        "update_item",
        {},
        record_update(
            '{"error_details":"One or more operations failed","errors":{"Division":"division by zero"},'
            '"Add":10,"Subtract":10,"Multiply":0}',
            "FAILED",
        ),
    )

    result = run('{"num1": 10, "num2": 0}')

    assert result.status is InvocationStatus.SUCCEEDED
    assert result.get_step("Record").status is OperationStatus.SUCCEEDED


def test_retention_comes_from_retention_period_days(table, monkeypatch):
    # Given a 1-day retention: the item expires at 2026-11-30T12:00:02Z
    monkeypatch.setenv("RETENTION_PERIOD_DAYS", "1")
    expected = record_update('{"Add":15,"Subtract":5,"Multiply":50,"Division":2.0}', "SUCCEEDED")
    expected["ExpressionAttributeValues"][":expiresAt"] = {"N": "1796040002"}
    table.add_response("update_item", {}, expected)

    result = run('{"num1": 10, "num2": 5}')

    assert result.get_step("Record").status is OperationStatus.SUCCEEDED


def existence_read() -> dict[str, Any]:
    return {
        "TableName": "calculations",
        "Key": {"executionName": {"S": EXECUTION_NAME}},
        "ProjectionExpression": "executionName",
        "ConsistentRead": True,
    }


def test_an_already_recorded_result_is_not_an_error(table):
    # Given an item that already holds a terminal status (the step's write retried after success)
    table.add_client_error("update_item", service_error_code="ConditionalCheckFailedException")
    table.add_response("get_item", {"Item": {"executionName": {"S": EXECUTION_NAME}}}, existence_read())

    result = run('{"num1": 10, "num2": 5}')

    assert result.status is InvocationStatus.SUCCEEDED
    assert result.get_step("Record").status is OperationStatus.SUCCEEDED
    assert result.get_step("Record").result == '"unchanged"'


def test_a_deleted_calculation_is_not_written_back(table):
    # Given no item for the execution (its consumer deleted it, or it was started outside the API)
    table.add_client_error("update_item", service_error_code="ConditionalCheckFailedException")
    table.add_response("get_item", {}, existence_read())

    # When the execution runs
    result = run('{"num1": 10, "num2": 5}')

    # Then Record writes nothing, succeeds without retrying, and says there was no item
    assert result.status is InvocationStatus.SUCCEEDED
    assert result.get_step("Record").status is OperationStatus.SUCCEEDED
    assert result.get_step("Record").attempt == 1
    assert result.get_step("Record").result == '"no item"'


def test_a_failing_table_write_is_retried_then_leaves_the_calculation_succeeded(table):
    # Given a table that refuses every write
    for _ in range(3):
        table.add_client_error("update_item", service_error_code="InternalServerError", http_status_code=500)

    # When the execution runs
    result, events = run_with_history('{"num1": 10, "num2": 5}')

    # Then Record tried three times (1 s, then 2 s apart) and failed
    assert attempts(events, "Record") == [("StepFailed", 1, 1), ("StepFailed", 2, 2), ("StepFailed", 3, 0)]
    assert result.get_step("Record").status is OperationStatus.FAILED
    # And the calculation still succeeded with its result (the projector reads it from Lambda)
    assert result.status is InvocationStatus.SUCCEEDED
    assert result.result == '{"Add": 15, "Subtract": 5, "Multiply": 50, "Division": 2.0}'


@pytest.mark.parametrize("days", ["0", "91", "1.5", "two weeks", ""])
def test_a_retention_that_is_not_1_to_90_days_fails_the_execution_clearly(monkeypatch, days):
    monkeypatch.setenv("CALCULATIONS_TABLE_NAME", "calculations")
    monkeypatch.setenv("RETENTION_PERIOD_DAYS", days)

    result = run('{"num1": 10, "num2": 5}')

    assert result.status is InvocationStatus.FAILED
    assert result.error.message == f"RETENTION_PERIOD_DAYS must be a whole number from 1 to 90, got {days!r}"


def test_the_execution_name_is_read_from_the_arn():
    assert execution_name_of(EXECUTION_ARN) == EXECUTION_NAME
    with pytest.raises(ValueError, match="not a durable execution ARN"):
        execution_name_of("04dadb69-2412-4c38-828c-0099935729e6/inv-1")
