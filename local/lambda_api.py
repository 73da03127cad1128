"""The Lambda HTTP API as boto3 and the AWS CLI call it, for the durable function the runtime hosts.

Routes (botocore's service model, lambda 2015-03-31): Invoke, GetDurableExecution,
GetDurableExecutionHistory, ListDurableExecutionsByFunction, StopDurableExecution and
DeleteDurableExecution; the control plane's default rates are enforced (control_plane_quotas).
Errors carry their code in `X-Amzn-ErrorType`, which is what botocore reads to raise
`client.exceptions.<Code>`; unknown routes are a 404, never a 5xx that botocore would retry.
"""

from __future__ import annotations

import functools
import json
import logging
import re
import select
import socket
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import botocore.session
from aws_durable_execution_sdk_python_testing.exceptions import AwsApiException
from aws_durable_execution_sdk_python_testing.execution import Execution, ExecutionStatus

from calculation_facts import CALCULATION_ID_PATTERN
from local import hosted_function
from local.control_plane_quotas import ControlPlaneQuotas
from local.http_base import (
    DEFAULT_LIMITS,
    BodyRefused,
    ConnectionLimits,
    ErrorAnswer,
    LocalServer,
    PromptRequestHandler,
)
from local.runtime import EXECUTION_TIMEOUT_SECONDS, DurableRuntime

logger = logging.getLogger("local.lambda")

# Lambda's payload quotas: 6 MB for a synchronous invocation, 1 MB for an asynchronous one.
MAX_SYNC_PAYLOAD = 6 * 1024 * 1024
MAX_ASYNC_PAYLOAD = 1024 * 1024
# What the HTTP server refuses itself (a body it will not read, a malformed request, a time or
# connection limit), as the Lambda error codes botocore raises; any other 4xx is the first one.
SERVER_REFUSAL_CODES = {
    HTTPStatus.BAD_REQUEST: "InvalidRequestContentException",
    HTTPStatus.REQUEST_TIMEOUT: "RequestTimeoutException",
    HTTPStatus.LENGTH_REQUIRED: "InvalidRequestContentException",
    HTTPStatus.REQUEST_ENTITY_TOO_LARGE: "RequestTooLargeException",
    HTTPStatus.SERVICE_UNAVAILABLE: "ServiceException",
}
_EXECUTION_NAME = re.compile(CALCULATION_ID_PATTERN)


@functools.lru_cache(maxsize=1024)
def decoded_label(label: str) -> str:
    """A path label as botocore percent-encoded it, decoded; a client polling an execution sends the
    same ARN again and again."""
    return unquote(label)


class LambdaApiError(Exception):
    """An error answered as Lambda answers it: status, `X-Amzn-ErrorType` code and message."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        body: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """`body` adds fields to the error document; `headers` to the answer."""
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.body = body or {}
        self.headers = headers or {}

    @classmethod
    def from_package(cls, error: AwsApiException) -> LambdaApiError:
        """The package's own error by its name; any of its server errors as Lambda's ServiceException."""
        if error.http_status_code >= 500:
            return cls(500, "ServiceException", str(error))
        return cls(error.http_status_code, type(error).__name__, str(error))


def _bad_request(message: str, code: str = "InvalidParameterValueException") -> LambdaApiError:
    return LambdaApiError(400, code, message)


class Request:
    """What a route needs from an HTTP request: path parameters, query and body."""

    def __init__(self, handler: BaseHTTPRequestHandler, params: dict[str, str], body: bytes) -> None:
        self.headers = handler.headers
        self._socket = handler.connection
        self.params = params
        self.query = parse_qs(urlsplit(handler.path).query, keep_blank_values=True)
        self.body = body

    def client_gone(self) -> bool:
        """True once the caller closed the connection (e.g. its read timeout passed)."""
        readable, _, _ = select.select([self._socket], [], [], 0)
        if not readable:
            return False
        try:
            return self._socket.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    def one(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else None

    def flag(self, name: str, default: bool) -> bool:
        value = self.one(name)
        if value is None:
            return default
        if value.lower() not in ("true", "false"):
            raise _bad_request(f"{name} must be true or false")
        return value.lower() == "true"

    def integer(self, name: str) -> int | None:
        value = self.one(name)
        if value is None:
            return None
        if not value.isdigit():
            raise _bad_request(f"{name} must be a non-negative integer")
        return int(value)

    def timestamp(self, name: str) -> datetime | None:
        value = self.one(name)
        if value is None:
            return None
        try:
            # botocore sends ISO 8601; a timestamp without a zone is UTC, as Lambda reads it.
            parsed = datetime.fromisoformat(value)
        except ValueError as error:
            raise _bad_request(f"{name} is not a timestamp: {value}") from error
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class Response:
    def __init__(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.status = status
        self.body = body
        self.headers = headers or {}

    @classmethod
    def json(cls, data: dict[str, Any], status: int = 200) -> Response:
        return cls(
            status, json.dumps(data, default=_json_default).encode(), {"Content-Type": "application/json"}
        )


def _json_default(value: Any) -> float:
    if isinstance(value, datetime):
        return value.timestamp()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


class LambdaApi:
    """Maps the Lambda API routes onto the durable runtime."""

    def __init__(self, runtime: DurableRuntime, quotas: ControlPlaneQuotas) -> None:
        self.runtime = runtime
        self.quotas = quotas
        functions = r"^/2015-03-31/functions/(?P<function>[^/]+)"
        executions = r"^/2025-12-01/durable-executions/(?P<arn>.+)"
        # (method, path, operation name in botocore's model, action)
        self.routes: list[tuple[str, re.Pattern[str], str, Callable[[Request], Response]]] = [
            ("POST", re.compile(rf"{functions}/invocations$"), "Invoke", self.invoke),
            (
                "GET",
                re.compile(r"^/2025-12-01/functions/(?P<function>[^/]+)/durable-executions$"),
                "ListDurableExecutionsByFunction",
                self.list,
            ),
            ("GET", re.compile(rf"{executions}/history$"), "GetDurableExecutionHistory", self.history),
            ("POST", re.compile(rf"{executions}/stop$"), "StopDurableExecution", self.stop),
            ("GET", re.compile(rf"{executions}$"), "GetDurableExecution", self.get),
            ("DELETE", re.compile(rf"{executions}$"), "DeleteDurableExecution", self.delete),
        ]

    def route(self, method: str, raw_path: str) -> tuple[Callable[[Request], Response], dict[str, str]]:
        """The action for a request and its decoded path parameters; throttled as its operation is."""
        # botocore percent-encodes each label, `/` included; match first, then decode the labels.
        path = urlsplit(raw_path).path
        allowed = False
        for route_method, pattern, operation, action in self.routes:
            match = pattern.match(path)
            if match:
                if route_method == method:
                    self._throttle(operation)
                    return action, {k: decoded_label(v) for k, v in match.groupdict().items()}
                allowed = True
        if allowed:
            raise LambdaApiError(405, "MethodNotAllowedException", f"{method} is not allowed on {path}")
        raise LambdaApiError(404, "UnknownOperationException", f"No Lambda API operation at {method} {path}")

    def _throttle(self, operation: str) -> None:
        """Lambda's answer to a call over its operation's rate: 429 TooManyRequestsException."""
        if (retry_after := self.quotas.retry_after(operation)) is not None:
            raise LambdaApiError(
                429,
                "TooManyRequestsException",
                f"Rate exceeded for {operation}",
                body={"Reason": "CallerRateLimitExceeded"},
                headers={"Retry-After": str(retry_after)},
            )

    # Invoke.

    def invoke(self, request: Request) -> Response:
        function = hosted_function.resolve(request.params["function"], request.one("Qualifier"))
        invocation_type = request.headers.get("X-Amz-Invocation-Type", "RequestResponse")
        if invocation_type not in ("RequestResponse", "Event", "DryRun"):
            raise _bad_request(f"Invalid InvocationType: {invocation_type}")
        limit = MAX_ASYNC_PAYLOAD if invocation_type == "Event" else MAX_SYNC_PAYLOAD
        if len(request.body) > limit:
            raise LambdaApiError(
                413,
                "RequestTooLargeException",
                f"Request must be smaller than {limit} bytes for the Invoke operation",
            )
        payload = request.body.decode("utf-8", errors="replace") if request.body else "{}"
        try:
            json.loads(payload)
        except (ValueError, RecursionError) as error:  # RecursionError: nested deeper than Python parses
            raise _bad_request(
                f"Could not parse request body into json: {error}", "InvalidRequestContentException"
            ) from error
        name = request.headers.get("X-Amz-Durable-Execution-Name")
        if name is not None and not _EXECUTION_NAME.match(name):
            raise _bad_request("DurableExecutionName must be 1 to 64 of A-Z, a-z, 0-9, - and _")
        if invocation_type == "DryRun":
            return Response(204)

        execution_arn = self.runtime.start(function, payload, name)
        headers = {"X-Amz-Durable-Execution-Arn": execution_arn}
        if invocation_type == "Event":
            return Response(202, headers=headers)

        execution = self.runtime.wait(execution_arn, EXECUTION_TIMEOUT_SECONDS, request.client_gone)
        if execution is None:
            raise LambdaApiError(
                408, "RequestTimeoutException", f"Execution did not end within {EXECUTION_TIMEOUT_SECONDS} s"
            )
        headers["X-Amz-Executed-Version"] = execution.executed_version()
        return _invocation_result(execution, headers)

    # Control plane.

    def get(self, request: Request) -> Response:
        include = request.flag("IncludeExecutionData", True)
        return Response.json(self.runtime.describe(request.params["arn"], include_data=include))

    def history(self, request: Request) -> Response:
        return Response.json(
            self.runtime.history(
                request.params["arn"],
                include_data=request.flag("IncludeExecutionData", True),
                reverse_order=request.flag("ReverseOrder", False),
                marker=request.one("Marker"),
                max_items=request.integer("MaxItems"),
            )
        )

    def list(self, request: Request) -> Response:
        function = hosted_function.resolve(
            request.params["function"], request.one("Qualifier"), default_latest=False
        )
        statuses = request.query.get("Statuses", [])
        if unknown := [s for s in statuses if s not in lambda_execution_statuses()]:
            raise _bad_request(f"Unknown status in Statuses: {', '.join(unknown)}")
        return Response.json(
            self.runtime.list(
                function,
                execution_name=request.one("DurableExecutionName"),
                statuses=statuses,
                started_after=request.timestamp("StartedAfter"),
                started_before=request.timestamp("StartedBefore"),
                reverse_order=request.flag("ReverseOrder", False),
                marker=request.one("Marker"),
                max_items=request.integer("MaxItems"),
            )
        )

    def stop(self, request: Request) -> Response:
        error: dict[str, Any] | None = None
        if request.body.strip():
            try:
                error = json.loads(request.body)
            except (ValueError, RecursionError) as exc:
                raise _bad_request(
                    "The stop request body is not JSON", "InvalidRequestContentException"
                ) from exc
            if not isinstance(error, dict):
                raise _bad_request("The stop request body must be an ErrorObject")
        return Response.json(self.runtime.stop(request.params["arn"], error))

    def delete(self, request: Request) -> Response:
        requested = self.runtime.delete(request.params["arn"])
        return Response.json({"DeletionRequestTimestamp": requested}, status=202)


def _invocation_result(execution: Execution, headers: dict[str, str]) -> Response:
    """A synchronous invocation's answer: the result, or Lambda's unhandled-error document."""
    result = execution.result
    if execution.current_status() is ExecutionStatus.SUCCEEDED and result is not None:
        return Response(
            200, (result.result or "null").encode(), {**headers, "Content-Type": "application/json"}
        )
    error = result.error if result is not None else None
    document = {
        "errorMessage": (error.message if error else None) or f"Execution {execution.current_status().value}",
        "errorType": (error.type if error else None) or execution.current_status().value,
        "stackTrace": (error.stack_trace if error else None) or [],
    }
    headers = {**headers, "X-Amz-Function-Error": "Unhandled", "Content-Type": "application/json"}
    return Response(200, json.dumps(document).encode(), headers)


def make_handler(api: LambdaApi) -> type[PromptRequestHandler]:
    class LambdaRequestHandler(PromptRequestHandler):
        server_version = "local-lambda"
        error_answer = staticmethod(server_error_answer)

        def do_GET(self) -> None:
            self._handle("GET")

        def do_POST(self) -> None:
            self._handle("POST")

        def do_PUT(self) -> None:
            self._handle("PUT")

        def do_DELETE(self) -> None:
            self._handle("DELETE")

        def _handle(self, method: str) -> None:
            request_id = str(uuid.uuid4())
            try:
                body = self.read_body(MAX_SYNC_PAYLOAD)
                action, params = api.route(method, self.path)
                response = action(Request(self, params, body))
            except BodyRefused as refused:
                response = _error_response(_server_refusal(refused.status, refused.message))
            except LambdaApiError as error:
                response = _error_response(error)
            except AwsApiException as error:
                response = _error_response(LambdaApiError.from_package(error))
            except Exception as error:  # an unexpected failure is answered, logged, and the server goes on
                logger.exception("lambda api request failed")
                response = _error_response(LambdaApiError(500, "ServiceException", str(error)))
            self._send(response, request_id)

        def _send(self, response: Response, request_id: str) -> None:
            self.send_response(response.status)
            for name, value in {**response.headers, "x-amzn-RequestId": request_id}.items():
                self.send_header(name, value)
            self.send_content(response.status, response.body)

        def log_message(self, format: str, *args: Any) -> None:
            logger.info("%s %s", self.address_string(), format % args)

    return LambdaRequestHandler


def _error_response(error: LambdaApiError) -> Response:
    kind = "Service" if error.status >= 500 else "User"
    body = {"Type": kind, "message": error.message, **error.body}
    return Response(
        error.status,
        json.dumps(body).encode(),
        {"Content-Type": "application/json", "X-Amzn-ErrorType": error.code, **error.headers},
    )


def _server_refusal(status: HTTPStatus, message: str) -> LambdaApiError:
    code = SERVER_REFUSAL_CODES.get(
        status, "InvalidRequestContentException" if status < 500 else "ServiceException"
    )
    return LambdaApiError(status, code, message)


def server_error_answer(status: HTTPStatus, detail: str) -> ErrorAnswer:
    """What the HTTP server refuses itself (http_base), as Lambda's error documents."""
    response = _error_response(_server_refusal(status, detail))
    headers = [*response.headers.items(), ("x-amzn-RequestId", str(uuid.uuid4()))]
    return ErrorAnswer(headers, response.body)


@functools.cache
def lambda_execution_statuses() -> frozenset[str]:
    """The statuses Lambda's API accepts (botocore's model of it). The testing package knows
    fewer: PAUSING, PAUSED and DELETING are valid filters that match nothing here."""
    model = botocore.session.get_session().get_service_model("lambda")
    return frozenset(model.shape_for("ExecutionStatus").enum)


class LambdaServer(LocalServer):
    def __init__(
        self,
        address: tuple[str, int],
        runtime: DurableRuntime,
        quotas: ControlPlaneQuotas,
        limits: ConnectionLimits = DEFAULT_LIMITS,
    ) -> None:
        super().__init__(address, make_handler(LambdaApi(runtime, quotas)), limits)
