"""`make repair` (scripts/repair_table.py) against the local runtime: a lost item is rebuilt whole
from Lambda, a lost end is recorded, and a dry run only reports."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from api_helpers import TEN_AND_ZERO, consumer, url
from runtime_process import REPO_ROOT, child_environment, function_path
from test_local_table import TABLE, dynamodb

REPAIR = [sys.executable, "-m", "scripts.repair_table", "--function-name", "math-durable", "--table", TABLE]


@pytest.fixture
def stack(needs_local):
    """The session runtime's API (first consumer), its table, and a way to run the repair command."""
    runtime = needs_local
    api = consumer(runtime.api_url, runtime.api_key())
    table = dynamodb(runtime.urls["DynamoDB"])

    # Only executions started by the test itself: the session's table holds other tests' too.
    since = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()

    def repair(*args: str) -> str:
        environment = child_environment() | {
            "AWS_ENDPOINT_URL_LAMBDA": runtime.lambda_url,
            "AWS_ENDPOINT_URL_DYNAMODB": runtime.urls["DynamoDB"],
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "PYTHONPATH": function_path(),
        }
        completed = subprocess.run(
            [*REPAIR, "--since", since, *args],
            cwd=REPO_ROOT,
            env=environment,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert completed.returncode == 0, completed.stderr
        return completed.stdout

    return api, table, repair


def ended_calculation(api, calculation_id: str, body: dict | None = None) -> dict:
    response = api.post(
        url(api, "/calculations"),
        json=body or {"num1": 10, "num2": 5},
        headers={"Idempotency-Key": calculation_id, "Prefer": "wait=10"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return response.json()


def item_of(table, calculation: dict) -> tuple[str, dict]:
    """The calculation's execution name and its item, found through the owner index."""
    items = table.scan(
        TableName=TABLE,
        FilterExpression="id = :id",
        ExpressionAttributeValues={":id": {"S": calculation["id"]}},
    )["Items"]
    assert len(items) == 1, items
    return items[0]["executionName"]["S"], items[0]


def test_a_lost_item_is_rebuilt_whole_from_the_execution(stack):
    # Given an ended calculation whose table item is lost (a table restored from an older backup)
    api, table, repair = stack
    calculation = ended_calculation(api, "repair-lost-item")
    name, before = item_of(table, calculation)
    table.delete_item(TableName=TABLE, Key={"executionName": {"S": name}})
    assert api.get(url(api, "/calculations/repair-lost-item"), timeout=30).status_code == 404

    # When the repair command runs
    output = repair()

    # Then the item is back as it was, owner and id included, and the API finds the calculation again
    assert "rebuilt: 1" in output
    _, after = item_of(table, calculation)
    for attribute in ("owner", "id", "input", "status", "executionArn", "result"):
        assert after[attribute] == before[attribute], attribute
    answer = api.get(url(api, "/calculations/repair-lost-item"), timeout=30)
    assert answer.status_code == 200
    assert answer.json()["result"] == {"Add": 15, "Subtract": 5, "Multiply": 50, "Division": 2.0}


def test_a_lost_end_is_recorded_and_a_dry_run_changes_nothing(stack):
    # Given an ended calculation whose item still says RUNNING without a result (lost events)
    api, table, repair = stack
    calculation = ended_calculation(api, "repair-lost-end")
    name, _ = item_of(table, calculation)
    table.update_item(
        TableName=TABLE,
        Key={"executionName": {"S": name}},
        UpdateExpression="SET #status = :running REMOVE #result, endedAt",
        ExpressionAttributeNames={"#status": "status", "#result": "result"},
        ExpressionAttributeValues={":running": {"S": "RUNNING"}},
    )

    # When a dry run comes first, then the repair itself
    dry = repair("--dry-run")
    still = api.get(url(api, "/calculations/repair-lost-end"), timeout=30).json()
    output = repair()

    # Then the dry run only reported it, and the repair recorded the end and the result
    assert "would repair: 1" in dry
    assert still["status"] == "RUNNING"
    assert "repaired: 1" in output
    answer = api.get(url(api, "/calculations/repair-lost-end"), timeout=30).json()
    assert answer["status"] == "SUCCEEDED"
    assert answer["result"] == {"Add": 15, "Subtract": 5, "Multiply": 50, "Division": 2.0}


def lose_end(table, name: str, *, status: str = "RUNNING") -> None:
    """The item as lost events leave it: `status`, with no result and no end."""
    table.update_item(
        TableName=TABLE,
        Key={"executionName": {"S": name}},
        UpdateExpression="SET #status = :status REMOVE #result, endedAt",
        ExpressionAttributeNames={"#status": "status", "#result": "result"},
        ExpressionAttributeValues={":status": {"S": status}},
    )


def test_a_calculation_whose_division_failed_is_repaired_as_failed(stack):
    # Given a calculation whose Division failed (Lambda's execution SUCCEEDED, with error_details
    # in its result) and whose item lost its end
    api, table, repair = stack
    calculation = ended_calculation(api, "repair-failed-division", {"num1": 10, "num2": 0})
    assert calculation["status"] == "FAILED"
    name, _ = item_of(table, calculation)
    lose_end(table, name)

    # When the repair command runs
    output = repair()

    # Then the calculation is FAILED, as the API reported it, not Lambda's SUCCEEDED
    assert "repaired: 1" in output
    answer = api.get(url(api, "/calculations/repair-failed-division"), timeout=30).json()
    assert answer["status"] == "FAILED"
    assert answer["failedOperations"] == [{"operation": "Division", "message": "division by zero"}]
    result = api.get(url(api, "/calculations/repair-failed-division/result"), timeout=30)
    assert result.json() == TEN_AND_ZERO


def test_a_succeeded_item_without_its_result_gets_it(stack):
    # Given an ended calculation whose item says SUCCEEDED but lost its result (an end recorded
    # from an event while Lambda had no result to give)
    api, table, repair = stack
    calculation = ended_calculation(api, "repair-missing-result")
    name, _ = item_of(table, calculation)
    table.update_item(
        TableName=TABLE,
        Key={"executionName": {"S": name}},
        UpdateExpression="REMOVE #result",
        ExpressionAttributeNames={"#result": "result"},
    )

    # When the repair command runs
    output = repair()

    # Then the item has the result document again, and its status still says SUCCEEDED
    assert "repaired: 1" in output
    answer = api.get(url(api, "/calculations/repair-missing-result"), timeout=30).json()
    assert answer["status"] == "SUCCEEDED"
    assert answer["result"] == {"Add": 15, "Subtract": 5, "Multiply": 50, "Division": 2.0}
