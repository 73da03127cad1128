"""Measurements that need a fresh interpreter: run as `python -m bench.probe ...` by the bench.

The clock starts before anything else of the API or boto3 is imported, so "cold" is exactly
what a new Lambda container pays: imports, settings, client creation and the first request.
Each probe prints one JSON object on its last line.
"""

import argparse
import io
import json
import os
import sys
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import bench  # noqa: F401 - the log level every measured process shares
from local import hosted_function
from local.api_gateway import API_FUNCTION_NAME, build_event, context_fields
from local.api_keys import ApiKey
from local.function_worker import LambdaContext

# Only the standard library is imported above (the local modules use nothing else), the same
# for every probe: the clock starts before boto3, Powertools or the API are imported.
STARTED = time.perf_counter()

FUNCTION_ARN = hosted_function.function_arn(hosted_function.ALIAS)
FINISHED_ID = "bench-finished"
FINISHED_ARN = f"{FUNCTION_ARN}/durable-execution/{FINISHED_ID}/0f5a8d2c"
# The consumer whose calculations the probes read; `calls` and `flow` take the runtime's key id.
BENCH_KEY = ApiKey(id="benchkey01", name="bench", value="bench-key-value-0000000000000000000")
API_ENVIRONMENT = {
    "MATH_FUNCTION_NAME": f"{hosted_function.FUNCTION_NAME}:{hosted_function.ALIAS}",
    "CALCULATIONS_TABLE_NAME": "calculations",
    "AWS_REGION": hosted_function.REGION,
    "AWS_DEFAULT_REGION": hosted_function.REGION,
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_DISABLED": "true",
    "POWERTOOLS_SERVICE_NAME": API_FUNCTION_NAME,
}


def rest_event(method: str, path: str, body: Any = None, key: ApiKey = BENCH_KEY) -> dict:
    """The API Gateway REST proxy event the local API endpoint builds for this request."""
    headers = [("Content-Type", "application/json"), ("Host", "bench.local"), ("x-api-key", key.value)]
    payload = b"" if body is None else json.dumps(body).encode()
    return build_event(method, path, headers, payload, "127.0.0.1", str(uuid.uuid4()), key)


def lambda_context() -> LambdaContext:
    """The Lambda context the local API endpoint gives the API function."""
    return LambdaContext(**context_fields("bench-request"))


STATUS_READ = rest_event("GET", f"/calculations/{FINISHED_ID}")


def canned_aws() -> None:
    """Answer the Lambda and DynamoDB APIs in-process: botocore builds, signs and parses every call.

    Registered on boto3's default session before any client exists, so every client the code
    under test creates gets it (botocore copies session handlers into each new client). The
    calculation the reads find has finished and belongs to BENCH_KEY's consumer.
    """
    import boto3
    from botocore.awsrequest import AWSResponse

    from calculation_facts import execution_name
    from calculation_records import expires_at, format_time, new_item

    started = datetime.now(UTC) - timedelta(seconds=1)
    owner = f"key:{BENCH_KEY.id}"
    item = new_item(
        execution_name(owner, FINISHED_ID), owner, FINISHED_ID, {"num1": 10, "num2": 5}, started, FINISHED_ARN
    )
    # Finished a second later, as the Record step leaves it.
    ended = started + timedelta(seconds=1)
    item |= {
        "status": {"S": "SUCCEEDED"},
        "endedAt": {"S": format_time(ended)},
        "result": {"S": '{"Add":15,"Subtract":5,"Multiply":50,"Division":2.0}'},
        "expiresAt": {"N": str(expires_at(ended, 1))},
    }
    answers: dict[str, tuple[int, dict, dict]] = {
        "lambda.Invoke": (202, {"X-Amz-Durable-Execution-Arn": FINISHED_ARN}, {}),
        "dynamodb.GetItem": (200, {}, {"Item": item}),
        "dynamodb.PutItem": (200, {}, {}),
        "dynamodb.UpdateItem": (200, {}, {}),
    }

    class RawBody(io.BytesIO):
        """What botocore reads from a urllib3 response: streamed whole, or read (Invoke's Payload)."""

        def stream(self, **_: Any):
            yield self.getvalue()

    def answer(request: Any, event_name: str, **_: Any) -> AWSResponse:
        service, name = event_name.split(".")[1], event_name.rsplit(".", 1)[-1]
        operation = f"{service}.{name}"
        if operation not in answers:
            raise RuntimeError(f"the bench has no canned answer for {operation}")
        status, headers, body = answers[operation]
        payload = json.dumps(body).encode() if body or service == "dynamodb" else b""
        return AWSResponse(request.url, status, headers, RawBody(payload))

    boto3.setup_default_session()
    for service in ("lambda", "dynamodb"):
        boto3.DEFAULT_SESSION.events.register(f"before-send.{service}", answer)


def counting_aws_calls() -> Counter:
    """Count every Lambda and DynamoDB call any client in this process makes (before it is sent)."""
    import boto3

    calls: Counter = Counter()

    def count(model: Any, **_: Any) -> None:
        calls[f"{model.service_model.service_name}:{model.name}"] += 1

    boto3.setup_default_session()
    for service in ("lambda", "dynamodb"):
        boto3.DEFAULT_SESSION.events.register(f"before-call.{service}", count)
    return calls


def control_plane(calls: Counter) -> int:
    """Lambda calls other than Invoke: the control plane, whose quotas are per account."""
    return sum(
        count for call, count in calls.items() if call.startswith("lambda:") and call != "lambda:Invoke"
    )


def check(response: dict, *expected: int) -> dict:
    if response["statusCode"] not in expected:
        raise RuntimeError(f"expected HTTP {expected}, got {response['statusCode']}: {response.get('body')}")
    return response


def cold_start_api() -> dict[str, Any]:
    os.environ.update(API_ENVIRONMENT)
    canned_aws()
    from app import lambda_handler

    check(lambda_handler(STATUS_READ, lambda_context()), 200)
    return {"first_request_ms": round((time.perf_counter() - STARTED) * 1000, 2)}


def cold_start_bare() -> dict[str, Any]:
    """The least a Powertools API with validation and a DynamoDB client can do: one route, one read."""
    os.environ.update(API_ENVIRONMENT)
    canned_aws()
    import boto3
    from aws_lambda_powertools.event_handler import APIGatewayRestResolver
    from pydantic import BaseModel

    from calculation_records import key  # already imported by canned_aws: costs the baseline nothing

    class Calculation(BaseModel):
        id: str
        status: str

    resolver = APIGatewayRestResolver(enable_validation=True)
    client = boto3.client("dynamodb")

    @resolver.get("/calculations/<calculation_id>")
    def status(calculation_id: str) -> Calculation:
        item = client.get_item(TableName="calculations", Key=key(calculation_id))["Item"]
        return Calculation(id=calculation_id, status=item["status"]["S"])

    def lambda_handler(event: dict, context: Any) -> dict:
        return resolver.resolve(event, context)

    check(lambda_handler(STATUS_READ, lambda_context()), 200)
    return {"first_request_ms": round((time.perf_counter() - STARTED) * 1000, 2)}


def warm_api(requests: int) -> dict[str, Any]:
    """Handler time per request in a warm container, for a cached status read and for a start."""
    from bench.measure import milliseconds, percentile

    os.environ.update(API_ENVIRONMENT)
    canned_aws()
    from app import lambda_handler

    check(lambda_handler(STATUS_READ, lambda_context()), 200)
    figures: dict[str, Any] = {}
    for label, make_event, expected in (
        ("status_read_finished", lambda index: STATUS_READ, (200,)),
        (
            "start",
            lambda index: rest_event("POST", "/calculations", {"num1": index, "num2": 5}),
            (202,),
        ),
    ):
        seconds = []
        for index in range(requests):
            event, context = make_event(index), lambda_context()
            began = time.perf_counter()
            check(lambda_handler(event, context), *expected)
            seconds.append(time.perf_counter() - began)
        figures[f"{label}_p50_ms"] = milliseconds(percentile(seconds, 50))
    return figures


ENDPOINTS = [
    "POST /calculations",
    "GET /calculations",
    "GET /calculations/{id}",
    "GET /calculations/{id}/result",
    "GET /calculations/{id}/history",
    "POST /calculations/{id}/stop",
]


def against_local_stack(key_id: str) -> tuple[Counter, ApiKey]:
    """The API's settings pointed at a running local stack, calls counted, and the caller's key."""
    for variable in ("AWS_ENDPOINT_URL_LAMBDA", "AWS_ENDPOINT_URL_DYNAMODB"):
        if variable not in os.environ:
            raise SystemExit(f"set {variable} to the local runtime's endpoint to count calls against")
    os.environ.update(API_ENVIRONMENT)
    return counting_aws_calls(), ApiKey(id=key_id, name="caller", value="unused")


def control_plane_calls(endpoint: str, calculation_id: str, key_id: str) -> dict[str, Any]:
    """Lambda and DynamoDB calls one request makes in a fresh container (cold) and again when warm.

    Runs against the local runtime's endpoints, so the API's answers and caches behave exactly
    as they do behind it; the calculation belongs to the consumer whose key id is given.
    """
    calls, key = against_local_stack(key_id)
    from app import lambda_handler

    method, template = endpoint.split(" ")
    path = template.replace("{id}", calculation_id)
    body = {"num1": 10, "num2": 5} if endpoint == "POST /calculations" else None
    counts = {}
    for phase in ("cold", "warm"):
        calls.clear()  # starting: a new calculation each time, no Idempotency-Key, as most clients do
        response = lambda_handler(rest_event(method, path, body, key), lambda_context())
        counts[phase] = control_plane(calls)
        counts[f"{phase}_calls"] = dict(calls)
        counts[f"{phase}_status"] = response["statusCode"]
    return counts


def flow_calls(key_id: str) -> dict[str, Any]:
    """AWS calls of one calculation followed the usual way: POST, poll its status until it has
    ended, then GET its result, every request in a cold container (API Gateway spreads a client's
    requests over many, each with its own caches and clients)."""
    calls, key = against_local_stack(key_id)
    import service
    from app import lambda_handler

    def send(method: str, path: str, body: Any = None) -> dict:
        service.clear_caches()
        response = lambda_handler(rest_event(method, path, body, key), lambda_context())
        return json.loads(response["body"]) if response.get("body") else {}

    calculation = send("POST", "/calculations", {"num1": 10, "num2": 5})
    polls = 0
    deadline = time.monotonic() + 30
    while calculation.get("status") == "RUNNING" and time.monotonic() < deadline:
        time.sleep(0.005)
        calculation = send("GET", f"/calculations/{calculation['id']}")
        polls += 1
    result = send("GET", f"/calculations/{calculation['id']}/result")
    return {
        "control_plane": control_plane(calls),
        "calls": dict(calls),
        "status_polls": polls,
        "status": calculation.get("status"),
        "result": result,
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.probe")
    sub = parser.add_subparsers(dest="probe", required=True)
    cold = sub.add_parser("cold-start")
    cold.add_argument("target", choices=("api", "bare"))
    warm = sub.add_parser("warm")
    warm.add_argument("--requests", type=int, default=300)
    calls = sub.add_parser("calls")
    calls.add_argument("endpoint", choices=sorted(ENDPOINTS))
    calls.add_argument("calculation_id")
    calls.add_argument("key_id")
    flow = sub.add_parser("flow")
    flow.add_argument("key_id")
    args = parser.parse_args()

    if args.probe == "cold-start":
        result = cold_start_api() if args.target == "api" else cold_start_bare()
    elif args.probe == "warm":
        result = warm_api(args.requests)
    elif args.probe == "flow":
        result = flow_calls(args.key_id)
    else:
        result = control_plane_calls(args.endpoint, args.calculation_id, args.key_id)
    sys.stdout.write("\n" + json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
