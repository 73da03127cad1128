"""The durable function on the testing package's in-process runner: real checkpoints, real replays."""

import pytest
from aws_durable_execution_sdk_python.execution import InvocationStatus
from aws_durable_execution_sdk_python.lambda_service import OperationStatus
from aws_durable_execution_sdk_python_testing.runner import (
    DurableFunctionTestResult,
    DurableFunctionTestRunner,
    StepOperation,
)

import durable_math
from durable_math import lambda_handler
from events import TEN_FIVE, TEN_ZERO, ZEROS, strict_json

OPERATION_NAMES = ["Add", "Subtract", "Multiply", "Division"]


def run(payload: str) -> DurableFunctionTestResult:
    with DurableFunctionTestRunner(handler=lambda_handler) as runner:
        return runner.run(input=payload, execution_timeout=30)


def step(result: DurableFunctionTestResult, name: str) -> StepOperation:
    """Each operation is a named parallel branch holding one step of the same name."""
    return result.get_context("Calculate").get_context(name).get_step(name)


def test_ten_and_five_returns_the_four_results():
    # Given 10 and 5, When the execution runs
    result = run('{"num1": 10, "num2": 5}')

    # Then it succeeds with exactly the original pattern's document
    assert result.status is InvocationStatus.SUCCEEDED
    assert result.result == '{"Add": 15, "Subtract": 5, "Multiply": 50, "Division": 2.0}'
    for name in OPERATION_NAMES:
        assert step(result, name).status is OperationStatus.SUCCEEDED
        assert step(result, name).attempt == 1


def test_division_by_zero_reports_error_details_and_the_other_results():
    # Given a zero divisor
    result = run('{"num1": 10, "num2": 0}')

    # Then the failure document names Division and keeps the other three results
    assert result.status is InvocationStatus.SUCCEEDED
    assert strict_json(result.result) == TEN_ZERO
    # And Division has no retries: it ran exactly once
    division = step(result, "Division")
    assert division.status is OperationStatus.FAILED
    assert division.attempt == 1
    assert division.error.type == "ZeroDivisionError"


def test_empty_input_defaults_both_numbers_to_zero():
    result = run("{}")

    assert strict_json(result.result) == ZEROS


def test_transient_failure_in_add_is_retried_and_succeeds(monkeypatch):
    # Given an Add that fails once with a transient error, then works
    calls = []

    def flaky_add(num1, num2):
        calls.append((num1, num2))
        if len(calls) == 1:
            raise ConnectionError("temporarily unavailable")
        return num1 + num2

    monkeypatch.setitem(durable_math.OPERATIONS, "Add", flaky_add)

    # When the execution runs
    result = run('{"num1": 10, "num2": 5}')

    # Then Add succeeded on its second attempt and the document is complete
    assert result.status is InvocationStatus.SUCCEEDED
    assert strict_json(result.result) == TEN_FIVE
    add_step = step(result, "Add")
    assert add_step.status is OperationStatus.SUCCEEDED
    assert add_step.attempt == 2
    assert len(calls) == 2


def test_transient_failures_stop_after_three_attempts(monkeypatch):
    def always_down(num1, num2):
        raise ConnectionError("still unavailable")

    monkeypatch.setitem(durable_math.OPERATIONS, "Subtract", always_down)

    result = run('{"num1": 10, "num2": 5}')

    document = strict_json(result.result)
    assert document["errors"] == {"Subtract": "still unavailable"}
    assert step(result, "Subtract").status is OperationStatus.FAILED
    assert step(result, "Subtract").attempt == 3


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
