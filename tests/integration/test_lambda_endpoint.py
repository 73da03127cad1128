"""boto3 against the local Lambda endpoint: the calls the API function makes, as Lambda answers them."""

from __future__ import annotations

import json
import threading
import time
import uuid
from urllib.parse import quote

import boto3
import pytest
import requests
from aws_durable_execution_sdk_python_testing.exceptions import (
    IllegalStateException,
    ResourceNotFoundException,
    RuntimeException,
    ServiceException,
)
from botocore.config import Config
from botocore.exceptions import ClientError

from api_helpers import TEN_AND_FIVE, TEN_AND_ZERO
from local.lambda_api import MAX_SYNC_PAYLOAD, LambdaApiError
from runtime_process import LocalRuntime, local_lambda_client, raw_request

FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:math-durable"
NOBODYS_ARN = f"{FUNCTION_ARN}:1/durable-execution/nobody/x"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def wait_until_ended(client, arn: str, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        execution = client.get_durable_execution(DurableExecutionArn=arn)
        if execution["Status"] != "RUNNING":
            return execution
        time.sleep(0.05)
    raise AssertionError(f"{arn} still RUNNING after {timeout} s")


@pytest.mark.parametrize(
    ("function_name", "qualifier"),
    [
        ("math-durable:live", None),
        ("math-durable", "live"),
        ("math-durable", None),
        ("math-durable:$LATEST", None),
        (f"{FUNCTION_ARN}:live", None),
        (FUNCTION_ARN, "live"),
    ],
)
def test_request_response_invoke_returns_the_result_for_every_way_of_naming_the_function(
    lambda_client, function_name, qualifier
):
    # When 10 and 5 are invoked synchronously
    extra = {"Qualifier": qualifier} if qualifier else {}
    response = lambda_client.invoke(
        FunctionName=function_name, Payload=json.dumps({"num1": 10, "num2": 5}), **extra
    )

    # Then the answer is the result document, with the execution's ARN
    assert response["StatusCode"] == 200
    assert "FunctionError" not in response
    assert json.loads(response["Payload"].read()) == TEN_AND_FIVE
    assert response["DurableExecutionArn"].startswith(f"{FUNCTION_ARN}:")
    expected_version = (
        "1" if "live" in (function_name, qualifier) or function_name.endswith(":live") else "$LATEST"
    )
    assert response["ExecutedVersion"] == expected_version


def test_division_by_zero_is_a_successful_invocation_with_the_error_details_document(lambda_client):
    response = lambda_client.invoke(FunctionName="math-durable:live", Payload=b'{"num1": 10, "num2": 0}')

    assert "FunctionError" not in response
    assert json.loads(response["Payload"].read()) == TEN_AND_ZERO


def test_bad_input_fails_the_execution_and_the_invocation_reports_an_unhandled_error(lambda_client):
    response = lambda_client.invoke(FunctionName="math-durable:live", Payload=b'{"num1": "10"}')

    assert response["FunctionError"] == "Unhandled"
    error = json.loads(response["Payload"].read())
    assert error["errorType"] == "durable_math.InvalidInputError"
    assert "num1" in error["errorMessage"]
    execution = lambda_client.get_durable_execution(DurableExecutionArn=response["DurableExecutionArn"])
    assert execution["Status"] == "FAILED"
    assert execution["Error"]["ErrorType"] == "durable_math.InvalidInputError"


def test_event_invoke_answers_202_with_the_execution_arn_and_the_execution_finishes(lambda_client):
    name = unique("event")
    response = lambda_client.invoke(
        FunctionName="math-durable:live",
        InvocationType="Event",
        DurableExecutionName=name,
        Payload=b'{"num1": 10, "num2": 5}',
    )

    assert response["StatusCode"] == 202
    arn = response["DurableExecutionArn"]
    assert arn.startswith(f"{FUNCTION_ARN}:1/durable-execution/{name}/")
    execution = wait_until_ended(lambda_client, arn)
    assert execution["Status"] == "SUCCEEDED"
    assert execution["DurableExecutionName"] == name
    assert json.loads(execution["Result"]) == TEN_AND_FIVE
    assert json.loads(execution["InputPayload"]) == {"num1": 10, "num2": 5}
    assert execution["FunctionArn"] == f"{FUNCTION_ARN}:1"


def test_same_name_and_payload_returns_the_existing_execution(lambda_client):
    name = unique("dedup")
    first = lambda_client.invoke(
        FunctionName="math-durable:live",
        InvocationType="Event",
        DurableExecutionName=name,
        Payload=b'{"num1": 3}',
    )
    again = lambda_client.invoke(
        FunctionName="math-durable:live",
        InvocationType="Event",
        DurableExecutionName=name,
        Payload=b'{"num1": 3}',
    )
    attached = lambda_client.invoke(
        FunctionName="math-durable:live", DurableExecutionName=name, Payload=b'{"num1": 3}'
    )

    assert again["DurableExecutionArn"] == first["DurableExecutionArn"]
    assert attached["DurableExecutionArn"] == first["DurableExecutionArn"]
    assert json.loads(attached["Payload"].read())["Add"] == 3
    listed = lambda_client.list_durable_executions_by_function(
        FunctionName="math-durable", DurableExecutionName=name
    )
    assert len(listed["DurableExecutions"]) == 1


def test_same_name_with_another_payload_raises_already_started(lambda_client):
    name = unique("conflict")
    lambda_client.invoke(
        FunctionName="math-durable:live",
        InvocationType="Event",
        DurableExecutionName=name,
        Payload=b'{"num1": 1}',
    )

    with pytest.raises(lambda_client.exceptions.DurableExecutionAlreadyStartedException):
        lambda_client.invoke(
            FunctionName="math-durable:live",
            InvocationType="Event",
            DurableExecutionName=name,
            Payload=b'{"num1": 2}',
        )


def test_concurrent_invokes_with_one_name_start_exactly_one_execution(lambda_client):
    from concurrent.futures import ThreadPoolExecutor

    name = unique("race")

    def start(_: int) -> str:
        return lambda_client.invoke(
            FunctionName="math-durable:live",
            InvocationType="Event",
            DurableExecutionName=name,
            Payload=b'{"num1": 7, "num2": 7}',
        )["DurableExecutionArn"]

    with ThreadPoolExecutor(16) as pool:
        arns = set(pool.map(start, range(32)))

    assert len(arns) == 1
    listed = lambda_client.list_durable_executions_by_function(
        FunctionName="math-durable", DurableExecutionName=name
    )
    assert len(listed["DurableExecutions"]) == 1


@pytest.mark.parametrize(
    ("function_name", "qualifier"),
    [
        ("other-function", None),
        ("math-durable:dev", None),
        ("math-durable", "7"),
        (FUNCTION_ARN.replace("123", "999"), None),
    ],
)
def test_unknown_function_or_qualifier_raises_resource_not_found(lambda_client, function_name, qualifier):
    extra = {"Qualifier": qualifier} if qualifier else {}
    with pytest.raises(lambda_client.exceptions.ResourceNotFoundException):
        lambda_client.invoke(FunctionName=function_name, Payload=b"{}", **extra)


def test_unknown_execution_raises_resource_not_found(lambda_client):
    arn = f"{FUNCTION_ARN}:1/durable-execution/nobody/{uuid.uuid4()}"
    with pytest.raises(lambda_client.exceptions.ResourceNotFoundException):
        lambda_client.get_durable_execution(DurableExecutionArn=arn)
    with pytest.raises(lambda_client.exceptions.ResourceNotFoundException):
        lambda_client.get_durable_execution_history(DurableExecutionArn=arn)
    with pytest.raises(lambda_client.exceptions.ResourceNotFoundException):
        lambda_client.stop_durable_execution(DurableExecutionArn=arn)


def test_invalid_json_payload_raises_invalid_request_content(lambda_client):
    with pytest.raises(lambda_client.exceptions.InvalidRequestContentException):
        lambda_client.invoke(FunctionName="math-durable:live", Payload=b"{not json")


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/2015-03-31/functions/math-durable:live/invocations", {}),
        ("/2015-03-31/functions/math-durable:live/invocations", {"X-Amz-Invocation-Type": "Event"}),
        (f"/2025-12-01/durable-executions/{quote(NOBODYS_ARN, safe='')}/stop", {}),
    ],
    ids=["invoke", "invoke-event", "stop"],
)
def test_a_body_nested_deeper_than_python_parses_is_invalid_request_content(lambda_url, path, headers):
    # Given JSON nested 100,000 levels deep: valid, but beyond Python's recursion limit
    body = b"[" * 100_000 + b"]" * 100_000

    response = requests.post(f"{lambda_url}{path}", data=body, headers=headers, timeout=30)

    # Then it is refused as content Lambda cannot read, not a ServiceException
    assert response.status_code == 400, response.text
    assert response.headers["X-Amzn-ErrorType"] == "InvalidRequestContentException"


def test_list_filters_by_status_and_qualifier_newest_first_with_paging(lambda_client):
    # Given a succeeded and a failed execution on the alias, and one on $LATEST
    ok = lambda_client.invoke(
        FunctionName="math-durable:live", DurableExecutionName=unique("ok"), Payload=b"{}"
    )
    bad = lambda_client.invoke(
        FunctionName="math-durable:live", DurableExecutionName=unique("bad"), Payload=b'{"num2": null}'
    )
    latest = lambda_client.invoke(
        FunctionName="math-durable", DurableExecutionName=unique("latest"), Payload=b"{}"
    )

    # Then the status filter keeps only FAILED ones, and the qualifier only that version's
    failed = lambda_client.list_durable_executions_by_function(
        FunctionName="math-durable", Qualifier="live", Statuses=["FAILED"], MaxItems=1000
    )["DurableExecutions"]
    arns = [e["DurableExecutionArn"] for e in failed]
    assert bad["DurableExecutionArn"] in arns
    assert ok["DurableExecutionArn"] not in arns
    assert {e["Status"] for e in failed} == {"FAILED"}

    on_latest = lambda_client.list_durable_executions_by_function(
        FunctionName="math-durable:$LATEST", MaxItems=1000
    )
    latest_arns = [e["DurableExecutionArn"] for e in on_latest["DurableExecutions"]]
    assert latest["DurableExecutionArn"] in latest_arns
    assert ok["DurableExecutionArn"] not in latest_arns

    both = lambda_client.list_durable_executions_by_function(
        FunctionName="math-durable", Statuses=["FAILED", "SUCCEEDED"], MaxItems=1000
    )["DurableExecutions"]
    assert {ok["DurableExecutionArn"], bad["DurableExecutionArn"]} <= {e["DurableExecutionArn"] for e in both}

    # And pages come newest first, the marker leading to the next page without overlap
    first = lambda_client.list_durable_executions_by_function(FunctionName="math-durable", MaxItems=2)
    assert first["DurableExecutions"][0]["DurableExecutionArn"] == latest["DurableExecutionArn"]
    second = lambda_client.list_durable_executions_by_function(
        FunctionName="math-durable", MaxItems=2, Marker=first["NextMarker"]
    )
    starts = [e["StartTimestamp"] for e in first["DurableExecutions"] + second["DurableExecutions"]]
    assert starts == sorted(starts, reverse=True)
    assert not {e["DurableExecutionArn"] for e in first["DurableExecutions"]} & {
        e["DurableExecutionArn"] for e in second["DurableExecutions"]
    }


def test_history_includes_each_operation_and_its_result_by_default(lambda_client):
    response = lambda_client.invoke(FunctionName="math-durable:live", Payload=b'{"num1": 10, "num2": 5}')

    events = lambda_client.get_durable_execution_history(DurableExecutionArn=response["DurableExecutionArn"])[
        "Events"
    ]

    succeeded = {e["Name"]: e for e in events if e["EventType"] == "StepSucceeded"}
    # The four operations, then the step that records the result in the table
    assert set(succeeded) == {"Add", "Subtract", "Multiply", "Division", "Record"}
    assert json.loads(succeeded["Multiply"]["StepSucceededDetails"]["Result"]["Payload"]) == 50
    assert events[-1]["EventType"] == "ExecutionSucceeded"


def test_stop_keeps_the_reason_given_and_leaves_ended_executions_as_they_were(lambda_client):
    from concurrent.futures import ThreadPoolExecutor

    reason = {"ErrorType": "StoppedByUser", "ErrorMessage": "no longer needed"}

    # Given executions started concurrently, When each is stopped right after its start
    def start_and_stop(_: int) -> str:
        arn = lambda_client.invoke(
            FunctionName="math-durable:live",
            InvocationType="Event",
            DurableExecutionName=unique("stop"),
            Payload=b'{"num1": 1, "num2": 1}',
        )["DurableExecutionArn"]
        assert lambda_client.stop_durable_execution(DurableExecutionArn=arn, Error=reason)["StopTimestamp"]
        return arn

    with ThreadPoolExecutor(8) as pool:
        arns = list(pool.map(start_and_stop, range(24)))

    # Then each either stopped, with the reason kept, or had already succeeded and is unchanged
    ended = [wait_until_ended(lambda_client, arn) for arn in arns]
    stopped = [e for e in ended if e["Status"] == "STOPPED"]
    assert stopped, "no execution was still running when stopped"
    assert all(e["Error"] == reason for e in stopped)
    assert {e["Status"] for e in ended} <= {"STOPPED", "SUCCEEDED"}
    stopped_arn = stopped[0]["DurableExecutionArn"]
    events = lambda_client.get_durable_execution_history(DurableExecutionArn=stopped_arn)["Events"]
    assert events[-1]["EventType"] == "ExecutionStopped"


def test_unknown_route_is_a_4xx_that_botocore_does_not_retry(lambda_url):
    response = requests.get(f"{lambda_url}/2015-03-31/functions", timeout=5)

    assert 400 <= response.status_code < 500
    assert response.headers["X-Amzn-ErrorType"]
    assert "message" in response.json()


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        ({"Content-Length": "-5"}, 400, "InvalidRequestContentException"),
        ({"Content-Length": "abc"}, 400, "InvalidRequestContentException"),
        ({"Content-Length": str(MAX_SYNC_PAYLOAD + 1)}, 413, "RequestTooLargeException"),
        ({"Transfer-Encoding": "chunked"}, 411, "InvalidRequestContentException"),
    ],
)
def test_a_body_that_cannot_be_read_is_refused_with_a_4xx_lambda_error(lambda_url, headers, status, code):
    # When an Invoke arrives with a Content-Length that is not a size, too large, or a chunked body
    answer_status, answer_headers, body = raw_request(
        lambda_url,
        "POST",
        "/2015-03-31/functions/math-durable:live/invocations",
        {"Content-Type": "application/json", **headers},
        b"3\r\n{}\n\r\n0\r\n\r\n" if "Transfer-Encoding" in headers else b"",
    )

    # Then it is a client error botocore raises at once, in Lambda's error format, not a 5xx it retries
    assert answer_status == status
    assert answer_headers["X-Amzn-ErrorType"] == code
    assert json.loads(body)["message"]
    assert answer_headers["Connection"] == "close"


@pytest.mark.parametrize(
    "error", [IllegalStateException("bad state"), RuntimeException("x"), ServiceException("y")]
)
def test_every_server_error_of_the_package_is_answered_as_lambdas_service_exception(error):
    # When the testing package raises one of its 5xx errors
    answered = LambdaApiError.from_package(error)

    # Then it is Lambda's ServiceException, a 500, with the package's message
    assert (answered.status, answered.code, answered.message) == (500, "ServiceException", str(error))


def test_a_client_error_of_the_package_keeps_its_name_and_status():
    answered = LambdaApiError.from_package(ResourceNotFoundException("no such execution"))

    assert (answered.status, answered.code) == (404, "ResourceNotFoundException")


def test_list_accepts_every_status_lambda_knows_and_refuses_others(lambda_client, lambda_url):
    # PAUSED is a Lambda status the local runtime never reaches: a valid filter that matches nothing
    paused = lambda_client.list_durable_executions_by_function(
        FunctionName="math-durable", Qualifier="live", Statuses=["PAUSING", "PAUSED"]
    )
    assert paused["DurableExecutions"] == []

    # A status Lambda does not know is the client's error (boto3 would refuse it before sending)
    response = requests.get(
        f"{lambda_url}/2025-12-01/functions/math-durable/durable-executions?Statuses=DONE", timeout=30
    )
    assert response.status_code == 400
    assert response.headers["X-Amzn-ErrorType"] == "InvalidParameterValueException"


# Control-plane rates.

PAYLOAD = b'{"num1": 10, "num2": 5}'


def burst_client(url: str):
    """A Lambda client that can hold 40 connections at once, one attempt per call."""
    return boto3.client(
        "lambda",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=Config(retries={"max_attempts": 1, "mode": "standard"}, max_pool_connections=40),
    )


def burst_of_gets(client, arn: str, calls: int) -> list[Exception]:
    """`calls` GetDurableExecution calls sent at once; the errors they raised."""
    from concurrent.futures import ThreadPoolExecutor

    barrier = threading.Barrier(calls)

    def get(_: int) -> Exception | None:
        barrier.wait()
        try:
            client.get_durable_execution(DurableExecutionArn=arn)
        except ClientError as error:
            return error
        return None

    with ThreadPoolExecutor(calls) as pool:
        return [error for error in pool.map(get, range(calls)) if error is not None]


@pytest.fixture
def quota_runtime(needs_local, tmp_path):
    """A runtime of its own with AWS's default control-plane rates (the session runtime lifts them).

    One API worker: the bursts below measure the Lambda endpoint, not the machine warming eight.
    """
    runtime = LocalRuntime(tmp_path / "data", tmp_path / "runtime.log", "--api-workers", "1").start()
    yield runtime
    runtime.stop()


def test_a_burst_of_gets_beyond_the_bucket_is_refused_429_as_lambda_refuses_it(quota_runtime):
    # Given a runtime with the default rates, and one ended execution
    client = burst_client(quota_runtime.lambda_url)
    arn = client.invoke(FunctionName="math-durable:live", Payload=PAYLOAD)["DurableExecutionArn"]
    url = f"{quota_runtime.lambda_url}/2025-12-01/durable-executions/{quote(arn, safe='')}"
    session = requests.Session()

    # When GetDurableExecution calls arrive back to back (plain HTTP: boto3's own signing and
    # parsing take ~10 ms a call on two cores, slower than the bucket refills), until one is
    # refused: about 40 on an idle machine, more when it is busy and each answer takes longer
    answers = []
    while len(answers) < 400 and not any(answer.status_code == 429 for answer in answers[-1:]):
        answers.append(session.get(url, timeout=10))

    # Then those past the bucket are answered 429 TooManyRequestsException, as Lambda does (the rate
    # itself, 30 a second, is pinned on a fake clock in tests/unit/test_local_control_plane_quotas.py)
    throttled = [answer for answer in answers if answer.status_code == 429]
    assert throttled, "no call was throttled"
    assert throttled[0].headers["X-Amzn-ErrorType"] == "TooManyRequestsException"
    assert throttled[0].headers["Retry-After"] == "1"
    assert throttled[0].json() == {
        "Type": "User",
        "message": "Rate exceeded for GetDurableExecution",
        "Reason": "CallerRateLimitExceeded",
    }

    # And boto3, calling while the bucket is empty, raises TooManyRequestsException with the reason
    errors = burst_of_gets(client, arn, 40)
    assert errors, "no boto3 call was throttled"
    assert all(isinstance(error, client.exceptions.TooManyRequestsException) for error in errors)
    assert errors[0].response["Reason"] == "CallerRateLimitExceeded"
    assert errors[0].response["ResponseMetadata"]["HTTPStatusCode"] == 429


def test_the_same_burst_passes_with_the_control_plane_quotas_off(lambda_url):
    # Given the session runtime, started with --no-control-plane-quotas, and one ended execution
    client = burst_client(lambda_url)
    arn = client.invoke(FunctionName="math-durable:live", Payload=PAYLOAD)["DurableExecutionArn"]

    # When 40 GetDurableExecution calls arrive at once, twice, Then none is throttled
    assert burst_of_gets(client, arn, 40) + burst_of_gets(client, arn, 40) == []


# DeleteDurableExecution.


def test_delete_forgets_an_ended_execution_in_get_list_and_history_and_across_a_restart(quota_runtime):
    # Given an ended execution
    client = local_lambda_client(quota_runtime.lambda_url)
    name = unique("deleted")
    arn = client.invoke(FunctionName="math-durable:live", Payload=PAYLOAD, DurableExecutionName=name)[
        "DurableExecutionArn"
    ]

    # When it is deleted
    response = client.delete_durable_execution(DurableExecutionArn=arn)

    # Then Lambda's answer is 202 with the time of the request, and no read finds it any more
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert response["DeletionRequestTimestamp"].tzinfo is not None
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.get_durable_execution(DurableExecutionArn=arn)
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.get_durable_execution_history(DurableExecutionArn=arn)
    listed = client.list_durable_executions_by_function(
        FunctionName="math-durable", DurableExecutionName=name
    )
    assert listed["DurableExecutions"] == []

    # And after a restart on the same data folder it is still gone
    quota_runtime.stop()
    quota_runtime.start()
    client = local_lambda_client(quota_runtime.lambda_url)
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.get_durable_execution(DurableExecutionArn=arn)


def test_delete_of_an_unknown_execution_raises_resource_not_found(lambda_client):
    arn = f"{FUNCTION_ARN}:1/durable-execution/never-started/{uuid.uuid4()}"

    with pytest.raises(lambda_client.exceptions.ResourceNotFoundException):
        lambda_client.delete_durable_execution(DurableExecutionArn=arn)


def test_delete_of_a_running_execution_of_a_hosted_slow_function_raises_resource_conflict(slow_runtime):
    # Given the runtime hosting slow_durable.py (--durable-handler), and an execution it runs
    client = local_lambda_client(slow_runtime.lambda_url)
    arn = client.invoke(
        FunctionName="math-durable:live",
        InvocationType="Event",
        DurableExecutionName=unique("slow"),
        Payload=PAYLOAD,
    )["DurableExecutionArn"]
    time.sleep(1)
    assert client.get_durable_execution(DurableExecutionArn=arn)["Status"] == "RUNNING"

    # When it is deleted while running
    with pytest.raises(client.exceptions.ResourceConflictException):
        client.delete_durable_execution(DurableExecutionArn=arn)

    # Then it is still there, and once stopped it can be deleted
    assert client.get_durable_execution(DurableExecutionArn=arn)["Status"] == "RUNNING"
    client.stop_durable_execution(DurableExecutionArn=arn)
    assert client.delete_durable_execution(DurableExecutionArn=arn)["DeletionRequestTimestamp"]
