"""GET /calculations/{id}, /result, /history and GET /calculations: served from the calculations
table (history from Lambda by the ARN the table holds), only the caller's own, cached when ended.

Every test here stubs both clients: a Lambda call nobody queued fails the request.
"""

import base64
import json
from datetime import timedelta
from urllib.parse import quote

import pytest

import settings
from events import (
    ENDED,
    OTHER_OWNER,
    OWNER,
    STARTED,
    STARTED_TEXT,
    TEN_ZERO,
    ZEROS,
    FakeLambdaContext,
    delete_item_params,
    execution_arn,
    found,
    get_item_params,
    item,
    name_of,
    rest_event,
)

pytestmark = pytest.mark.usefixtures("stubs", "fixed_clock")

FINISHED = "private, max-age=86400, immutable"
NOT_FOUND = {
    "type": "about:blank",
    "title": "Not Found",
    "status": 404,
    "detail": "no calculation has this id",
    "instance": "/calculations/calc-1",
}


def stub_get(table_stub, record, calculation_id="calc-1"):
    table_stub.add_response("get_item", found(record), get_item_params(name_of(calculation_id)))


def test_get_finished_calculation_returns_it_with_caching_headers(call, table_stub):
    # Given the table holds the caller's finished calculation
    stub_get(table_stub, item("calc-1", "SUCCEEDED"))

    # When it is read (no Lambda call is stubbed: none may be made)
    response = call("GET", "/calculations/calc-1")

    # Then it is served whole, cacheable for good
    assert response.status == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["Cache-Control"] == FINISHED
    assert response.headers["ETag"].startswith('"')
    assert response.json == {
        "id": "calc-1",
        "status": "SUCCEEDED",
        "input": {"num1": 10, "num2": 5},
        "startedAt": "2026-01-01T12:00:00Z",
        "endedAt": "2026-01-01T12:00:01.250000Z",
        "result": {"Add": 15, "Subtract": 5, "Multiply": 50, "Division": 2.0},
        "links": {
            "self": "/Prod/calculations/calc-1",
            "result": "/Prod/calculations/calc-1/result",
            "history": "/Prod/calculations/calc-1/history",
            "stop": "/Prod/calculations/calc-1/stop",
        },
    }


def test_running_calculation_is_not_cached(call, table_stub):
    stub_get(table_stub, item("calc-1", "RUNNING"))

    response = call("GET", "/calculations/calc-1")

    assert response.status == 200
    assert response.json["status"] == "RUNNING"
    assert response.headers["Cache-Control"] == "no-store"
    assert "ETag" not in response.headers
    assert "endedAt" not in response.json


@pytest.mark.parametrize(
    ("origins", "origin", "allowed"),
    [
        ("*", None, None),
        ("*", "https://app.example.com", "*"),
        ("https://app.example.com", "https://app.example.com", "https://app.example.com"),
        ("https://app.example.com", "https://evil.example.com", None),
    ],
)
def test_a_finished_calculation_is_kept_by_its_client_only_and_varies_by_origin(
    call, table_stub, monkeypatch, origins, origin, allowed
):
    # Given a finished calculation and the allowed origins
    monkeypatch.setenv("CORS_ALLOW_ORIGIN", origins)
    settings.get_settings.cache_clear()
    stub_get(table_stub, item("calc-1", "SUCCEEDED"))

    # When it is read with or without an Origin
    response = call("GET", "/calculations/calc-1", headers={"Origin": origin} if origin else None)

    # Then only the client may keep it (the URL is another calculation for another key), and
    # the answer says it depends on Origin, whatever CORS decided
    assert response.status == 200
    assert response.headers["Cache-Control"] == FINISHED
    assert response.headers["Vary"] == "Origin"
    assert response.headers.get("Access-Control-Allow-Origin") == allowed


@pytest.mark.parametrize("suffix", ["", "/result"])
def test_a_current_copy_of_a_finished_document_is_revalidated_with_304(call, table_stub, suffix):
    # Given a client read a finished calculation's document and kept its ETag
    stub_get(table_stub, item("calc-1", "SUCCEEDED"))
    first = call("GET", "/calculations/calc-1" + suffix)

    # When it asks again with that ETag, with it among others, with a weak form, and with another
    for _ in range(4):
        stub_get(table_stub, item("calc-1", "SUCCEEDED"))
    current = call("GET", "/calculations/calc-1" + suffix, headers={"If-None-Match": first.headers["ETag"]})
    listed = call(
        "GET", "/calculations/calc-1" + suffix, headers={"If-None-Match": f'"old", {first.headers["ETag"]}'}
    )
    weak = call(
        "GET", "/calculations/calc-1" + suffix, headers={"If-None-Match": "W/" + first.headers["ETag"]}
    )
    other = call("GET", "/calculations/calc-1" + suffix, headers={"If-None-Match": '"something-else"'})

    # Then a current copy is 304 with no body and the same ETag; another tag gets the document
    assert [current.status, listed.status, weak.status] == [304, 304, 304]
    assert current.text == ""
    assert current.headers["ETag"] == first.headers["ETag"]
    assert current.headers["Cache-Control"] == FINISHED
    assert other.status == 200
    assert other.json == first.json


def test_if_none_match_on_a_running_calculation_is_ignored(call, table_stub):
    stub_get(table_stub, item("calc-1", "RUNNING"))

    response = call("GET", "/calculations/calc-1", headers={"If-None-Match": "*"})

    assert response.status == 200
    assert response.json["status"] == "RUNNING"


@pytest.mark.parametrize(
    ("input_document", "document", "partial", "numbers"),
    [
        (
            {"num1": 10, "num2": 0},
            TEN_ZERO,
            {"Add": 10, "Subtract": 10, "Multiply": 0},
            {"num1": 10, "num2": 0},
        ),
        ({}, ZEROS, {"Add": 0, "Subtract": 0, "Multiply": 0}, {"num1": 0, "num2": 0}),
    ],
)
def test_failed_operations_make_the_calculation_failed_with_partial_results(
    call, table_stub, input_document, document, partial, numbers
):
    stub_get(table_stub, item("calc-1", "FAILED", input_document=input_document, result=document))

    response = call("GET", "/calculations/calc-1")

    assert response.status == 200
    assert response.json["status"] == "FAILED"
    assert response.json["failedOperations"] == [{"operation": "Division", "message": "division by zero"}]
    assert response.json["partialResults"] == partial
    assert "result" not in response.json
    assert response.json["input"] == numbers  # a missing number is the 0 the function read


def test_execution_failure_reports_its_type_and_message(call, table_stub):
    stub_get(
        table_stub,
        item(
            "calc-1",
            "FAILED",
            input_document={"num1": "10"},
            error_type="durable_math.InvalidInputError",
            error_message="num1 must be a number, got str",
        ),
    )

    response = call("GET", "/calculations/calc-1")

    assert response.status == 200
    assert response.json["status"] == "FAILED"
    assert response.json["error"] == {
        "type": "durable_math.InvalidInputError",
        "message": "num1 must be a number, got str",
    }
    assert "input" not in response.json  # the spec's input is two numbers; this one was not


def test_a_timed_out_calculation_without_an_error_has_no_error_field(call, table_stub):
    # Given a timed-out calculation recorded without an error
    stub_get(table_stub, item("calc-1", "TIMED_OUT"))

    # When it is read
    response = call("GET", "/calculations/calc-1")

    # Then it is TIMED_OUT, with no empty "error" object
    assert response.status == 200
    assert response.headers["Cache-Control"] == FINISHED
    assert response.json == {
        "id": "calc-1",
        "status": "TIMED_OUT",
        "input": {"num1": 10, "num2": 5},
        "startedAt": "2026-01-01T12:00:00Z",
        "endedAt": "2026-01-01T12:00:01.250000Z",
        "links": {
            "self": "/Prod/calculations/calc-1",
            "result": "/Prod/calculations/calc-1/result",
            "history": "/Prod/calculations/calc-1/history",
            "stop": "/Prod/calculations/calc-1/stop",
        },
    }


def test_an_error_with_only_a_type_is_reported_with_only_the_type(call, table_stub):
    stub_get(table_stub, item("calc-1", "STOPPED", error_type="StoppedByUser"))

    response = call("GET", "/calculations/calc-1")

    assert response.status == 200
    assert response.json["status"] == "STOPPED"
    assert response.json["error"] == {"type": "StoppedByUser"}


def test_unknown_id_is_404(call, table_stub):
    stub_get(table_stub, None)

    response = call("GET", "/calculations/calc-1")

    assert response.status == 404
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.json == NOT_FOUND


@pytest.mark.parametrize("suffix", ["", "/result", "/history"])
def test_another_consumers_calculation_answers_like_an_unknown_id(call, table_stub, suffix):
    # Given the item under the caller's name belongs to someone else (however it got there)
    stub_get(table_stub, {**item("calc-1", "SUCCEEDED"), "owner": {"S": OTHER_OWNER}})
    stub_get(table_stub, None)

    # When the caller reads it, and an id nobody has
    other = call("GET", "/calculations/calc-1" + suffix)
    unknown = call("GET", "/calculations/calc-1" + suffix)

    # Then both answers are the same 404, word for word
    assert other.status == 404
    assert other.text == unknown.text
    assert other.json == {**NOT_FOUND, "instance": "/calculations/calc-1" + suffix}


def test_an_item_past_its_expiry_is_404(call, table_stub):
    # Given an item whose retention ended a second ago, not yet removed by the table's TTL
    stub_get(table_stub, item("calc-1", "SUCCEEDED", expires_at=1795953599))

    response = call("GET", "/calculations/calc-1")

    assert response.status == 404
    assert response.json == NOT_FOUND


def test_an_item_whose_expiry_is_this_very_second_is_404(call, table_stub):
    # Given an item whose retention ends at NOW exactly (expiresAt is the first second it is gone)
    stub_get(table_stub, item("calc-1", "SUCCEEDED", expires_at=1795953600))

    # When it is read at NOW
    response = call("GET", "/calculations/calc-1")

    # Then it is already gone
    assert response.status == 404
    assert response.json == NOT_FOUND


@pytest.mark.parametrize("suffix", ["", "/result", "/history", "/stop"])
def test_an_abandoned_start_is_404_everywhere(call, table_stub, suffix):
    # Given a start that never recorded its execution: no ARN, its deadline (NOW) passed
    abandoned = {**item("calc-1", "RUNNING", arn=None), "startDeadline": {"N": "1795953600"}}
    stub_get(table_stub, abandoned)

    # When it is read (or stopped), Then it is not there, with no Lambda call (the stub refuses any)
    response = call("POST" if suffix == "/stop" else "GET", "/calculations/calc-1" + suffix)

    assert response.status == 404
    assert response.json == {**NOT_FOUND, "instance": "/calculations/calc-1" + suffix}


def test_a_start_within_its_deadline_reads_as_running(call, table_stub):
    # Given a start whose ARN is not recorded yet, with a second left of its deadline
    stub_get(table_stub, {**item("calc-1", "RUNNING", arn=None), "startDeadline": {"N": "1795953601"}})

    response = call("GET", "/calculations/calc-1")

    assert response.status == 200
    assert response.json["status"] == "RUNNING"


@pytest.mark.parametrize(
    "if_none_match",
    ['"' + "a" * 1023 + '"', '"a"\x00', '"ä"'],
    ids=["1025-chars", "control", "non-ascii"],
)
@pytest.mark.parametrize("suffix", ["", "/result", "/history"])
def test_an_if_none_match_over_its_limits_is_refused_naming_the_header(call, if_none_match, suffix):
    # Given an If-None-Match one character over 1024, or holding a character that is not visible ASCII
    # When a calculation is read with it (nothing is stubbed: no call may be made)
    response = call("GET", "/calculations/calc-1" + suffix, headers={"If-None-Match": if_none_match})

    # Then it is a 422 naming the header and what it must be
    assert response.status == 422
    assert response.json["errors"] == [
        {
            "field": "If-None-Match",
            "message": "must be at most 1024 characters of visible ASCII, e.g. an ETag",
        }
    ]


@pytest.mark.parametrize("suffix", ["", "/result"])
def test_if_none_match_star_on_a_finished_document_is_304(call, table_stub, suffix):
    # Given a finished calculation
    stub_get(table_stub, item("calc-1", "SUCCEEDED"))

    # When a client asks for it only if it has no copy of any version (If-None-Match: *)
    response = call("GET", "/calculations/calc-1" + suffix, headers={"If-None-Match": "*"})

    # Then any current copy matches: 304 without a body
    assert response.status == 304
    assert response.text == ""
    assert response.headers["Cache-Control"] == FINISHED


def test_if_none_match_star_on_a_running_calculation_gets_the_document(call, table_stub):
    # Given a running calculation, which has no ETag
    stub_get(table_stub, item("calc-1", "RUNNING"))

    response = call("GET", "/calculations/calc-1", headers={"If-None-Match": "*"})

    # Then the document is served, never kept
    assert response.status == 200
    assert response.json["status"] == "RUNNING"


def test_an_item_within_its_retention_is_served(call, table_stub):
    stub_get(table_stub, item("calc-1", "SUCCEEDED", expires_at=1795953601))

    response = call("GET", "/calculations/calc-1")

    assert response.status == 200


@pytest.mark.parametrize("path", ["/calculations/" + "a" * 65, "/calculations/..", "/calculations/a%2Fb"])
@pytest.mark.parametrize("suffix", ["", "/result", "/history"])
def test_ids_that_are_not_execution_names_are_refused_before_any_call(call, path, suffix):
    response = call("GET", path + suffix)

    assert response.status == 422
    assert response.json["errors"] == [{"field": "id", "message": "must be 1-64 of A-Z a-z 0-9 - _"}]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/calculations/c1\n"),
        ("GET", "/calculations/c1\n/result"),
        ("DELETE", "/calculations/c1\n"),
        ("POST", "/calculations/c1\n/stop"),
        ("GET", "/webhooks/ep_0123456789abcdef01234567\n"),
    ],
)
def test_an_id_with_a_final_newline_is_refused_on_every_route(stubs, method, path):
    # Given a path whose id ends in a newline (`%0A`, as the request line carries it, decoded)
    event = rest_event(method, "/calculations/c1")
    event["path"] = path

    # When it is sent (no table or Lambda call is stubbed: none may be made)
    from app import lambda_handler

    result = lambda_handler(event, FakeLambdaContext())

    # Then it is not an id, whatever the route
    assert result["statusCode"] == 422
    assert json.loads(result["body"])["errors"] == [
        {"field": "id", "message": "must be 1-64 of A-Z a-z 0-9 - _"}
    ]


def test_an_id_with_a_slash_matches_no_route(call):
    response = call("GET", "/calculations/a/b")

    assert response.status == 404
    assert response.json["detail"] == "there is no resource at /calculations/a/b"


@pytest.mark.parametrize(
    ("code", "http_status", "status"),
    [
        ("InternalServerError", 500, 503),
        ("ServiceUnavailable", 503, 503),
        ("AccessDeniedException", 400, 502),
        ("ResourceNotFoundException", 400, 502),
    ],
)
def test_table_failures_are_problems_without_aws_details(call, table_stub, code, http_status, status):
    # Given DynamoDB fails the read (a missing table is a configuration fault, not a missing id)
    table_stub.add_client_error(
        "get_item",
        service_error_code=code,
        service_message="User: arn:aws:sts::123456789012:assumed-role/api is not authorized",
        http_status_code=http_status,
    )

    response = call("GET", "/calculations/calc-1")

    assert response.status == status
    assert response.headers["Content-Type"] == "application/problem+json"
    assert "arn:" not in response.text
    assert code not in response.text
    assert "not authorized" not in response.text


def test_get_when_the_table_throttles_is_429_with_retry_after(call, table_stub):
    table_stub.add_client_error(
        "get_item",
        service_error_code="ThrottlingException",
        service_message="Rate exceeded",
        http_status_code=400,
    )

    response = call("GET", "/calculations/calc-1")

    assert response.status == 429
    assert response.headers["Retry-After"] == "1"
    assert response.json["detail"] == "too many requests right now; retry later"


@pytest.mark.parametrize(
    ("document", "text"),
    [
        (
            {"Add": 15, "Subtract": 5, "Multiply": 50, "Division": 2.0},
            '{"Add":15,"Subtract":5,"Multiply":50,"Division":2.0}',
        ),
        (
            TEN_ZERO,
            '{"error_details":"One or more operations failed","errors":{"Division":"division by zero"},'
            '"Add":10,"Subtract":10,"Multiply":0}',
        ),
    ],
)
def test_result_returns_the_function_document(call, table_stub, document, text):
    stub_get(table_stub, item("calc-1", "FAILED" if "errors" in document else "SUCCEEDED", result=document))

    response = call("GET", "/calculations/calc-1/result")

    assert response.status == 200
    assert response.text == text
    assert response.headers["Cache-Control"] == FINISHED
    assert response.headers["ETag"].startswith('"')


def test_result_while_running_is_202_with_retry_after(call, table_stub):
    stub_get(table_stub, item("calc-1", "RUNNING"))

    response = call("GET", "/calculations/calc-1/result")

    assert response.status == 202
    assert response.headers["Retry-After"] == "1"
    assert response.headers["Location"] == "/Prod/calculations/calc-1"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.json["status"] == "RUNNING"


@pytest.mark.parametrize("status", ["STOPPED", "TIMED_OUT", "FAILED"])
def test_result_of_a_calculation_that_ended_without_one_is_409(call, table_stub, status):
    stub_get(table_stub, item("calc-1", status, error_type="Stopped", error_message="ended"))

    response = call("GET", "/calculations/calc-1/result")

    assert response.status == 409
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json["detail"] == f"the calculation ended with status {status} and has no result"


# History: the table says whose it is and where it runs; Lambda has the events.


def history_params(arn, marker=None):
    return {
        "DurableExecutionArn": arn,
        "IncludeExecutionData": True,
        "MaxItems": 1000,
        **({"Marker": marker} if marker else {}),
    }


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
    """10 and 0: Add succeeds, Division fails, Subtract and Multiply are still STARTED at the end."""
    events = [
        {
            "EventType": "ExecutionStarted",
            "EventId": 1,
            "Id": "exec",
            "Name": "calc-1",
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
            "Name": "calc-1",
            "EventTimestamp": ENDED,
            "ExecutionSucceededDetails": {"Result": {"Payload": "{}"}},
        }
    )
    return events


def test_history_reads_lambda_by_the_arn_across_pages_and_keeps_it_once_ended(call, table_stub, lambda_stub):
    # Given the table knows the calculation's ARN, and Lambda has two pages of its events
    arn = execution_arn(name_of("calc-1"))
    events = finished_history()
    stub_get(table_stub, item("calc-1", "FAILED", result=TEN_ZERO))
    lambda_stub.add_response(
        "get_durable_execution_history", {"Events": events[:5], "NextMarker": "p2"}, history_params(arn)
    )
    lambda_stub.add_response(
        "get_durable_execution_history", {"Events": events[5:]}, history_params(arn, "p2")
    )
    # The second read finds the item again, and no more Lambda calls
    stub_get(table_stub, item("calc-1", "FAILED", result=TEN_ZERO))

    # When the history is read twice
    response = call("GET", "/calculations/calc-1/history")
    again = call("GET", "/calculations/calc-1/history")

    # Then each operation's latest state is listed, cacheable for good, the same both times
    assert response.status == 200
    assert response.json["ended"] is True
    assert response.headers["Cache-Control"] == FINISHED
    steps = {op["name"]: op for op in response.json["operations"] if op["type"] == "STEP"}
    assert steps["Add"] == {
        "id": "step-0",
        "name": "Add",
        "type": "STEP",
        "subType": "Step",
        "parentId": "branch-0",
        "status": "SUCCEEDED",
        "attempts": 1,
        "startedAt": "2026-01-01T12:00:00.200000Z",
        "endedAt": "2026-01-01T12:00:00.300000Z",
        "attemptDetails": [
            {
                "number": 1,
                "status": "SUCCEEDED",
                "startedAt": "2026-01-01T12:00:00.200000Z",
                "endedAt": "2026-01-01T12:00:00.300000Z",
            }
        ],
    }
    assert steps["Division"]["status"] == "FAILED"
    assert steps["Division"]["error"] == {"type": "ZeroDivisionError", "message": "division by zero"}
    assert steps["Subtract"]["status"] == "STARTED"
    assert steps["Multiply"]["status"] == "STARTED"
    assert response.json["operations"][0]["name"] == "Calculate"
    assert again.json == response.json
    assert again.headers["ETag"] == response.headers["ETag"]


def test_a_current_copy_of_a_finished_history_is_revalidated_with_304(call, table_stub, lambda_stub):
    # Given a client read a finished history and kept its ETag
    stub_get(table_stub, item("calc-1", "FAILED", result=TEN_ZERO))
    lambda_stub.add_response(
        "get_durable_execution_history",
        {"Events": finished_history()},
        history_params(execution_arn(name_of("calc-1"))),
    )
    first = call("GET", "/calculations/calc-1/history")

    # When it asks again with that ETag, and with another
    stub_get(table_stub, item("calc-1", "FAILED", result=TEN_ZERO))
    stub_get(table_stub, item("calc-1", "FAILED", result=TEN_ZERO))
    current = call("GET", "/calculations/calc-1/history", headers={"If-None-Match": first.headers["ETag"]})
    other = call("GET", "/calculations/calc-1/history", headers={"If-None-Match": '"something-else"'})

    # Then the current copy is 304 without a body; another tag gets the history
    assert current.status == 304
    assert current.text == ""
    assert current.headers["ETag"] == first.headers["ETag"]
    assert other.status == 200
    assert other.json == first.json


def test_history_of_a_retrying_step_shows_pending_then_attempts(call, table_stub, lambda_stub):
    # Given a running calculation whose Add failed once and will be retried in a second
    arn = execution_arn(name_of("calc-1"))
    failed = history_event(
        "StepFailed",
        "step-0",
        "Add",
        0.3,
        Error={"Payload": {"ErrorType": "ConnectionError", "ErrorMessage": "reset"}},
        RetryDetails={"CurrentAttempt": 1, "NextAttemptDelaySeconds": 1},
    )
    events = [history_event("StepStarted", "step-0", "Add", 0.2), failed]
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
    stub_get(table_stub, item("calc-1", "RUNNING"))
    lambda_stub.add_response("get_durable_execution_history", {"Events": events}, history_params(arn))
    stub_get(table_stub, item("calc-1", "RUNNING"))
    lambda_stub.add_response("get_durable_execution_history", {"Events": retried}, history_params(arn))

    # When the history is read while it waits, then after the retry
    waiting = call("GET", "/calculations/calc-1/history")
    done = call("GET", "/calculations/calc-1/history")

    # Then the step is PENDING after one attempt, then SUCCEEDED after two, its error gone
    assert waiting.json["operations"][0]["status"] == "PENDING"
    assert waiting.json["operations"][0]["attempts"] == 1
    assert waiting.headers["Cache-Control"] == "no-store"
    assert done.json["operations"][0]["status"] == "SUCCEEDED"
    assert done.json["operations"][0]["attempts"] == 2
    assert "error" not in done.json["operations"][0]


def test_history_lists_each_attempt_of_a_step_with_the_wait_between_them(call, table_stub, lambda_stub):
    # Given a step that failed once, waited a second, and succeeded on its second attempt
    events = [
        history_event("StepStarted", "step-0", "Add", 0.2),
        history_event(
            "StepFailed",
            "step-0",
            "Add",
            0.3,
            Error={"Payload": {"ErrorType": "ConnectionError", "ErrorMessage": "reset"}},
            RetryDetails={"CurrentAttempt": 1, "NextAttemptDelaySeconds": 1},
        ),
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
    stub_get(table_stub, item("calc-1", "RUNNING"))
    lambda_stub.add_response(
        "get_durable_execution_history", {"Events": events}, history_params(execution_arn(name_of("calc-1")))
    )

    # When the history is read
    response = call("GET", "/calculations/calc-1/history")

    # Then each attempt has its own times and outcome, the failed one its error and the wait after it
    assert response.json["operations"][0]["attemptDetails"] == [
        {
            "number": 1,
            "status": "FAILED",
            "startedAt": "2026-01-01T12:00:00.200000Z",
            "endedAt": "2026-01-01T12:00:00.300000Z",
            "error": {"type": "ConnectionError", "message": "reset"},
            "retryDelaySeconds": 1,
        },
        {
            "number": 2,
            "status": "SUCCEEDED",
            "startedAt": "2026-01-01T12:00:01.300000Z",
            "endedAt": "2026-01-01T12:00:01.400000Z",
        },
    ]


def test_history_keeps_the_first_twenty_attempts_of_a_step(call, table_stub, lambda_stub):
    # Given a step that failed 25 times, a second apart
    events = []
    for attempt in range(25):
        events.append(history_event("StepStarted", "step-0", "Add", attempt + 0.1))
        events.append(
            history_event(
                "StepFailed",
                "step-0",
                "Add",
                attempt + 0.2,
                Error={"Payload": {"ErrorType": "ConnectionError", "ErrorMessage": "reset"}},
                RetryDetails={"CurrentAttempt": attempt + 1, "NextAttemptDelaySeconds": 1},
            )
        )
    stub_get(table_stub, item("calc-1", "RUNNING"))
    lambda_stub.add_response(
        "get_durable_execution_history", {"Events": events}, history_params(execution_arn(name_of("calc-1")))
    )

    # When the history is read
    operation = call("GET", "/calculations/calc-1/history").json["operations"][0]

    # Then the count says 25, and the details stop at the first 20
    assert operation["attempts"] == 25
    assert [attempt["number"] for attempt in operation["attemptDetails"]] == list(range(1, 21))
    assert operation["attemptDetails"][-1]["endedAt"] == "2026-01-01T12:00:19.200000Z"


def test_history_of_a_calculation_still_starting_is_empty(call, table_stub):
    # Given the item exists but its start has not recorded the execution yet
    stub_get(table_stub, item("calc-1", "RUNNING", arn=None))

    response = call("GET", "/calculations/calc-1/history")

    assert response.status == 200
    assert response.json == {"id": "calc-1", "ended": False, "operations": []}
    assert response.headers["Cache-Control"] == "no-store"


def test_history_of_an_execution_lambda_no_longer_has_is_404(call, table_stub, lambda_stub):
    stub_get(table_stub, item("calc-1", "SUCCEEDED"))
    lambda_stub.add_client_error(
        "get_durable_execution_history",
        service_error_code="ResourceNotFoundException",
        service_message="Execution not found",
        http_status_code=404,
    )

    response = call("GET", "/calculations/calc-1/history")

    assert response.status == 404
    assert response.json == {**NOT_FOUND, "instance": "/calculations/calc-1/history"}


def test_a_kept_history_is_not_served_after_its_calculation_is_deleted(call, table_stub, lambda_stub):
    # Given a finished history the container keeps
    old_arn = execution_arn(name_of("calc-1"))
    stub_get(table_stub, item("calc-1", "FAILED", result=TEN_ZERO))
    lambda_stub.add_response(
        "get_durable_execution_history", {"Events": finished_history()}, history_params(old_arn)
    )
    kept = call("GET", "/calculations/calc-1/history")
    # And the calculation is deleted
    stub_get(table_stub, item("calc-1", "FAILED", result=TEN_ZERO))
    lambda_stub.add_response(
        "delete_durable_execution", {"DeletionRequestTimestamp": ENDED}, {"DurableExecutionArn": old_arn}
    )
    table_stub.add_response("delete_item", {}, delete_item_params(name_of("calc-1")))
    deleted = call("DELETE", "/calculations/calc-1")

    # When the same id runs again, as a new execution, and its history is read
    new_arn = execution_arn(name_of("calc-1"), run="9a8b7c")
    stub_get(table_stub, item("calc-1", "RUNNING", arn=new_arn))
    lambda_stub.add_response(
        "get_durable_execution_history",
        {"Events": [history_event("StepStarted", "step-0", "Add", 0.2)]},
        history_params(new_arn),
    )
    again = call("GET", "/calculations/calc-1/history")

    # Then it is the new execution's history, not the one kept before the delete
    assert kept.json["ended"] is True
    assert deleted.status == 204
    assert again.status == 200
    assert again.json["ended"] is False
    assert [op["name"] for op in again.json["operations"]] == ["Add"]


# The list: the owner's index, newest first, with an opaque cursor.

LISTED = ("executionName", "owner", "startedAt", "id", "status", "endedAt", "expiresAt")


def listed(calculation_id, status="SUCCEEDED", started=STARTED_TEXT):
    """An item as the byOwner index projects it."""
    record = item(calculation_id, status, started=started)
    return {name: value for name, value in record.items() if name in LISTED}


def index_key(calculation_id, started=STARTED_TEXT, owner=OWNER):
    return {
        "executionName": {"S": name_of(calculation_id, owner)},
        "owner": {"S": owner},
        "startedAt": {"S": started},
    }


def query_params(limit=20, status=None, start_key=None):
    """The Query of the caller's index, newest first, hiding expired items and abandoned starts (at NOW)."""
    names = {
        "#owner": "owner",
        "#expiresAt": "expiresAt",
        "#startDeadline": "startDeadline",
        "#executionArn": "executionArn",
    }
    values = {":owner": {"S": OWNER}, ":now": {"N": "1795953600"}}
    expression = (
        "(attribute_not_exists(#expiresAt) OR #expiresAt > :now) AND (attribute_not_exists(#startDeadline)"
        " OR #startDeadline > :now OR attribute_exists(#executionArn))"
    )
    if status:
        names["#status"] = "status"
        values[":status"] = {"S": status}
        expression += " AND #status = :status"
    return {
        "TableName": "calculations",
        "IndexName": "byOwner",
        "KeyConditionExpression": "#owner = :owner",
        "FilterExpression": expression,
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
        "ScanIndexForward": False,
        "Limit": limit,
        **({"ExclusiveStartKey": start_key} if start_key else {}),
    }


def cursor_of(document):
    """A cursor as a client could forge one: base64url JSON, unpadded."""
    return base64.urlsafe_b64encode(json.dumps(document).encode()).decode().rstrip("=")


def test_list_queries_the_callers_index_newest_first(call, table_stub):
    # Given the caller's index holds a running and a finished calculation
    newer = "2026-01-01T12:05:00.000000Z"
    table_stub.add_response(
        "query", {"Items": [listed("newest", "RUNNING", newer), listed("older")]}, query_params()
    )

    # When the caller lists (no Lambda call is stubbed: none may be made)
    response = call("GET", "/calculations")

    # Then both are listed, newest first, as summaries
    assert response.status == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.json == {
        "items": [
            {
                "id": "newest",
                "status": "RUNNING",
                "startedAt": "2026-01-01T12:05:00Z",
                "links": {
                    "self": "/Prod/calculations/newest",
                    "result": "/Prod/calculations/newest/result",
                    "history": "/Prod/calculations/newest/history",
                    "stop": "/Prod/calculations/newest/stop",
                },
            },
            {
                "id": "older",
                "status": "SUCCEEDED",
                "startedAt": "2026-01-01T12:00:00Z",
                "endedAt": "2026-01-01T12:00:01.250000Z",
                "links": {
                    "self": "/Prod/calculations/older",
                    "result": "/Prod/calculations/older/result",
                    "history": "/Prod/calculations/older/history",
                    "stop": "/Prod/calculations/older/stop",
                },
            },
        ]
    }


def test_list_pages_with_a_cursor_that_round_trips_the_index_key(call, table_stub):
    # Given a first page of two that DynamoDB says goes on
    table_stub.add_response(
        "query",
        {"Items": [listed("c3"), listed("c2")], "LastEvaluatedKey": index_key("c2")},
        query_params(limit=2, status="SUCCEEDED"),
    )
    first = call("GET", "/calculations?status=SUCCEEDED&limit=2")

    # When the next page is asked for with the cursor
    table_stub.add_response(
        "query",
        {"Items": [listed("c1")]},
        query_params(limit=2, status="SUCCEEDED", start_key=index_key("c2")),
    )
    second = call("GET", f"/calculations?status=SUCCEEDED&limit=2&cursor={first.json['nextCursor']}")

    # Then the listing continues where it stopped, and the last page has no cursor
    assert [entry["id"] for entry in first.json["items"]] == ["c3", "c2"]
    assert name_of("c2") not in first.json["nextCursor"]
    assert [entry["id"] for entry in second.json["items"]] == ["c1"]
    assert "nextCursor" not in second.json


def test_a_filtered_page_that_comes_back_short_continues(call, table_stub):
    # Given DynamoDB's Limit counts items before the filter: the first query finds one FAILED of three
    table_stub.add_response(
        "query",
        {"Items": [listed("f3", "FAILED")], "LastEvaluatedKey": index_key("c1")},
        query_params(limit=3, status="FAILED"),
    )
    table_stub.add_response(
        "query",
        {"Items": [listed("f2", "FAILED"), listed("f1", "FAILED")], "LastEvaluatedKey": index_key("f1")},
        query_params(limit=2, status="FAILED", start_key=index_key("c1")),
    )

    # When the caller asks for three FAILED calculations
    response = call("GET", "/calculations?status=FAILED&limit=3")

    # Then the page is full, and goes on after the last one listed
    assert [entry["id"] for entry in response.json["items"]] == ["f3", "f2", "f1"]
    assert [entry["status"] for entry in response.json["items"]] == ["FAILED", "FAILED", "FAILED"]
    assert "nextCursor" in response.json


def test_list_uses_the_default_page_size(call, table_stub):
    table_stub.add_response("query", {"Items": []}, query_params(limit=20))

    response = call("GET", "/calculations")

    assert response.status == 200
    assert response.json == {"items": []}


@pytest.mark.parametrize(
    ("cursor", "message"),
    [
        ("not-a-cursor", "is not a cursor this API issued"),
        ("e30", "is not a cursor this API issued"),
        ("!!!!", "is not a cursor this API issued"),
        (
            cursor_of({"k": {"executionName": "calc-x", "owner": "key:key-a"}, "s": None}),
            "is not a cursor this API issued",
        ),
        (
            cursor_of({"k": {"executionName": "calc-x", "owner": "key:key-a", "startedAt": 1}, "s": None}),
            "is not a cursor this API issued",
        ),
        (
            cursor_of(
                {
                    "k": {"executionName": name_of("x"), "owner": "key:key-b", "startedAt": STARTED_TEXT},
                    "s": None,
                }
            ),
            "is not a cursor this API issued",
        ),
        (
            cursor_of(
                {
                    "k": {"executionName": name_of("x"), "owner": "key:key-a", "startedAt": STARTED_TEXT},
                    "s": "FAILED",
                }
            ),
            "belongs to a listing with another status filter",
        ),
        (
            cursor_of({"k": {"executionName": "", "owner": "key:key-a", "startedAt": ""}, "s": None}),
            "is not a cursor this API issued",
        ),
        (
            cursor_of(
                {"k": {"executionName": "calc-x", "owner": "key:key-a", "startedAt": STARTED_TEXT}, "s": None}
            ),
            "is not a cursor this API issued",
        ),
        (
            cursor_of(
                {"k": {"executionName": name_of("x"), "owner": "key:key-a", "startedAt": "2026"}, "s": None}
            ),
            "is not a cursor this API issued",
        ),
        (
            cursor_of(
                {
                    "k": {
                        "executionName": name_of("x"),
                        "owner": "key:key-a",
                        "startedAt": "2026-1-01T12:00:00.0Z",
                    },
                    "s": None,
                }
            ),
            "is not a cursor this API issued",
        ),
    ],
    ids=[
        "not-base64-json",
        "no-key",
        "bad-base64",
        "missing-attribute",
        "not-a-string",
        "other-owner",
        "other-filter",
        "empty-values",
        "not-an-execution-name",
        "not-a-time",
        "time-not-in-written-form",
    ],
)
def test_a_tampered_cursor_is_422_before_any_query(call, cursor, message):
    # No Query is stubbed: none may be made
    response = call("GET", f"/calculations?cursor={cursor}")

    assert response.status == 422
    assert response.json["errors"] == [{"field": "cursor", "message": message}]


@pytest.mark.parametrize("cursor", ["a" * 4097, "a+b/c="], ids=["4097-chars", "not-base64url"])
def test_a_cursor_over_its_limits_is_422_before_any_query(call, cursor):
    # Given a cursor one character over 4096, or with characters no issued cursor holds
    # When the list is asked for with it (no Query is stubbed: none may be made)
    response = call("GET", f"/calculations?cursor={quote(cursor, safe='')}")

    # Then it is refused like any cursor this API did not issue
    assert response.status == 422
    assert response.json["errors"] == [{"field": "cursor", "message": "is not a cursor this API issued"}]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=ten", "limit"),
        ("limit=1_0", "limit"),
        ("limit=1.0", "limit"),
        ("limit=%2B2", "limit"),
        ("limit=%E2%80%892", "limit"),
        ("limit=%C2%B2", "limit"),
        ("status=DONE", "status"),
    ],
)
def test_list_refuses_bad_parameters(call, query, field):
    response = call("GET", f"/calculations?{query}")

    assert response.status == 422
    assert [error["field"] for error in response.json["errors"]] == [field]


DIGITS_ONLY = "must be a whole number written in digits, such as 20"
SENT_TWICE = "is sent more than once; send it once"


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("limit=1_0", "limit", DIGITS_ONLY),
        ("limit=%2B2", "limit", DIGITS_ONLY),
        ("limit=1.0", "limit", DIGITS_ONLY),
        ("limit=1&limit=2", "limit", SENT_TWICE),
        ("cursor=a&cursor=b", "cursor", SENT_TWICE),
        ("status=FAILED&status=SUCCEEDED", "status", SENT_TWICE),
    ],
)
def test_list_says_why_a_parameter_is_refused_before_any_query(call, query, field, message):
    response = call("GET", f"/calculations?{query}")

    assert response.status == 422
    assert response.json["errors"] == [{"field": field, "message": message}]


def test_a_lowered_page_size_limit_is_enforced(call, monkeypatch):
    monkeypatch.setenv("LIST_MAX_LIMIT", "50")
    settings.get_settings.cache_clear()

    response = call("GET", "/calculations?limit=51")

    assert response.status == 422
    assert response.json["errors"] == [{"field": "limit", "message": "must be at most 50"}]


def test_a_kept_history_is_not_served_for_a_new_run_of_the_same_id(call, table_stub, lambda_stub):
    # Given this container keeps the finished history of calc-1's execution
    old_arn = execution_arn(name_of("calc-1"))
    stub_get(table_stub, item("calc-1", "FAILED", result=TEN_ZERO))
    lambda_stub.add_response(
        "get_durable_execution_history", {"Events": finished_history()}, history_params(old_arn)
    )
    kept = call("GET", "/calculations/calc-1/history")

    # When another container deleted it and the same id started again, as a new execution
    new_arn = execution_arn(name_of("calc-1"), run="9a8b7c")
    stub_get(table_stub, item("calc-1", "RUNNING", arn=new_arn))
    lambda_stub.add_response(
        "get_durable_execution_history",
        {"Events": [history_event("StepStarted", "step-0", "Add", 0.2)]},
        history_params(new_arn),
    )
    again = call("GET", "/calculations/calc-1/history")

    # Then this container serves the new execution's history, not the one it kept
    assert kept.json["ended"] is True
    assert again.status == 200
    assert again.json["ended"] is False
    assert [op["name"] for op in again.json["operations"]] == ["Add"]
