"""POST /calculations: start, canonical payloads, idempotency, Prefer: wait, throttling."""

import io
import re
from datetime import UTC, datetime

import pytest
from botocore.exceptions import ReadTimeoutError
from botocore.response import StreamingBody
from botocore.stub import ANY, Stubber

import app
import calculations_client
from events import TEN_FIVE, by_name, execution, execution_arn, get_params, invoke_event, listing

RUNNING_HEADERS = ("Location", "Retry-After")


def invoke_params(name=ANY, payload=b'{"num1":10,"num2":5}', invocation_type="Event"):
    return {
        "FunctionName": "math-durable",
        "Qualifier": "live",
        "InvocationType": invocation_type,
        "DurableExecutionName": name,
        "Payload": payload,
    }


def test_post_starts_the_alias_asynchronously_and_answers_202(call, lambda_stub):
    # Given Lambda accepts the asynchronous start
    lambda_stub.add_response("invoke", invoke_event("any"), invoke_params())

    # When a client posts two numbers
    response = call("POST", "/calculations", {"num1": 10, "num2": 5})

    # Then the calculation is accepted, with where to follow it and when to look again
    assert response.status == 202
    calculation_id = response.json["id"]
    assert re.fullmatch(r"[0-9a-f]{32}", calculation_id)
    assert response.headers["Location"] == f"/Prod/calculations/{calculation_id}"
    assert response.headers["Retry-After"] == "1"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Content-Type"] == "application/json"
    assert response.json == {
        "id": calculation_id,
        "status": "RUNNING",
        "input": {"num1": 10, "num2": 5},
        "links": {
            "self": f"/Prod/calculations/{calculation_id}",
            "result": f"/Prod/calculations/{calculation_id}/result",
            "history": f"/Prod/calculations/{calculation_id}/history",
            "stop": f"/Prod/calculations/{calculation_id}/stop",
        },
    }


@pytest.mark.parametrize(
    ("body", "payload"),
    [
        ({"num1": 10, "num2": 5}, b'{"num1":10,"num2":5}'),
        ('{ "num2" : 5,\n "num1": 10 }', b'{"num1":10,"num2":5}'),
        ({"num1": 10, "num2": 0}, b'{"num1":10,"num2":0}'),
        ({}, b'{"num1":0,"num2":0}'),
        ({"num1": -2.5}, b'{"num1":-2.5,"num2":0}'),
    ],
)
def test_post_sends_the_canonical_payload(call, lambda_stub, body, payload):
    lambda_stub.add_response("invoke", invoke_event("any"), invoke_params(payload=payload))

    response = call("POST", "/calculations", body, headers={"Content-Type": "application/json"})

    assert response.status == 202
    assert response.json["status"] == "RUNNING"


def test_post_accepts_a_base64_encoded_body(call, lambda_stub):
    lambda_stub.add_response("invoke", invoke_event("any"), invoke_params())

    response = call("POST", "/calculations", {"num1": 10, "num2": 5}, base64_body=True)

    assert response.status == 202


def test_links_and_location_follow_the_url_the_client_used(call, lambda_stub):
    # Given a client on a custom domain (or the local runtime): no stage in its URLs
    lambda_stub.add_response("invoke", invoke_event("any"), invoke_params())

    response = call("POST", "/calculations", {"num1": 10, "num2": 5}, stage_in_path=False)

    # Then Location and links carry no stage either
    calculation_id = response.json["id"]
    assert response.headers["Location"] == f"/calculations/{calculation_id}"
    assert response.json["links"]["self"] == f"/calculations/{calculation_id}"
    assert response.json["links"]["result"] == f"/calculations/{calculation_id}/result"


def test_post_with_idempotency_key_uses_it_as_the_id(call, lambda_stub):
    # Given a new key: Lambda starts an execution that has only just begun
    lambda_stub.add_response("invoke", invoke_event("order-42"), invoke_params(name="order-42"))
    lambda_stub.add_response(
        "get_durable_execution",
        execution("order-42", status="RUNNING", started=datetime.now(UTC).replace(year=2100)),
        get_params("order-42"),
    )

    response = call("POST", "/calculations", {"num1": 10, "num2": 5}, headers={"Idempotency-Key": "order-42"})

    assert response.status == 202
    assert response.headers["Location"] == "/Prod/calculations/order-42"
    assert response.json["id"] == "order-42"
    assert response.json["status"] == "RUNNING"


def test_post_with_same_idempotency_key_returns_same_calculation(call, lambda_stub, capsys):
    # Given the key was used before with the same body and that calculation has finished:
    # Lambda answers the start with the existing execution
    lambda_stub.add_response("invoke", invoke_event("order-42"), invoke_params(name="order-42"))
    lambda_stub.add_response(
        "get_durable_execution", execution("order-42", result=TEN_FIVE), get_params("order-42")
    )

    # When the client retries
    response = call("POST", "/calculations", {"num2": 5, "num1": 10}, headers={"Idempotency-Key": "order-42"})

    # Then it gets the same, finished calculation and no second execution was started
    assert response.status == 200
    assert response.headers["Location"] == "/Prod/calculations/order-42"
    assert response.json["id"] == "order-42"
    assert response.json["status"] == "SUCCEEDED"
    assert response.json["result"] == TEN_FIVE
    assert "Preference-Applied" not in response.headers
    assert '"IdempotentReplays"' in capsys.readouterr().out


def test_post_with_same_key_and_body_after_lambda_refuses_the_name_returns_same_calculation(
    call, lambda_stub
):
    # Given Lambda refuses the name (the execution has ended) although the input is the same
    lambda_stub.add_client_error(
        "invoke",
        service_error_code="DurableExecutionAlreadyStartedException",
        service_message="execution already exists",
        http_status_code=409,
        expected_params=invoke_params(name="order-42"),
    )
    lambda_stub.add_response(
        "list_durable_executions_by_function", listing("order-42", status="SUCCEEDED"), ANY_LISTING
    )
    lambda_stub.add_response(
        "get_durable_execution", execution("order-42", result=TEN_FIVE), get_params("order-42")
    )

    response = call("POST", "/calculations", {"num1": 10, "num2": 5}, headers={"Idempotency-Key": "order-42"})

    assert response.status == 200
    assert response.json["status"] == "SUCCEEDED"


ANY_LISTING = by_name("order-42")


def test_post_with_same_idempotency_key_and_another_body_is_a_conflict(call, lambda_stub, capsys):
    # Given the key belongs to a calculation of 10 and 5
    lambda_stub.add_client_error(
        "invoke",
        service_error_code="DurableExecutionAlreadyStartedException",
        service_message="arn:aws:lambda:us-east-1:123456789012:function:math-durable:1 already started",
        http_status_code=409,
        expected_params=invoke_params(name="order-42", payload=b'{"num1":1,"num2":2}'),
    )
    lambda_stub.add_response("list_durable_executions_by_function", listing("order-42"), ANY_LISTING)
    lambda_stub.add_response(
        "get_durable_execution", execution("order-42", status="RUNNING"), get_params("order-42")
    )

    # When the key is sent with other numbers
    response = call("POST", "/calculations", {"num1": 1, "num2": 2}, headers={"Idempotency-Key": "order-42"})

    # Then it is a 409 problem that says why, without AWS's words or ARNs
    assert response.status == 409
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json == {
        "type": "about:blank",
        "title": "Conflict",
        "status": 409,
        "detail": "this Idempotency-Key was already used with another body",
        "instance": "/calculations",
    }
    assert "arn:" not in response.text
    assert '"Conflicts"' in capsys.readouterr().out


@pytest.mark.parametrize("key", ["has space", "a" * 65, "", "slash/key", "dot.key", "ключ"])
def test_post_with_invalid_idempotency_key_is_refused_naming_the_header(call, lambda_stub, key):
    response = call("POST", "/calculations", {"num1": 1}, headers={"Idempotency-Key": key})

    assert response.status == 422
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json["errors"] == [
        {"field": "Idempotency-Key", "message": "must be 1-64 of A-Z a-z 0-9 - _"}
    ]


def test_prefer_wait_answers_with_the_finished_calculation(call, lambda_stub):
    # Given the calculation finishes while the API waits on the re-attached invocation
    lambda_stub.add_response("invoke", invoke_event("quick"), invoke_params(name="quick"))
    answer = io.BytesIO(b'{"Add": 15, "Subtract": 5, "Multiply": 50, "Division": 2.0}')
    with Stubber(calculations_client.attach_client(3)) as attach:
        attach.add_response(
            "invoke",
            {"StatusCode": 200, "Payload": StreamingBody(answer, len(answer.getvalue()))},
            invoke_params(name="quick", invocation_type="RequestResponse"),
        )
        lambda_stub.add_response(
            "get_durable_execution",
            execution("quick", result=TEN_FIVE, started=datetime.now(UTC).replace(year=2100)),
            get_params("quick"),
        )

        # When the client asks to wait up to 3 seconds
        response = call(
            "POST",
            "/calculations",
            {"num1": 10, "num2": 5},
            headers={"Idempotency-Key": "quick", "Prefer": "wait=3"},
        )

        attach.assert_no_pending_responses()

    # Then it gets the finished calculation at once
    assert response.status == 200
    assert response.headers["Preference-Applied"] == "wait=3"
    assert response.headers["Location"] == "/Prod/calculations/quick"
    assert response.json["status"] == "SUCCEEDED"
    assert response.json["result"] == TEN_FIVE
    assert response.json["startedAt"].startswith("2100-")
    # And the invocation's answer was read to its end, so its connection is reused
    assert answer.tell() == len(answer.getvalue())


def test_prefer_wait_answers_202_when_the_calculation_is_still_running(call, lambda_stub):
    # Given the re-attached invocation does not return within the wait
    lambda_stub.add_response("invoke", invoke_event("slow"), invoke_params())
    attach_client = calculations_client.attach_client(2)

    def time_out(params, **kwargs):
        # Clients share one event system: only the synchronous invocation times out.
        if params["headers"].get("X-Amz-Invocation-Type") == "RequestResponse":
            raise ReadTimeoutError(endpoint_url="https://lambda.us-east-1.amazonaws.com")

    attach_client.meta.events.register("before-call.lambda.Invoke", time_out)

    response = call(
        "POST", "/calculations", {"num1": 10, "num2": 5}, headers={"Prefer": "respond-async, wait=2"}
    )

    assert response.status == 202
    assert "Preference-Applied" not in response.headers
    assert response.headers["Retry-After"] == "1"
    assert response.json["status"] == "RUNNING"


def test_prefer_wait_is_capped_by_the_settings(call, lambda_stub, monkeypatch):
    monkeypatch.setenv("PREFER_WAIT_MAX_SECONDS", "1")
    lambda_stub.add_response("invoke", invoke_event("capped"), invoke_params(name="capped"))
    with Stubber(calculations_client.attach_client(1)) as attach:
        attach.add_response(
            "invoke", {"StatusCode": 200}, invoke_params(name="capped", invocation_type="RequestResponse")
        )
        lambda_stub.add_response(
            "get_durable_execution",
            execution("capped", result=TEN_FIVE, started=datetime.now(UTC).replace(year=2100)),
            get_params("capped"),
        )

        response = call(
            "POST",
            "/calculations",
            {"num1": 10, "num2": 5},
            headers={"Idempotency-Key": "capped", "Prefer": "wait=600"},
        )

    assert response.status == 200
    assert response.headers["Preference-Applied"] == "wait=1"


def test_post_when_lambda_throttles_is_429_with_retry_after(call, lambda_stub, capsys):
    lambda_stub.add_client_error(
        "invoke",
        service_error_code="TooManyRequestsException",
        service_message="Rate exceeded for arn:aws:lambda:us-east-1:123456789012:function:math-durable",
        http_status_code=429,
        modeled_fields={"retryAfterSeconds": "3", "Type": "User", "message": "Rate exceeded"},
    )

    response = call("POST", "/calculations", {"num1": 10, "num2": 5})

    assert response.status == 429
    assert response.headers["Retry-After"] == "3"
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json["title"] == "Too Many Requests"
    assert "Rate exceeded" not in response.text
    assert "arn:" not in response.text
    assert '"Throttles"' in capsys.readouterr().out


def test_post_without_a_durable_execution_arn_is_a_bad_gateway(call, lambda_stub):
    # Given the function is not durable: Lambda starts a plain invocation
    lambda_stub.add_response("invoke", {"StatusCode": 202}, invoke_params())

    response = call("POST", "/calculations", {"num1": 10, "num2": 5})

    assert response.status == 502
    assert response.json["detail"] == "the calculation service gave an unexpected answer"


def test_post_logs_the_correlation_and_calculation_ids(call, lambda_stub):
    # Given the log lines go to a buffer
    buffer = io.StringIO()
    previous = app.logger.registered_handler.setStream(buffer)
    lambda_stub.add_response("invoke", invoke_event("logged"), invoke_params(name="logged"))
    lambda_stub.add_response(
        "get_durable_execution",
        execution("logged", status="RUNNING", started=datetime.now(UTC).replace(year=2100)),
        get_params("logged"),
    )

    try:
        call("POST", "/calculations", {"num1": 10, "num2": 5}, headers={"Idempotency-Key": "logged"})
    finally:
        app.logger.registered_handler.setStream(previous)

    # Then the line names the request and the calculation
    lines = [line for line in buffer.getvalue().splitlines() if '"calculation started"' in line]
    assert len(lines) == 1
    assert '"calculation_id":"logged"' in lines[0]
    assert re.search(r'"correlation_id":"[0-9a-f-]{36}"', lines[0])


def test_execution_arn_helper_matches_lambda_arn_shape():
    # The stubbed ARNs have the shape Lambda documents, so the client never parses them itself.
    assert re.fullmatch(
        r"arn:aws:lambda:[a-z0-9-]+:\d{12}:function:[a-zA-Z0-9_-]+:\d+/durable-execution/[a-zA-Z0-9_-]+/[a-zA-Z0-9_-]+",
        execution_arn("x"),
    )
