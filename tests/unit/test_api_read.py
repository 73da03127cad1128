"""GET /calculations/{id}, /result, /history, GET /calculations and POST /calculations/{id}/stop."""

from datetime import timedelta

import pytest
from botocore.stub import ANY

import calculations_client
import settings
from events import (
    ENDED,
    STARTED,
    TEN_FIVE,
    TEN_ZERO,
    ZEROS,
    by_name,
    execution,
    execution_arn,
    get_params,
    listing,
)


def stub_lookup(stub, name, response):
    """First read of an id in a container: find its ARN, then describe it."""
    stub.add_response("list_durable_executions_by_function", listing(name), by_name(name))
    stub.add_response("get_durable_execution", response, get_params(name))


def test_an_id_is_found_among_longer_names_that_contain_it_across_pages(call, lambda_stub):
    # Given Lambda's name filter also matches names that merely contain the id
    lambda_stub.add_response(
        "list_durable_executions_by_function", listing("a1", "ba", next_marker="p2"), by_name("a")
    )
    lambda_stub.add_response(
        "list_durable_executions_by_function", listing("ab", "a"), {**by_name("a"), "Marker": "p2"}
    )
    lambda_stub.add_response("get_durable_execution", execution("a", result=TEN_FIVE), get_params("a"))

    # When reading the calculation "a"
    response = call("GET", "/calculations/a")

    # Then it is the execution named exactly "a"
    assert response.status == 200
    assert response.json["id"] == "a"


def test_an_unknown_short_id_is_404_after_three_pages_of_longer_names(call, lambda_stub):
    # Given Lambda's name filter matches many longer names containing "a", page after page
    for page in range(3):
        marker = {"Marker": f"p{page}"} if page else {}
        lambda_stub.add_response(
            "list_durable_executions_by_function",
            listing(*(f"a{page}-{n}" for n in range(3)), next_marker=f"p{page + 1}"),
            {**by_name("a"), **marker},
        )

    # When reading the calculation "a" (no fourth page is stubbed: none may be asked for)
    response = call("GET", "/calculations/a")

    # Then it is not found after three pages
    assert response.status == 404
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json == {
        "type": "about:blank",
        "title": "Not Found",
        "status": 404,
        "detail": "no calculation has this id",
        "instance": "/calculations/a",
    }


def test_get_finished_calculation_returns_result_with_caching_headers(call, lambda_stub):
    stub_lookup(lambda_stub, "calc-1", execution("calc-1", result=TEN_FIVE))

    response = call("GET", "/calculations/calc-1")

    assert response.status == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["Cache-Control"] == "public, max-age=86400, immutable"
    assert response.headers["ETag"].startswith('"')
    assert response.json == {
        "id": "calc-1",
        "status": "SUCCEEDED",
        "input": {"num1": 10, "num2": 5},
        "startedAt": "2026-01-01T12:00:00Z",
        "endedAt": "2026-01-01T12:00:01.250000Z",
        "result": TEN_FIVE,
        "links": {
            "self": "/Prod/calculations/calc-1",
            "result": "/Prod/calculations/calc-1/result",
            "history": "/Prod/calculations/calc-1/history",
            "stop": "/Prod/calculations/calc-1/stop",
        },
    }


@pytest.mark.parametrize(
    ("origins", "origin", "allowed"),
    [
        ("*", None, None),
        ("*", "https://app.example.com", "*"),
        ("https://app.example.com", "https://app.example.com", "https://app.example.com"),
        ("https://app.example.com", "https://evil.example.com", None),
    ],
)
def test_a_public_finished_calculation_varies_by_origin(
    call, lambda_stub, monkeypatch, origins, origin, allowed
):
    # Given a finished calculation and the allowed origins
    monkeypatch.setenv("CORS_ALLOW_ORIGIN", origins)
    settings.get_settings.cache_clear()
    stub_lookup(lambda_stub, "calc-1", execution("calc-1", result=TEN_FIVE))

    # When it is read with or without an Origin
    response = call("GET", "/calculations/calc-1", headers={"Origin": origin} if origin else None)

    # Then the shared-cacheable answer says it depends on Origin, whatever CORS decided
    assert response.status == 200
    assert response.headers["Cache-Control"] == "public, max-age=86400, immutable"
    assert response.headers["Vary"] == "Origin"
    assert response.headers.get("Access-Control-Allow-Origin") == allowed
    assert response.json["id"] == "calc-1"


def test_problems_vary_by_origin_too(call, lambda_stub):
    # Given no Origin is sent
    # When an unknown route is asked for
    response = call("GET", "/nope")

    # Then the problem also says it depends on Origin
    assert response.status == 404
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.headers["Vary"] == "Origin"
    assert response.json["detail"] == "there is no resource at /nope"


def test_finished_calculation_is_served_from_the_warm_container_and_revalidated(call, lambda_stub):
    # Given a first read fetched the finished calculation
    stub_lookup(lambda_stub, "calc-1", execution("calc-1", result=TEN_FIVE))
    first = call("GET", "/calculations/calc-1")

    # When it is read again, and revalidated with its ETag (no stub left: no AWS call allowed)
    again = call("GET", "/calculations/calc-1")
    revalidated = call("GET", "/calculations/calc-1", headers={"If-None-Match": first.headers["ETag"]})
    other_tag = call("GET", "/calculations/calc-1", headers={"If-None-Match": '"something-else"'})

    # Then the same answer comes back without calling Lambda, and 304 for a current copy
    assert again.status == 200
    assert again.json == first.json
    assert again.headers["ETag"] == first.headers["ETag"]
    assert revalidated.status == 304
    assert revalidated.text == ""
    assert revalidated.headers["ETag"] == first.headers["ETag"]
    assert other_tag.status == 200


def test_with_no_finished_cache_a_known_id_is_read_without_listing_again(call, lambda_stub, monkeypatch):
    # Given a container that keeps no finished calculations, which has read calc-1 once
    monkeypatch.setenv("CACHE_SIZE", "0")
    settings.get_settings.cache_clear()
    stub_lookup(lambda_stub, "calc-1", execution("calc-1", result=TEN_FIVE))
    first = call("GET", "/calculations/calc-1")

    # When it is read again (only a Get is stubbed: a second List would fail the test)
    lambda_stub.add_response(
        "get_durable_execution", execution("calc-1", result=TEN_FIVE), get_params("calc-1")
    )
    again = call("GET", "/calculations/calc-1")

    # Then the same document is served, from one Get: the id's ARN was kept
    assert again.status == 200
    assert again.headers["ETag"] == first.headers["ETag"]
    assert again.json == first.json


def test_running_calculation_is_not_cached(call, lambda_stub):
    stub_lookup(lambda_stub, "calc-2", execution("calc-2", status="RUNNING"))
    # The ARN is kept, so the second read only describes the execution again
    lambda_stub.add_response(
        "get_durable_execution", execution("calc-2", result=TEN_FIVE), get_params("calc-2")
    )

    running = call("GET", "/calculations/calc-2")
    finished = call("GET", "/calculations/calc-2")

    assert running.status == 200
    assert running.json["status"] == "RUNNING"
    assert running.headers["Cache-Control"] == "no-store"
    assert "ETag" not in running.headers
    assert "endedAt" not in running.json
    assert finished.json["status"] == "SUCCEEDED"


@pytest.mark.parametrize(
    ("input_document", "document", "partial"),
    [
        ({"num1": 10, "num2": 0}, TEN_ZERO, {"Add": 10, "Subtract": 10, "Multiply": 0}),
        ({}, ZEROS, {"Add": 0, "Subtract": 0, "Multiply": 0}),
    ],
)
def test_failed_operations_make_the_calculation_failed_with_partial_results(
    call, lambda_stub, input_document, document, partial
):
    stub_lookup(lambda_stub, "calc-3", execution("calc-3", input_document=input_document, result=document))

    response = call("GET", "/calculations/calc-3")

    assert response.status == 200
    assert response.json["status"] == "FAILED"
    assert response.json["failedOperations"] == [{"operation": "Division", "message": "division by zero"}]
    assert response.json["partialResults"] == partial
    assert "result" not in response.json
    assert response.json["input"] == input_document


def test_execution_failure_reports_its_message_never_the_stack_trace(call, lambda_stub):
    error = {
        "ErrorType": "durable_math.InvalidInputError",
        "ErrorMessage": "num1 must be a number, got str",
        "StackTrace": ['  File "/var/task/durable_math.py", line 88, in read_number'],
    }
    stub_lookup(
        lambda_stub,
        "calc-4",
        execution("calc-4", status="FAILED", input_document={"num1": "10"}, error=error),
    )

    response = call("GET", "/calculations/calc-4")

    assert response.status == 200
    assert response.json["status"] == "FAILED"
    assert response.json["error"] == {
        "type": "durable_math.InvalidInputError",
        "message": "num1 must be a number, got str",
    }
    assert "durable_math.py" not in response.text


def test_a_timed_out_calculation_without_an_error_has_no_error_field(call, lambda_stub):
    # Given Lambda reports a timed-out execution without an Error
    stub_lookup(lambda_stub, "calc-t", execution("calc-t", status="TIMED_OUT"))

    # When it is read
    response = call("GET", "/calculations/calc-t")

    # Then it is TIMED_OUT, with no empty "error" object
    assert response.status == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["Cache-Control"] == "public, max-age=86400, immutable"
    assert response.json == {
        "id": "calc-t",
        "status": "TIMED_OUT",
        "input": {"num1": 10, "num2": 5},
        "startedAt": "2026-01-01T12:00:00Z",
        "endedAt": "2026-01-01T12:00:01.250000Z",
        "links": {
            "self": "/Prod/calculations/calc-t",
            "result": "/Prod/calculations/calc-t/result",
            "history": "/Prod/calculations/calc-t/history",
            "stop": "/Prod/calculations/calc-t/stop",
        },
    }


def test_an_error_with_only_a_type_is_reported_with_only_the_type(call, lambda_stub):
    # Given a stopped execution whose Error has a type and no message
    stub_lookup(
        lambda_stub, "calc-s", execution("calc-s", status="STOPPED", error={"ErrorType": "StoppedByUser"})
    )

    # When it is read
    response = call("GET", "/calculations/calc-s")

    # Then the error holds the type alone
    assert response.status == 200
    assert response.json["status"] == "STOPPED"
    assert response.json["error"] == {"type": "StoppedByUser"}


def test_unknown_id_is_404(call, lambda_stub):
    # Lambda's name filter may match names that merely contain the id
    lambda_stub.add_response(
        "list_durable_executions_by_function", listing("calc-10", "xcalc-1"), by_name("calc-1")
    )

    response = call("GET", "/calculations/calc-1")

    assert response.status == 404
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json == {
        "type": "about:blank",
        "title": "Not Found",
        "status": 404,
        "detail": "no calculation has this id",
        "instance": "/calculations/calc-1",
    }


def test_execution_gone_after_its_arn_was_found_is_404(call, lambda_stub):
    lambda_stub.add_response("list_durable_executions_by_function", listing("calc-1"), by_name("calc-1"))
    lambda_stub.add_client_error(
        "get_durable_execution",
        service_error_code="ResourceNotFoundException",
        service_message="Execution not found",
        http_status_code=404,
    )

    response = call("GET", "/calculations/calc-1")

    assert response.status == 404


@pytest.mark.parametrize("path", ["/calculations/" + "a" * 65, "/calculations/..", "/calculations/a%2Fb"])
@pytest.mark.parametrize("suffix", ["", "/result", "/history"])
def test_ids_that_are_not_execution_names_are_refused_before_any_call(call, lambda_stub, path, suffix):
    response = call("GET", path + suffix)

    assert response.status == 422
    assert response.json["errors"] == [{"field": "id", "message": "must be 1-64 of A-Z a-z 0-9 - _"}]


def test_an_id_with_a_slash_matches_no_route(call, lambda_stub):
    response = call("GET", "/calculations/a/b")

    assert response.status == 404
    assert response.json["detail"] == "there is no resource at /calculations/a/b"


@pytest.mark.parametrize(
    ("code", "status", "http_status"),
    [
        ("ServiceException", 503, 500),
        ("AccessDeniedException", 502, 403),
        ("InvalidParameterValueException", 502, 400),
        ("ResourceNotFoundException", 502, 404),
    ],
)
def test_lambda_failures_are_problems_without_aws_details(call, lambda_stub, code, status, http_status):
    # Given Lambda fails the lookup (a missing function is a configuration fault, not a missing id)
    secret = "User: arn:aws:sts::123456789012:assumed-role/api is not authorized"
    lambda_stub.add_client_error(
        "list_durable_executions_by_function",
        service_error_code=code,
        service_message=secret,
        http_status_code=http_status,
    )

    response = call("GET", "/calculations/calc-1")

    assert response.status == status
    assert response.headers["Content-Type"] == "application/problem+json"
    assert "arn:" not in response.text
    assert code not in response.text
    assert "not authorized" not in response.text
    if status == 503:
        assert response.headers["Retry-After"] == "1"


def test_get_when_lambda_throttles_is_429(call, lambda_stub):
    lambda_stub.add_client_error(
        "list_durable_executions_by_function",
        service_error_code="TooManyRequestsException",
        service_message="Rate exceeded",
        http_status_code=429,
    )

    response = call("GET", "/calculations/calc-1")

    assert response.status == 429
    assert response.headers["Retry-After"] == "1"


def test_a_result_with_nan_from_lambda_is_a_bad_gateway_not_invalid_json(call, lambda_stub):
    stub_lookup(lambda_stub, "calc-5", execution("calc-5", result_text='{"Add": NaN}'))

    response = call("GET", "/calculations/calc-5")

    assert response.status == 502


@pytest.mark.parametrize(
    ("input_document", "document", "text"),
    [
        ({"num1": 10, "num2": 5}, TEN_FIVE, '{"Add":15,"Subtract":5,"Multiply":50,"Division":2.0}'),
        ({"num1": 10, "num2": 0}, TEN_ZERO, None),
        ({}, ZEROS, None),
    ],
)
def test_result_returns_the_function_document(call, lambda_stub, input_document, document, text):
    stub_lookup(lambda_stub, "calc-6", execution("calc-6", input_document=input_document, result=document))

    response = call("GET", "/calculations/calc-6/result")

    assert response.status == 200
    assert response.json == document
    if text:
        assert response.text == text
    assert response.headers["Cache-Control"] == "public, max-age=86400, immutable"
    assert "ETag" in response.headers


def test_result_while_running_is_202_with_retry_after(call, lambda_stub):
    stub_lookup(lambda_stub, "calc-7", execution("calc-7", status="RUNNING"))

    response = call("GET", "/calculations/calc-7/result")

    assert response.status == 202
    assert response.headers["Retry-After"] == "1"
    assert response.headers["Location"] == "/Prod/calculations/calc-7"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.json["status"] == "RUNNING"


@pytest.mark.parametrize("status", ["STOPPED", "TIMED_OUT", "FAILED"])
def test_result_of_a_calculation_that_ended_without_one_is_409(call, lambda_stub, status):
    error = {"ErrorType": "Stopped", "ErrorMessage": "ended"}
    stub_lookup(lambda_stub, "calc-8", execution("calc-8", status=status, error=error))

    response = call("GET", "/calculations/calc-8/result")

    assert response.status == 409
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json["detail"] == f"the calculation ended with status {status} and has no result"


def history_event(event_type, operation, name, seconds, parent=None, sub_type=None, **details):
    event = {
        "EventType": event_type,
        "EventId": 1,
        "Id": operation,
        "Name": name,
        "EventTimestamp": STARTED + timedelta(seconds=seconds),
    }
    if parent:
        event["ParentId"] = parent
    if sub_type:
        event["SubType"] = sub_type
    if details:
        event[f"{event_type}Details"] = details
    return event


def finished_history():
    events = [
        {
            "EventType": "ExecutionStarted",
            "EventId": 1,
            "Id": "exec",
            "Name": "calc-9",
            "EventTimestamp": STARTED,
            "ExecutionStartedDetails": {
                "Input": {"Payload": '{"num1":10,"num2":0}'},
                "ExecutionTimeout": 900,
            },
        },
        history_event("ContextStarted", "calc", "Calculate", 0.1, sub_type="Parallel"),
    ]
    for index, name in enumerate(["Add", "Subtract", "Multiply", "Division"]):
        branch, step = f"branch-{index}", f"step-{index}"
        events.append(
            history_event("ContextStarted", branch, name, 0.1, parent="calc", sub_type="ParallelBranch")
        )
        events.append(history_event("StepStarted", step, name, 0.2, parent=branch, sub_type="Step"))
    events.append(
        history_event(
            "StepSucceeded",
            "step-0",
            "Add",
            0.3,
            parent="branch-0",
            Result={"Payload": "10"},
            RetryDetails={"CurrentAttempt": 1},
        )
    )
    events.append(
        history_event(
            "StepFailed",
            "step-3",
            "Division",
            0.3,
            parent="branch-3",
            Error={"Payload": {"ErrorType": "ZeroDivisionError", "ErrorMessage": "division by zero"}},
            RetryDetails={"CurrentAttempt": 1, "NextAttemptDelaySeconds": 0},
        )
    )
    events.append(
        {
            "EventType": "ExecutionSucceeded",
            "EventId": 30,
            "Id": "exec",
            "Name": "calc-9",
            "EventTimestamp": ENDED,
            "ExecutionSucceededDetails": {"Result": {"Payload": "{}"}},
        }
    )
    return events


def test_history_lists_each_operation_across_pages_and_caches_when_ended(call, lambda_stub):
    events = finished_history()
    lambda_stub.add_response("list_durable_executions_by_function", listing("calc-9"), by_name("calc-9"))
    history_params = {
        "DurableExecutionArn": execution_arn("calc-9"),
        "IncludeExecutionData": True,
        "MaxItems": 1000,
    }
    lambda_stub.add_response(
        "get_durable_execution_history", {"Events": events[:5], "NextMarker": "page-2"}, history_params
    )
    lambda_stub.add_response(
        "get_durable_execution_history", {"Events": events[5:]}, {**history_params, "Marker": "page-2"}
    )

    response = call("GET", "/calculations/calc-9/history")
    again = call("GET", "/calculations/calc-9/history")

    assert response.status == 200
    assert response.json["ended"] is True
    assert response.headers["Cache-Control"] == "public, max-age=86400, immutable"
    steps = {op["name"]: op for op in response.json["operations"] if op["type"] == "STEP"}
    assert set(steps) == {"Add", "Subtract", "Multiply", "Division"}
    assert steps["Add"]["status"] == "SUCCEEDED"
    assert steps["Add"]["attempts"] == 1
    assert steps["Add"]["startedAt"] == "2026-01-01T12:00:00.200000Z"
    assert steps["Add"]["endedAt"] == "2026-01-01T12:00:00.300000Z"
    assert steps["Division"]["status"] == "FAILED"
    assert steps["Division"]["error"] == {"type": "ZeroDivisionError", "message": "division by zero"}
    assert steps["Division"]["parentId"] == "branch-3"
    assert steps["Subtract"]["status"] == "STARTED"
    assert response.json["operations"][0]["name"] == "Calculate"
    assert again.json == response.json


def test_history_of_a_retrying_step_shows_pending_then_attempts(call, lambda_stub):
    failed = history_event(
        "StepFailed",
        "step-0",
        "Add",
        0.3,
        Error={"Payload": {"ErrorType": "ConnectionError", "ErrorMessage": "reset"}},
        RetryDetails={"CurrentAttempt": 1, "NextAttemptDelaySeconds": 1},
    )
    events = [history_event("StepStarted", "step-0", "Add", 0.2), failed]
    lambda_stub.add_response("list_durable_executions_by_function", listing("calc-r"), by_name("calc-r"))
    lambda_stub.add_response("get_durable_execution_history", {"Events": events}, ANY_HISTORY)
    retried = [
        *events,
        history_event("StepStarted", "step-0", "Add", 1.3),
        history_event(
            "StepSucceeded",
            "step-0",
            "Add",
            1.4,
            Result={"Payload": "15"},
            RetryDetails={"CurrentAttempt": 2},
        ),
    ]
    lambda_stub.add_response("get_durable_execution_history", {"Events": retried}, ANY_HISTORY)

    waiting = call("GET", "/calculations/calc-r/history")
    done = call("GET", "/calculations/calc-r/history")

    assert waiting.json["operations"][0]["status"] == "PENDING"
    assert waiting.json["operations"][0]["attempts"] == 1
    assert waiting.headers["Cache-Control"] == "no-store"
    assert done.json["operations"][0]["status"] == "SUCCEEDED"
    assert done.json["operations"][0]["attempts"] == 2
    assert "error" not in done.json["operations"][0]


ANY_HISTORY = {"DurableExecutionArn": ANY, "IncludeExecutionData": True, "MaxItems": 1000}


def test_list_is_newest_first_filtered_and_paged_with_an_opaque_cursor(call, lambda_stub):
    lambda_stub.add_response(
        "list_durable_executions_by_function",
        listing("newest", "older", status="SUCCEEDED", next_marker="lambda-marker"),
        {"FunctionName": "math-durable", "Qualifier": "live", "MaxItems": 2, "Statuses": ["SUCCEEDED"]},
    )

    # Lambda's SUCCEEDED may hide failed operations: each is read once to tell
    for name in ("newest", "older"):
        lambda_stub.add_response("get_durable_execution", execution(name, result=TEN_FIVE), get_params(name))

    first = call("GET", "/calculations?status=SUCCEEDED&limit=2")

    assert first.status == 200
    assert first.headers["Cache-Control"] == "no-store"
    assert [item["id"] for item in first.json["items"]] == ["newest", "older"]
    assert first.json["items"][0] == {
        "id": "newest",
        "status": "SUCCEEDED",
        "startedAt": "2026-01-01T12:00:00Z",
        "endedAt": "2026-01-01T12:00:01.250000Z",
        "links": {
            "self": "/Prod/calculations/newest",
            "result": "/Prod/calculations/newest/result",
            "history": "/Prod/calculations/newest/history",
            "stop": "/Prod/calculations/newest/stop",
        },
    }
    cursor = first.json["nextCursor"]
    assert "lambda-marker" not in cursor

    # The cursor carries Lambda's marker; the last page has no cursor
    lambda_stub.add_response(
        "list_durable_executions_by_function",
        listing("oldest", status="SUCCEEDED"),
        {
            "FunctionName": "math-durable",
            "Qualifier": "live",
            "MaxItems": 2,
            "Statuses": ["SUCCEEDED"],
            "Marker": "lambda-marker",
        },
    )
    lambda_stub.add_response(
        "get_durable_execution", execution("oldest", result=TEN_FIVE), get_params("oldest")
    )
    second = call("GET", f"/calculations?status=SUCCEEDED&limit=2&cursor={cursor}")
    assert [item["id"] for item in second.json["items"]] == ["oldest"]
    assert "nextCursor" not in second.json

    # A cursor only works with the filter it was issued for
    mismatch = call("GET", f"/calculations?status=RUNNING&limit=2&cursor={cursor}")
    assert mismatch.status == 422
    assert mismatch.json["errors"][0]["field"] == "cursor"


def test_list_counts_a_calculation_whose_operations_failed_as_failed(call, lambda_stub):
    # Given a 10/0 calculation (Lambda: SUCCEEDED), a 10/5 one, and one whose input was refused
    page = listing("ten-zero", "ten-five", status="SUCCEEDED")
    page["DurableExecutions"] += listing("refused", status="FAILED")["DurableExecutions"]
    lambda_stub.add_response(
        "list_durable_executions_by_function",
        page,
        {
            "FunctionName": "math-durable",
            "Qualifier": "live",
            "MaxItems": 20,
            "Statuses": ["FAILED", "SUCCEEDED"],
        },
    )
    lambda_stub.add_response(
        "get_durable_execution", execution("ten-zero", result=TEN_ZERO), get_params("ten-zero")
    )
    lambda_stub.add_response(
        "get_durable_execution", execution("ten-five", result=TEN_FIVE), get_params("ten-five")
    )

    # When listing FAILED calculations
    failed = call("GET", "/calculations?status=FAILED")

    # Then the failed operations count, and the finished calculations are cached for the next page
    assert failed.status == 200
    assert [(item["id"], item["status"]) for item in failed.json["items"]] == [
        ("ten-zero", "FAILED"),
        ("refused", "FAILED"),
    ]
    lambda_stub.add_response(
        "list_durable_executions_by_function",
        listing("ten-zero", "ten-five", status="SUCCEEDED"),
        {"FunctionName": "math-durable", "Qualifier": "live", "MaxItems": 20},
    )
    everything = call("GET", "/calculations")
    assert [(item["id"], item["status"]) for item in everything.json["items"]] == [
        ("ten-zero", "FAILED"),
        ("ten-five", "SUCCEEDED"),
    ]


def test_list_running_includes_paused_calculations(call, lambda_stub):
    # Given Lambda holds a running and a paused execution
    page = listing("going", "paused")
    page["DurableExecutions"][1]["Status"] = "PAUSED"
    statuses = ["RUNNING", "PAUSING", "PAUSED"]
    lambda_stub.add_response(
        "list_durable_executions_by_function",
        page,
        {"FunctionName": "math-durable", "Qualifier": "live", "MaxItems": 20, "Statuses": statuses},
    )

    # When listing RUNNING calculations
    response = call("GET", "/calculations?status=RUNNING")

    # Then Lambda is asked for every status the API shows as RUNNING (all in its API model),
    # and both are listed as RUNNING
    model = calculations_client.lambda_client().meta.service_model.shape_for("ExecutionStatus")
    assert set(statuses) <= set(model.enum)
    assert response.status == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert [(item["id"], item["status"]) for item in response.json["items"]] == [
        ("going", "RUNNING"),
        ("paused", "RUNNING"),
    ]


def test_list_uses_the_default_page_size(call, lambda_stub):
    lambda_stub.add_response(
        "list_durable_executions_by_function",
        {"DurableExecutions": []},
        {"FunctionName": "math-durable", "Qualifier": "live", "MaxItems": 20},
    )

    response = call("GET", "/calculations")

    assert response.status == 200
    assert response.json == {"items": []}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=ten", "limit"),
        ("status=DONE", "status"),
        ("cursor=not-a-cursor", "cursor"),
        ("cursor=e30", "cursor"),
    ],
)
def test_list_refuses_bad_parameters(call, lambda_stub, query, field):
    response = call("GET", f"/calculations?{query}")

    assert response.status == 422
    assert [error["field"] for error in response.json["errors"]] == [field]


def test_stop_a_running_calculation(call, lambda_stub):
    stub_lookup(lambda_stub, "calc-s", execution("calc-s", status="RUNNING"))
    lambda_stub.add_response(
        "stop_durable_execution",
        {"StopTimestamp": ENDED},
        {
            "DurableExecutionArn": execution_arn("calc-s"),
            "Error": {"ErrorType": "StoppedByUser", "ErrorMessage": "stopped through the API"},
        },
    )
    stopped = execution(
        "calc-s",
        status="STOPPED",
        error={"ErrorType": "StoppedByUser", "ErrorMessage": "stopped through the API"},
    )
    lambda_stub.add_response("get_durable_execution", stopped, get_params("calc-s"))

    response = call("POST", "/calculations/calc-s/stop")

    assert response.status == 200
    assert response.json["status"] == "STOPPED"
    assert response.json["error"] == {"type": "StoppedByUser", "message": "stopped through the API"}
    assert response.json["endedAt"] == "2026-01-01T12:00:01.250000Z"


def test_stop_an_ended_calculation_is_409_without_a_stop_call(call, lambda_stub):
    stub_lookup(lambda_stub, "calc-e", execution("calc-e", result=TEN_FIVE))

    response = call("POST", "/calculations/calc-e/stop")
    cached = call("POST", "/calculations/calc-e/stop")

    assert response.status == 409
    assert response.json["detail"] == "the calculation has already ended with status SUCCEEDED"
    assert cached.status == 409


def test_stop_a_calculation_whose_operations_failed_names_the_status_get_shows(call, lambda_stub):
    # Given 10/0 ended: SUCCEEDED in Lambda, FAILED through the API
    stub_lookup(
        lambda_stub, "calc-z", execution("calc-z", input_document={"num1": 10, "num2": 0}, result=TEN_ZERO)
    )
    shown = call("GET", "/calculations/calc-z")

    # When a client tries to stop it
    response = call("POST", "/calculations/calc-z/stop")

    # Then the conflict names the status GET shows, FAILED
    assert shown.json["status"] == "FAILED"
    assert response.status == 409
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.json == {
        "type": "about:blank",
        "title": "Conflict",
        "status": 409,
        "detail": "the calculation has already ended with status FAILED",
        "instance": "/calculations/calc-z/stop",
    }


def test_stop_refused_because_it_ended_meanwhile_is_409(call, lambda_stub):
    stub_lookup(lambda_stub, "calc-m", execution("calc-m", status="RUNNING"))
    lambda_stub.add_client_error(
        "stop_durable_execution",
        service_error_code="InvalidParameterValueException",
        service_message="execution is not running",
        http_status_code=400,
    )
    lambda_stub.add_response(
        "get_durable_execution", execution("calc-m", result=TEN_FIVE), get_params("calc-m")
    )

    response = call("POST", "/calculations/calc-m/stop")

    assert response.status == 409
    assert response.json["detail"] == "the calculation has already ended with status SUCCEEDED"


def test_stop_unknown_calculation_is_404(call, lambda_stub):
    lambda_stub.add_response(
        "list_durable_executions_by_function", {"DurableExecutions": []}, by_name("nope")
    )

    response = call("POST", "/calculations/nope/stop")

    assert response.status == 404
