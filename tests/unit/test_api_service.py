"""Stopping and deleting a calculation: the service's rules, seen through the handler.

Lambda is addressed by the ARN the table holds; the table records the stop and loses the item
on delete. Every test stubs both clients: a call nobody queued fails the request.
"""

import pytest

import service
import settings
from events import (
    ENDED,
    OTHER_OWNER,
    TEN_ZERO,
    delete_item_params,
    execution_arn,
    found,
    get_item_params,
    item,
    name_of,
)

pytestmark = pytest.mark.usefixtures("stubs", "fixed_clock")

NAME = name_of("calc-1")
ARN = execution_arn(NAME)
STOP_PARAMS = {
    "DurableExecutionArn": ARN,
    "Error": {"ErrorType": "StoppedByUser", "ErrorMessage": "stopped through the API"},
}
# The stop as the table records it: STOPPED at NOW unless it has ended already, kept for 14 days.
RECORD_STOPPED_PARAMS = {
    "TableName": "calculations",
    "Key": {"executionName": {"S": NAME}},
    "UpdateExpression": (
        "SET #status = :status, #endedAt = :endedAt, #expiresAt = :expiresAt, #errorType = :errorType,"
        " #errorMessage = :errorMessage REMOVE #openShard, #startDeadline, #endUnconfirmed, #result"
    ),
    # Lambda accepted the stop, so it ends even what the Record step wrote a moment before
    "ConditionExpression": (
        "attribute_exists(#executionName) AND (#status = :running OR #endUnconfirmed = :true)"
    ),
    "ExpressionAttributeNames": {
        "#endUnconfirmed": "endUnconfirmed",
        "#result": "result",
        "#executionName": "executionName",
        "#openShard": "openShard",
        "#startDeadline": "startDeadline",
        "#status": "status",
        "#endedAt": "endedAt",
        "#expiresAt": "expiresAt",
        "#errorType": "errorType",
        "#errorMessage": "errorMessage",
    },
    "ExpressionAttributeValues": {
        ":status": {"S": "STOPPED"},
        ":running": {"S": "RUNNING"},
        ":true": {"BOOL": True},
        ":endedAt": {"S": "2026-11-29T12:00:00.000000Z"},
        ":expiresAt": {"N": "1797163200"},
        ":errorType": {"S": "StoppedByUser"},
        ":errorMessage": {"S": "stopped through the API"},
    },
}
NOT_FOUND = {
    "type": "about:blank",
    "title": "Not Found",
    "status": 404,
    "detail": "no calculation has this id",
}


def stub_get(table_stub, record):
    table_stub.add_response("get_item", found(record), get_item_params(NAME))


def test_stop_a_running_calculation(call, table_stub, lambda_stub):
    # Given a running calculation of the caller
    stub_get(table_stub, item("calc-1", "RUNNING"))
    # Lambda stops its execution, the table records the stop, and the calculation is read again
    lambda_stub.add_response("stop_durable_execution", {"StopTimestamp": ENDED}, STOP_PARAMS)
    table_stub.add_response("update_item", {}, RECORD_STOPPED_PARAMS)
    stub_get(
        table_stub,
        item(
            "calc-1",
            "STOPPED",
            ended="2026-11-29T12:00:00.000000Z",
            error_type="StoppedByUser",
            error_message="stopped through the API",
        ),
    )

    # When the caller stops it
    response = call("POST", "/calculations/calc-1/stop")

    # Then it answers with the calculation, STOPPED
    assert response.status == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.json["status"] == "STOPPED"
    assert response.json["error"] == {"type": "StoppedByUser", "message": "stopped through the API"}
    assert response.json["endedAt"] == "2026-11-29T12:00:00Z"


@pytest.mark.parametrize(
    ("record", "status"),
    [
        (item("calc-1", "SUCCEEDED"), "SUCCEEDED"),
        (item("calc-1", "FAILED", input_document={"num1": 10, "num2": 0}, result=TEN_ZERO), "FAILED"),
        (item("calc-1", "STOPPED"), "STOPPED"),
    ],
)
def test_stop_an_ended_calculation_is_409_naming_its_status(call, table_stub, record, status):
    # Given an ended calculation (no Stop is stubbed: none may be made)
    stub_get(table_stub, record)

    # When the caller tries to stop it
    response = call("POST", "/calculations/calc-1/stop")

    # Then the conflict names the status GET shows
    assert response.status == 409
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.json == {
        "type": "about:blank",
        "title": "Conflict",
        "status": 409,
        "detail": f"the calculation has already ended with status {status}",
        "instance": "/calculations/calc-1/stop",
    }


@pytest.mark.parametrize("code", ["InvalidParameterValueException", "ResourceConflictException"])
def test_stop_refused_by_lambda_because_it_ended_meanwhile_is_409(call, table_stub, lambda_stub, code):
    # Given the table still says RUNNING, but the execution has ended and Lambda refuses the stop
    stub_get(table_stub, item("calc-1", "RUNNING"))
    lambda_stub.add_client_error(
        "stop_durable_execution",
        service_error_code=code,
        service_message="execution is not running",
        http_status_code=400,
        expected_params=STOP_PARAMS,
    )
    stub_get(table_stub, item("calc-1", "SUCCEEDED"))

    response = call("POST", "/calculations/calc-1/stop")

    assert response.status == 409
    assert response.json["detail"] == "the calculation has already ended with status SUCCEEDED"


def test_stop_refused_by_lambda_before_the_end_is_recorded_says_so(call, table_stub, lambda_stub):
    stub_get(table_stub, item("calc-1", "RUNNING"))
    lambda_stub.add_client_error(
        "stop_durable_execution",
        service_error_code="InvalidParameterValueException",
        service_message="execution is not running",
        http_status_code=400,
    )
    stub_get(table_stub, item("calc-1", "RUNNING"))

    response = call("POST", "/calculations/calc-1/stop")

    assert response.status == 409
    assert response.json["detail"] == "the calculation has already ended; its status is not recorded yet"


def test_stop_of_a_calculation_still_starting_is_503(call, table_stub):
    # Given the item exists, but its start has not recorded the execution's ARN yet
    stub_get(table_stub, item("calc-1", "RUNNING", arn=None))

    response = call("POST", "/calculations/calc-1/stop")

    assert response.status == 503
    assert response.headers["Retry-After"] == "1"


def test_stop_of_an_execution_lambda_no_longer_has_is_404(call, table_stub, lambda_stub):
    stub_get(table_stub, item("calc-1", "RUNNING"))
    lambda_stub.add_client_error(
        "stop_durable_execution",
        service_error_code="ResourceNotFoundException",
        service_message="not found",
        http_status_code=404,
    )

    response = call("POST", "/calculations/calc-1/stop")

    assert response.status == 404


@pytest.mark.parametrize(
    "record", [None, {**item("calc-1", "RUNNING"), "owner": {"S": OTHER_OWNER}}], ids=["unknown", "others"]
)
@pytest.mark.parametrize(("method", "suffix"), [("POST", "/stop"), ("DELETE", "")])
def test_stop_and_delete_of_an_unknown_or_others_calculation_is_404(call, table_stub, record, method, suffix):
    # Given no calculation of the caller has this id (no Lambda call is stubbed: none may be made)
    stub_get(table_stub, record)

    response = call(method, "/calculations/calc-1" + suffix)

    assert response.status == 404
    assert response.json == {**NOT_FOUND, "instance": "/calculations/calc-1" + suffix}


def test_delete_an_ended_calculation_removes_lambdas_record_and_the_item(call, table_stub, lambda_stub):
    # Given an ended calculation of the caller
    stub_get(table_stub, item("calc-1", "SUCCEEDED"))
    lambda_stub.add_response(
        "delete_durable_execution", {"DeletionRequestTimestamp": ENDED}, {"DurableExecutionArn": ARN}
    )
    table_stub.add_response("delete_item", {}, delete_item_params(NAME))

    # When the caller deletes it
    response = call("DELETE", "/calculations/calc-1")

    # Then it is gone, and the answer has no body
    assert response.status == 204
    assert response.text == ""
    assert response.headers["Cache-Control"] == "no-store"


def test_delete_when_lambda_has_already_forgotten_the_execution_still_removes_the_item(
    call, table_stub, lambda_stub
):
    stub_get(table_stub, item("calc-1", "FAILED", result=TEN_ZERO))
    lambda_stub.add_client_error(
        "delete_durable_execution",
        service_error_code="ResourceNotFoundException",
        service_message="not found",
        http_status_code=404,
        expected_params={"DurableExecutionArn": ARN},
    )
    table_stub.add_response("delete_item", {}, delete_item_params(NAME))

    response = call("DELETE", "/calculations/calc-1")

    assert response.status == 204


def test_delete_a_running_calculation_is_409(call, table_stub):
    # Given a running calculation (no Lambda call is stubbed: none may be made)
    stub_get(table_stub, item("calc-1", "RUNNING"))

    response = call("DELETE", "/calculations/calc-1")

    assert response.status == 409
    assert response.json == {
        "type": "about:blank",
        "title": "Conflict",
        "status": 409,
        "detail": "the calculation is still running; stop it or wait for it to end",
        "instance": "/calculations/calc-1",
    }


def refuse_delete_as_running(lambda_stub) -> None:
    lambda_stub.add_client_error(
        "delete_durable_execution",
        service_error_code="ResourceConflictException",
        service_message="execution is running",
        http_status_code=409,
        expected_params={"DurableExecutionArn": ARN},
    )


def test_delete_refused_by_lambda_because_it_still_runs_is_409(call, table_stub, lambda_stub, monkeypatch):
    # Given an item that says ended, and an execution Lambda says still runs, each time it is asked
    monkeypatch.setattr(service, "ENDING_PAUSES_SECONDS", (0.0, 0.0))
    stub_get(table_stub, item("calc-1", "STOPPED"))
    for _ in range(3):
        refuse_delete_as_running(lambda_stub)

    response = call("DELETE", "/calculations/calc-1")

    # Then, once the pauses are spent, the calculation still runs
    assert response.status == 409
    assert response.json["detail"] == "the calculation is still running; stop it or wait for it to end"


def test_delete_in_the_moment_between_the_record_step_and_lambdas_end_waits_for_that_end(
    call, table_stub, lambda_stub, monkeypatch
):
    # Given an item the Record step has ended, and Lambda ending the execution a moment later
    monkeypatch.setattr(service, "ENDING_PAUSES_SECONDS", (0.0, 0.0))
    stub_get(table_stub, item("calc-1", "SUCCEEDED"))
    refuse_delete_as_running(lambda_stub)
    lambda_stub.add_response(
        "delete_durable_execution", {"DeletionRequestTimestamp": ENDED}, {"DurableExecutionArn": ARN}
    )
    table_stub.add_response("delete_item", {}, delete_item_params(NAME))

    # When the caller deletes it in that moment
    response = call("DELETE", "/calculations/calc-1")

    # Then the delete waits for Lambda's end, and succeeds
    assert response.status == 204


def test_delete_of_an_item_removed_meanwhile_is_404(call, table_stub, lambda_stub):
    stub_get(table_stub, item("calc-1", "SUCCEEDED"))
    lambda_stub.add_response("delete_durable_execution", {"DeletionRequestTimestamp": ENDED})
    table_stub.add_client_error(
        "delete_item",
        service_error_code="ConditionalCheckFailedException",
        service_message="The conditional request failed",
        http_status_code=400,
        expected_params=delete_item_params(NAME),
    )

    response = call("DELETE", "/calculations/calc-1")

    assert response.status == 404


def test_with_no_history_cache_a_finished_history_is_read_from_lambda_each_time(
    call, table_stub, lambda_stub, monkeypatch
):
    # Given a container that keeps no finished histories
    monkeypatch.setenv("CACHE_SIZE", "0")
    settings.get_settings.cache_clear()
    ended = {"EventType": "ExecutionSucceeded", "EventId": 9, "Id": "exec", "EventTimestamp": ENDED}
    params = {"DurableExecutionArn": ARN, "IncludeExecutionData": True, "MaxItems": 1000}
    for _ in range(2):
        stub_get(table_stub, item("calc-1", "SUCCEEDED"))
        lambda_stub.add_response("get_durable_execution_history", {"Events": [ended]}, params)

    # When the history is read twice
    responses = [call("GET", "/calculations/calc-1/history") for _ in range(2)]

    # Then Lambda was asked both times (both stubbed answers were used)
    assert [response.json["ended"] for response in responses] == [True, True]
