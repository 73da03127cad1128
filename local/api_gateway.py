"""The local API endpoint: HTTP requests as API Gateway REST proxy events for the API function.

Each request becomes the event API Gateway would send (method, path, resource, path and query
parameters, single and multi-value headers, body with its base64 flag, request context), runs
in one of a few worker processes (see function_worker), and the function's proxy answer becomes the
HTTP response. Failures are answered as API Gateway answers them: 502 for a function error or a
malformed answer, 504 after the 29 s integration timeout, and every error the gateway answers
itself (these, a request it cannot read, the HTTP server's own refusals) is a problem document
(RFC 9457), as the template's gateway responses are. Before the function runs, the API key
and the usage plan are checked as the deployed stage checks them (key_gate, usage_plan); a
refusal is the template's gateway response, and the function never sees the request.

Every method and path reaches the function, on purpose: a path outside the declared resources
is sent with resource `/{proxy+}`, and the function answers it with its own 404 or 405 problem.
The deployed REST API declares only the API's routes, so API Gateway answers an undeclared
method or path itself without calling the function: its "Missing Authentication Token" response,
which template.yaml turns into a 404 problem document ("no such route"), for a wrong method too.
Locally the function's own answers are what the contract tests check.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from local import hosted_function
from local.addresses import client_ip
from local.api_keys import ApiKey
from local.function_pool import FunctionError, FunctionPool, IntegrationTimeout
from local.http_base import (
    DEFAULT_LIMITS,
    BodyRefused,
    ConnectionLimits,
    ErrorAnswer,
    LocalServer,
    PromptRequestHandler,
)
from local.key_gate import INVALID_API_KEY, KeyGate, Refused
from local.usage_plan import QUOTA_EXCEEDED, THROTTLED

logger = logging.getLogger("local.api")

STAGE = "local"
API_FUNCTION_NAME = "calculations-api"
API_FUNCTION_ARN = (
    f"arn:aws:lambda:{hosted_function.REGION}:{hosted_function.ACCOUNT_ID}:function:{API_FUNCTION_NAME}"
)
INTEGRATION_TIMEOUT_SECONDS = 29.0
MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's payload quota

# The API's resources, as declared for API Gateway. Any other path is sent as `/{proxy+}`, which
# the deployed API does not declare (see the module docstring).
RESOURCES = [
    "/calculations",
    "/calculations/{id}",
    "/calculations/{id}/result",
    "/calculations/{id}/history",
    "/calculations/{id}/stop",
    "/swagger",
    "/console",
    "/console/console.js",
    "/console/console.css",
    "/webhooks",
    "/webhooks/{id}",
    "/webhooks/{id}/rotate-secret",
    "/webhooks/{id}/ping",
    "/webhooks/{id}/deliveries",
    "/webhooks/{id}/redeliveries",
]
PROXY_RESOURCE = "/{proxy+}"

# The gateway responses template.yaml declares for what the gateway refuses itself, as the
# deployed stage sends them: status, title, detail ($context.error.messageString, API Gateway's
# message for the error) and the extra headers.
GATEWAY_RESPONSES: dict[str, tuple[int, str, str, tuple[tuple[str, str], ...]]] = {
    INVALID_API_KEY: (403, "Forbidden", "Forbidden", ()),
    THROTTLED: (429, "Too Many Requests", "Too Many Requests", (("Retry-After", "1"),)),
    QUOTA_EXCEEDED: (429, "Too Many Requests", "Limit Exceeded", (("Retry-After", "3600"),)),
}
CORS_ALLOW_ORIGIN = "*"  # the template's CorsAllowOrigin default, which the API function also uses


def match_resource(path: str) -> tuple[str, dict[str, str] | None]:
    """The resource template a path matches and its path parameters (decoded)."""
    segments = path.strip("/").split("/") if path.strip("/") else []
    for resource in RESOURCES:
        template = resource.strip("/").split("/")
        if len(template) != len(segments):
            continue
        params: dict[str, str] = {}
        for expected, actual in zip(template, segments, strict=True):
            if expected.startswith("{") and expected.endswith("}"):
                if not actual:
                    break
                params[expected[1:-1]] = unquote(actual)
            elif expected != actual:
                break
        else:
            return resource, params or None
    return PROXY_RESOURCE, {"proxy": unquote(path.lstrip("/"))}


def build_event(
    method: str,
    raw_path: str,
    headers: list[tuple[str, str]],
    body: bytes,
    source_ip: str,
    request_id: str,
    api_key: ApiKey | None = None,
) -> dict[str, Any]:
    """The API Gateway REST proxy (payload 1.0) event for one HTTP request.

    `api_key` is the key the gateway checked (None on a route that needs none), as in the
    identity API Gateway sends: `apiKey` its value, `apiKeyId` its id.
    """
    split = urlsplit(raw_path)
    # As a REST API sends it: the path still percent-encoded (`a%2Fb` is one segment, not two);
    # only the path parameters are decoded.
    path = split.path or "/"
    resource, path_parameters = match_resource(path)

    single_headers: dict[str, str] = {}
    multi_headers: dict[str, list[str]] = {}
    spelled: dict[str, str] = {}  # each name, whatever its case, under its first spelling
    for name, value in headers:
        name = spelled.setdefault(name.lower(), name)
        single_headers[name] = value
        multi_headers.setdefault(name, []).append(value)

    single_query: dict[str, str] = {}
    multi_query: dict[str, list[str]] = {}
    for name, value in parse_qsl(split.query, keep_blank_values=True):
        single_query[name] = value
        multi_query.setdefault(name, []).append(value)

    text: str | None = None
    is_base64 = False
    if body:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            text, is_base64 = base64.b64encode(body).decode("ascii"), True

    now = datetime.now(UTC)
    lower = {name.lower(): value for name, value in single_headers.items()}
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": single_headers or None,
        "multiValueHeaders": multi_headers or None,
        "queryStringParameters": single_query or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": path_parameters,
        "stageVariables": None,
        "requestContext": {
            "accountId": hosted_function.ACCOUNT_ID,
            "apiId": "local",
            "domainName": lower.get("host", "localhost"),
            "domainPrefix": "local",
            "extendedRequestId": request_id,
            "httpMethod": method,
            "identity": {
                "sourceIp": source_ip,
                "userAgent": lower.get("user-agent"),
                "apiKey": api_key.value if api_key else None,
                "apiKeyId": api_key.id if api_key else None,
                "accessKey": None,
                "accountId": None,
                "caller": None,
                "user": None,
                "userArn": None,
            },
            # The path as the client typed it: local URLs carry no stage, as on a custom domain.
            "path": path,
            "protocol": "HTTP/1.1",
            "requestId": request_id,
            "requestTime": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "requestTimeEpoch": int(now.timestamp() * 1000),
            "resourceId": "local",
            "resourcePath": resource,
            "stage": STAGE,
        },
        "body": text,
        "isBase64Encoded": is_base64,
    }


def context_fields(request_id: str) -> dict[str, Any]:
    """The API function's Lambda context for one request, as function_worker.LambdaContext's fields."""
    return {
        "function_name": API_FUNCTION_NAME,
        "function_version": "$LATEST",
        "invoked_function_arn": API_FUNCTION_ARN,
        "memory_limit_in_mb": 256,
        "aws_request_id": request_id,
        "log_group_name": f"/aws/lambda/{API_FUNCTION_NAME}",
        "log_stream_name": "local",
        "timeout_seconds": INTEGRATION_TIMEOUT_SECONDS,
    }


@dataclass
class HttpAnswer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def problem_answer(
    status: int, title: str, detail: str, extra_headers: tuple[tuple[str, str], ...] = ()
) -> HttpAnswer:
    """An answer of the gateway's own: a problem document (RFC 9457), as the template declares them."""
    body = json.dumps({"type": "about:blank", "title": title, "status": status, "detail": detail})
    headers = [
        ("Access-Control-Allow-Origin", CORS_ALLOW_ORIGIN),
        ("Content-Type", "application/problem+json"),
        *extra_headers,
    ]
    return HttpAnswer(status, headers, body.encode())


def gateway_problem(response_type: str) -> HttpAnswer:
    """A refusal as the deployed stage answers it: the template's gateway response."""
    return problem_answer(*GATEWAY_RESPONSES[response_type])


def gateway_error(status: int, detail: str) -> HttpAnswer:
    """Any other error the gateway answers itself (a 502, a 504, a request it cannot read)."""
    return problem_answer(status, HTTPStatus(status).phrase, detail)


def server_error_answer(status: HTTPStatus, detail: str) -> ErrorAnswer:
    """What the HTTP server refuses itself (http_base), as the gateway's problem documents."""
    answer = gateway_error(status, detail)
    return ErrorAnswer([*answer.headers, ("x-amzn-RequestId", str(uuid.uuid4()))], answer.body)


def to_http(result: Any) -> HttpAnswer:
    """The function's proxy answer as HTTP; a malformed one is API Gateway's 502."""
    if not isinstance(result, dict) or not isinstance(result.get("statusCode"), int):
        raise FunctionError("Malformed Lambda proxy response")
    headers: list[tuple[str, str]] = []
    multi = result.get("multiValueHeaders") or {}
    for name, values in multi.items():
        headers += [(name, str(value)) for value in values]
    taken = {name.lower() for name in multi}
    headers += [
        (name, str(value))
        for name, value in (result.get("headers") or {}).items()
        if name.lower() not in taken
    ]
    headers = [
        (n, v) for n, v in headers if n.lower() not in ("content-length", "transfer-encoding", "connection")
    ]
    body = result.get("body") or ""
    if not isinstance(body, str):
        raise FunctionError("Malformed Lambda proxy response")
    if result.get("isBase64Encoded"):
        try:
            payload = base64.b64decode(body, validate=True)
        except binascii.Error as error:
            raise FunctionError("Malformed Lambda proxy response") from error
    else:
        payload = body.encode("utf-8")
    return HttpAnswer(result["statusCode"], headers, payload)


def make_handler(pool: FunctionPool, gate: KeyGate) -> type[PromptRequestHandler]:
    class ApiRequestHandler(PromptRequestHandler):
        server_version = "local-api-gateway"
        error_answer = staticmethod(server_error_answer)

        def __getattr__(self, name: str) -> Any:
            # Every method reaches the function (TRACE and made-up ones too), which answers
            # 405 with Allow, instead of the standard library's HTML 501 page.
            if name.startswith("do_"):
                return partial(self._handle, name.removeprefix("do_"))
            raise AttributeError(name)

        def _handle(self, method: str) -> None:
            request_id = str(uuid.uuid4())
            started = time.monotonic()
            try:
                body = self.read_body(MAX_BODY_BYTES)
            except BodyRefused as refused:
                answer = gateway_error(refused.status, refused.message)
            else:
                answer = self._answer(method, body, request_id)
            self.send_response(answer.status)
            for name, value in [*answer.headers, ("x-amzn-RequestId", request_id)]:
                self.send_header(name, value)
            self.send_content(answer.status, answer.body)
            logger.info(
                "%s %s -> %d in %.0f ms",
                method,
                self.path,
                answer.status,
                (time.monotonic() - started) * 1000,
            )

        def _answer(self, method: str, body: bytes, request_id: str) -> HttpAnswer:
            if not method.isupper():  # methods are case-sensitive (RFC 9110 9.1): `get` is not GET
                # Nor is a method unknown to HTTP known to frame its body as GET does: the
                # connection's next bytes may not be a request, so it closes.
                self.close_connection = True
                return gateway_error(501, f"No method {method}: methods are case-sensitive")
            resource = match_resource(urlsplit(self.path).path or "/")[0]
            try:
                sent = self.headers.get_all("x-api-key") or []
                # Two keys may name two consumers: neither is taken (the first would win unseen).
                api_key = gate.admit(method, resource, sent[0] if len(sent) == 1 else None)
            except Refused as refused:
                return gateway_problem(refused.response_type)
            event = build_event(
                method,
                self.path,
                list(self.headers.items()),
                body,
                client_ip(self.client_address[0]),
                request_id,
                api_key,
            )
            try:
                return to_http(pool.invoke(event, context_fields(request_id), INTEGRATION_TIMEOUT_SECONDS))
            except IntegrationTimeout:
                logger.error("api function timed out after %.0f s", INTEGRATION_TIMEOUT_SECONDS)
                return gateway_error(504, "Endpoint request timed out")
            except FunctionError as error:
                logger.error("api function error: %s", error)
                return gateway_error(502, "Internal server error")

        def log_message(self, format: str, *args: Any) -> None:
            logger.debug("%s %s", self.address_string(), format % args)

    return ApiRequestHandler


class ApiServer(LocalServer):
    def __init__(
        self,
        address: tuple[str, int],
        pool: FunctionPool,
        gate: KeyGate,
        limits: ConnectionLimits = DEFAULT_LIMITS,
    ) -> None:
        super().__init__(address, make_handler(pool, gate), limits)
