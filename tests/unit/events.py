"""API Gateway REST proxy events for the API's lambda_handler, and the Lambda answers its stubs give."""

import base64
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
API_ENVIRONMENT = {
    "MATH_FUNCTION_NAME": "math-durable:live",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "POWERTOOLS_SERVICE_NAME": "calculations-api",
    "POWERTOOLS_METRICS_NAMESPACE": "DurableCalculationsTest",
    "POWERTOOLS_TRACE_DISABLED": "true",
}


def rest_event(
    method: str,
    url: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
    base64_body: bool = False,
    stage_in_path: bool = True,
) -> dict[str, Any]:
    """A REST API (v1) proxy event as API Gateway sends it for `method url`.

    By default the client called the default endpoint, whose URL holds the stage (`/Prod`);
    `stage_in_path=False` is a custom domain (or the local runtime), whose URL does not.

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
    request_id = str(uuid.uuid4())
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
            "requestId": request_id,
            "requestTime": "01/Jan/2026:00:00:00 +0000",
            "requestTimeEpoch": 1767225600000,
            "resourcePath": _resource(parts.path),
            "stage": "Prod",
            "identity": {"sourceIp": "127.0.0.1", "userAgent": "pytest"},
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


# Lambda API responses as botocore parses them, for the Stubber.

FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:math-durable:live"
STARTED = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
ENDED = datetime(2026, 1, 1, 12, 0, 1, 250000, tzinfo=UTC)

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


def strict_json(text: str) -> Any:
    """Parse as a strict client would: NaN and Infinity are not JSON."""

    def refuse(constant: str) -> None:
        raise AssertionError(f"invalid JSON constant {constant}")

    return json.loads(text, parse_constant=refuse)


def execution_arn(name: str) -> str:
    return f"arn:aws:lambda:us-east-1:123456789012:function:math-durable:1/durable-execution/{name}/5f0c2a"


def invoke_event(name: str) -> dict[str, Any]:
    return {"StatusCode": 202, "DurableExecutionArn": execution_arn(name)}


def listing(*names: str, status: str = "RUNNING", next_marker: str | None = None) -> dict[str, Any]:
    page: dict[str, Any] = {
        "DurableExecutions": [
            {
                "DurableExecutionArn": execution_arn(name),
                "DurableExecutionName": name,
                "FunctionArn": FUNCTION_ARN,
                "Status": status,
                "StartTimestamp": STARTED,
                **({"EndTimestamp": ENDED} if status != "RUNNING" else {}),
            }
            for name in names
        ]
    }
    if next_marker:
        page["NextMarker"] = next_marker
    return page


def execution(
    name: str,
    status: str = "SUCCEEDED",
    input_document: Any = None,
    result: Any = None,
    error: dict[str, Any] | None = None,
    started: datetime = STARTED,
    result_text: str | None = None,
) -> dict[str, Any]:
    """GetDurableExecution's answer; the result as the function writes it (", " separators)."""
    response: dict[str, Any] = {
        "DurableExecutionArn": execution_arn(name),
        "DurableExecutionName": name,
        "FunctionArn": FUNCTION_ARN,
        "Status": status,
        "StartTimestamp": started,
        "InputPayload": json.dumps(input_document if input_document is not None else {"num1": 10, "num2": 5}),
        "Version": "1",
    }
    if status != "RUNNING":
        response["EndTimestamp"] = ENDED
    if result_text is not None:
        response["Result"] = result_text
    elif result is not None:
        response["Result"] = json.dumps(result)
    if error is not None:
        response["Error"] = error
    return response


def by_name(name: str) -> dict[str, Any]:
    """ListDurableExecutionsByFunction parameters the API sends to find one calculation."""
    return {
        "FunctionName": "math-durable",
        "Qualifier": "live",
        "DurableExecutionName": name,
        "MaxItems": 1000,
    }


def get_params(name: str) -> dict[str, Any]:
    return {"DurableExecutionArn": execution_arn(name), "IncludeExecutionData": True}
