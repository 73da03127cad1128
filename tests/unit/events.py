"""API Gateway REST proxy events for the API's lambda_handler, table items and the AWS answers
the stubs give."""

import base64
import hashlib
import json
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from aws_lambda_powertools.utilities.typing import LambdaContext

RESOURCES = {
    ("calculations",): "/calculations",
    ("calculations", "*"): "/calculations/{id}",
    ("calculations", "*", "result"): "/calculations/{id}/result",
    ("calculations", "*", "history"): "/calculations/{id}/history",
    ("calculations", "*", "stop"): "/calculations/{id}/stop",
}

# The API function's settings in a test container: no AWS account, no X-Ray.
TABLE = "calculations"
API_ENVIRONMENT = {
    "MATH_FUNCTION_NAME": "math-durable:live",
    "CALCULATIONS_TABLE_NAME": TABLE,
    "RETENTION_PERIOD_DAYS": "14",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "POWERTOOLS_SERVICE_NAME": "calculations-api",
    "POWERTOOLS_METRICS_NAMESPACE": "DurableCalculationsTest",
    "POWERTOOLS_TRACE_DISABLED": "true",
}

# The caller of every request unless a test says otherwise: the API key `key-a`.
API_KEY_ID = "key-a"
OWNER = "key:key-a"
OTHER_OWNER = "key:key-b"


def rest_event(
    method: str,
    url: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
    base64_body: bool = False,
    stage_in_path: bool = True,
    api_key_id: str | None = API_KEY_ID,
) -> dict[str, Any]:
    """A REST API (v1) proxy event as API Gateway sends it for `method url`.

    By default the client called the default endpoint, whose URL holds the stage (`/Prod`);
    `stage_in_path=False` is a custom domain (or the local runtime), whose URL does not.
    The caller is identified by its API key's id (`api_key_id=None`: no key at all).

    `body` is sent as given when it is a str, as JSON otherwise; a JSON body gets
    `Content-Type: application/json` unless headers say otherwise.
    """
    parts = urlsplit(url)
    headers = dict(headers or {})
    if body is not None and not isinstance(body, str):
        body = json.dumps(body)
        headers.setdefault("Content-Type", "application/json")
    if base64_body and body is not None:
        body = base64.b64encode(body.encode()).decode()
    query = parse_qs(parts.query, keep_blank_values=True)
    identity: dict[str, Any] = {"sourceIp": "127.0.0.1", "userAgent": "pytest"}
    if api_key_id is not None:
        identity["apiKeyId"] = api_key_id
    return {
        "resource": _resource(parts.path),
        "path": parts.path,
        "httpMethod": method,
        "headers": headers or None,
        "multiValueHeaders": {name: [value] for name, value in headers.items()} or None,
        "queryStringParameters": {name: values[-1] for name, values in query.items()} or None,
        "multiValueQueryStringParameters": query or None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "api1234567",
            "httpMethod": method,
            "path": f"/Prod{parts.path}" if stage_in_path else parts.path,
            "protocol": "HTTP/1.1",
            "requestId": str(uuid.uuid4()),
            "requestTime": "01/Jan/2026:00:00:00 +0000",
            "requestTimeEpoch": 1767225600000,
            "resourcePath": _resource(parts.path),
            "stage": "Prod",
            "identity": identity,
        },
        "body": body,
        "isBase64Encoded": base64_body,
    }


def _resource(path: str) -> str:
    segments = tuple(segment for segment in path.strip("/").split("/") if segment)
    for pattern, resource in RESOURCES.items():
        if len(pattern) == len(segments) and all(
            p in ("*", s) for p, s in zip(pattern, segments, strict=True)
        ):
            return resource
    return "/{proxy+}"


class FakeLambdaContext(LambdaContext):
    """The context attributes the Powertools logger reads."""

    def __init__(self) -> None:
        self._function_name = "api"
        self._function_version = "$LATEST"
        self._invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:api"
        self._memory_limit_in_mb = 256
        self._aws_request_id = str(uuid.uuid4())
        self._log_group_name = "/aws/lambda/api"
        self._log_stream_name = "2026/01/01/[$LATEST]0123456789abcdef"

    def get_remaining_time_in_millis(self) -> int:
        return 29_000


def strict_json(text: str) -> Any:
    """Parse as a strict client would: NaN and Infinity are not JSON."""

    def refuse(constant: str) -> None:
        raise AssertionError(f"invalid JSON constant {constant}")

    return json.loads(text, parse_constant=refuse)


# Result documents as the durable function writes them.

TEN_FIVE = {"Add": 15, "Subtract": 5, "Multiply": 50, "Division": 2.0}


def division_failed(add: int, subtract: int, multiply: int) -> dict[str, Any]:
    """The durable function's document when Division fails: error_details and the other results."""
    return {
        "error_details": "One or more operations failed",
        "errors": {"Division": "division by zero"},
        "Add": add,
        "Subtract": subtract,
        "Multiply": multiply,
    }


TEN_ZERO = division_failed(10, 10, 0)
ZEROS = division_failed(0, 0, 0)

# The calculations table, as the low-level DynamoDB client reads and writes it.

# The API's clock in tests that stop it (the `fixed_clock` fixture), and the same as DynamoDB holds it.
NOW = datetime(2026, 11, 29, 12, 0, 0, tzinfo=UTC)
NOW_TEXT = "2026-11-29T12:00:00.000000Z"
NOW_EPOCH = 1795953600

STARTED = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
ENDED = datetime(2026, 1, 1, 12, 0, 1, 250000, tzinfo=UTC)
STARTED_TEXT = "2026-01-01T12:00:00.000000Z"
ENDED_TEXT = "2026-01-01T12:00:01.250000Z"


def name_of(calculation_id: str, owner: str = OWNER) -> str:
    """The durable execution name of an owner's id, as the README documents it."""
    return "calc-" + hashlib.sha256(f"{owner}\n{calculation_id}".encode()).hexdigest()[:32]


def execution_arn(name: str, run: str = "5f0c2a") -> str:
    return f"arn:aws:lambda:us-east-1:123456789012:function:math-durable:1/durable-execution/{name}/{run}"


def item(
    calculation_id: str,
    status: str = "SUCCEEDED",
    *,
    owner: str | None = OWNER,
    input_document: dict[str, Any] | None = None,
    result: Any = None,
    error_type: str | None = None,
    error_message: str | None = None,
    arn: str | None = "",
    started: str = STARTED_TEXT,
    ended: str | None = None,
    expires_at: int | None = None,
) -> dict[str, Any]:
    """A table item; ended ones end at ENDED, a SUCCEEDED one holds TEN_FIVE unless told otherwise.

    `arn=""` is the execution's usual ARN, `arn=None` none yet (its start has not recorded it).
    """
    name = name_of(calculation_id, owner or "")
    if result is None and status == "SUCCEEDED":
        result = TEN_FIVE
    attributes: dict[str, Any] = {
        "executionName": name,
        "owner": owner,
        "id": calculation_id,
        "input": json.dumps(input_document if input_document is not None else {"num1": 10, "num2": 5}),
        "status": status,
        "startedAt": started,
        "endedAt": ended or (ENDED_TEXT if status != "RUNNING" else None),
        "executionArn": execution_arn(name) if arn == "" else arn,
        "result": json.dumps(result) if result is not None else None,
        "errorType": error_type,
        "errorMessage": error_message,
    }
    typed: dict[str, Any] = {key: {"S": value} for key, value in attributes.items() if value is not None}
    if expires_at is not None:
        typed["expiresAt"] = {"N": str(expires_at)}
    return typed


def get_item_params(name: str) -> dict[str, Any]:
    return {"TableName": TABLE, "Key": {"executionName": {"S": name}}, "ConsistentRead": True}


def delete_item_params(name: str, owner: str = OWNER) -> dict[str, Any]:
    """DeleteItem of the caller's own item only."""
    return {
        "TableName": TABLE,
        "Key": {"executionName": {"S": name}},
        "ConditionExpression": "#owner = :owner",
        "ExpressionAttributeNames": {"#owner": "owner"},
        "ExpressionAttributeValues": {":owner": {"S": owner}},
    }


def found(record: dict[str, Any] | None) -> dict[str, Any]:
    """GetItem's answer: the item, or none."""
    return {"Item": record} if record else {}


def conditional_check_failed() -> dict[str, Any]:
    """Stubber.add_client_error's arguments for a condition that did not hold."""
    return {
        "service_error_code": "ConditionalCheckFailedException",
        "service_message": "The conditional request failed",
        "http_status_code": 400,
    }


def invoke_answer(name: str) -> dict[str, Any]:
    """Invoke's answer to an asynchronous start of a durable function."""
    return {"StatusCode": 202, "DurableExecutionArn": execution_arn(name)}
