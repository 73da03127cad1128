"""HTTP API in front of the durable math function: routes, error mapping and the Lambda handler.

Routes stay thin: validated input in, one call to calculations_client, a model out. Errors are
named exceptions mapped to RFC 9457 problem documents once, in the exception handlers below.
"""

import base64
import binascii
import hashlib
import json
import re
import uuid
from datetime import UTC, datetime
from functools import cache, partial
from http import HTTPStatus
from importlib.resources import files
from typing import Annotated, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, CORSConfig, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.middlewares.openapi_validation import (
    OpenAPIRequestValidationMiddleware,
)
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.event_handler.openapi.params import Body, Header, Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

import calculations_client
from calculations_client import (
    AlreadyEnded,
    AlreadyStarted,
    CalculationNotFound,
    Throttled,
    Unavailable,
    UpstreamError,
)
from models import (
    CALCULATION_ID_PATTERN,
    FLOWS,
    Calculation,
    CalculationPage,
    CalculationRequest,
    CalculationStatus,
    CalculationSummary,
    FieldError,
    History,
    Links,
    Problem,
    ResultDocument,
    calculation_status,
)
from settings import PAGE_SIZE_CEILING, SettingsError, get_settings
from tracing import create_tracer

PROBLEM_JSON = "application/problem+json"
JSON = "application/json"
PREFER_WAIT = re.compile(r"(?:^|[,;])\s*wait\s*=\s*\"?(\d{1,6})\"?\s*(?:$|[,;])", re.IGNORECASE)
# Every path and its methods: unknown paths are 404, known paths with another method 405.
PATHS = {
    "/calculations": ("GET", "POST"),
    "/calculations/{id}": ("GET",),
    "/calculations/{id}/result": ("GET",),
    "/calculations/{id}/history": ("GET",),
    "/calculations/{id}/stop": ("POST",),
    "/swagger": ("GET",),
}
PATH_PATTERNS = [
    (template, re.compile("^" + re.sub(r"\{id\}", "[^/]+", template) + "/?$"), methods)
    for template, methods in PATHS.items()
]
CALCULATION_ID_DOC = "Calculation id: 1-64 of A-Z a-z 0-9 - _"
# Reason phrases RFC 9110 renamed; Python's HTTPStatus still has the old ones.
RFC_9110_TITLES = {413: "Content Too Large", 422: "Unprocessable Content"}

logger = Logger()
tracer = create_tracer()
metrics = Metrics()


class RequestTooLarge(Exception):
    """The body is over the configured limit; it is refused before it is parsed."""


class InvalidParameter(Exception):
    """A parameter passed the schema but not the API's own rules (limit, cursor)."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


class NoResult(Exception):
    """The calculation ended without a result document (stopped, timed out, crashed)."""

    def __init__(self, status: str):
        super().__init__(f"the calculation ended with status {status} and has no result")


class UnsupportedMediaType(Exception):
    """The body is sent as something other than JSON (the only media type the API reads)."""

    def __init__(self, content_type: str):
        super().__init__(content_type)
        self.content_type = content_type


class BodyNotText(Exception):
    """The body arrived base64-encoded (API Gateway does so for binary bodies) and is not UTF-8."""


class BodyReadingValidation(OpenAPIRequestValidationMiddleware):
    """Powertools' request validation, reading the body the API's way first.

    Powertools decodes and parses bodies itself and fails with bare ValueErrors on some (a
    multipart body without a boundary, a body that is not UTF-8): the API refuses those
    first, with the named exceptions above, before Powertools looks at them.
    """

    def _get_body(self, app: APIGatewayRestResolver) -> dict[str, Any]:
        content_type = _request_content_type()
        if content_type not in ("", JSON):
            raise UnsupportedMediaType(content_type)
        event = app.current_event
        if event.is_base64_encoded and event.body:
            try:
                base64.b64decode(event.body, validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                raise BodyNotText from None
        return super()._get_body(app)


class SettingsCORS(CORSConfig):
    """CORS whose allowed origins come from the settings, read on the first request, not at import."""

    def __init__(self) -> None:
        super().__init__(
            allow_headers=["Idempotency-Key", "Prefer", "If-None-Match"],
            expose_headers=["Location", "Retry-After", "ETag", "Preference-Applied"],
            max_age=600,
        )

    def allowed_origin(self, extracted_origin: str) -> str | None:
        self._allowed_origins = get_settings().cors_origins
        # "" rather than None when no origin is allowed, so that to_dict runs for every response.
        return super().allowed_origin(extracted_origin) or ""

    def to_dict(self, origin: str | None) -> dict[str, str]:
        self._allowed_origins = get_settings().cors_origins
        headers = super().to_dict(origin)
        # Every response's CORS headers depend on the request's Origin (none without one, or for
        # an origin not allowed): a shared cache must not serve one caller's copy to another.
        headers["Vary"] = "Origin"
        return headers


def strict_json_body(text: str) -> Any:
    """Parse a request body: refuse it unparsed when too large, and absurd nesting cleanly."""
    if len(text.encode()) > get_settings().max_body_bytes:
        raise RequestTooLarge
    try:
        return json.loads(text)
    except RecursionError:
        raise json.JSONDecodeError("nesting too deep", text, 0) from None
    except json.JSONDecodeError:
        raise
    except ValueError:
        # Python refuses to convert integers of more than 4300 digits (sys.get_int_max_str_digits).
        raise json.JSONDecodeError("a number has too many digits", text, 0) from None


# Compact JSON that can never carry NaN or Infinity.
serialize = partial(json.dumps, separators=(",", ":"), allow_nan=False)

app = APIGatewayRestResolver(
    cors=SettingsCORS(),
    enable_validation=True,
    serializer=serialize,
    json_body_deserializer=strict_json_body,
)
# The resolver runs this middleware before any other on every validated route.
app._request_validation_middleware = BodyReadingValidation()
# The spec's metadata, in one place: the Swagger route serves it and `make openapi` writes it.
# Plain data, which Powertools validates into its OpenAPI models when it builds the spec: importing
# those models costs ~40 ms, so they load with the first spec, not with every cold start.
OPENAPI: dict[str, Any] = {
    "title": "Durable Calculations API",
    "version": "1.0.0",
    "summary": "Start calculations as AWS Lambda durable executions and follow them over HTTP.",
    "description": (
        "`POST /calculations` starts a durable execution that adds, subtracts, multiplies and divides "
        "two numbers in parallel; the other routes follow it: status, result, per-operation history, "
        "the list of recent calculations, stopping. Starting is asynchronous (`202` with `Location` "
        "and `Retry-After`), safe to retry with `Idempotency-Key`, and can wait for the result with "
        "`Prefer: wait=N`. Every error is an RFC 9457 problem document (`application/problem+json`). "
        "Deployed, every route needs the stage's API key in `x-api-key`; the local runtime needs none."
    ),
    "servers": [
        {
            "url": "http://127.0.0.1:{port}",
            "description": "The local runtime (`make run`)",
            "variables": {"port": {"default": "3000", "description": "The API endpoint's port"}},
        },
        {
            "url": "https://{restApiId}.execute-api.{region}.amazonaws.com/{stage}",
            "description": "The deployed stage: the stack's `ApiUrl` output",
            "variables": {
                "restApiId": {"default": "abcde12345", "description": "The REST API's id"},
                "region": {"default": "us-east-1", "description": "The stack's AWS region"},
                "stage": {"default": "v1", "description": "The template's `StageName`"},
            },
        },
    ],
    "tags": [
        {
            "name": "calculations",
            "description": "Start a calculation, follow its status, result and history, list and stop them",
        }
    ],
    "security_schemes": {
        "apiKey": {
            "type": "apiKey",
            "in": "header",
            "name": "x-api-key",
            "description": (
                "The stage's API key (the stack's `ApiKeyId` output; `aws apigateway get-api-key "
                "--api-key <id> --include-value`). The local runtime does not check it."
            ),
        }
    },
    "security": [{"apiKey": []}],
}


@app.get("/swagger", include_in_schema=False)
def swagger():
    """Swagger UI with the spec inlined; `?format=json` is the spec alone.

    What Powertools' `enable_swagger` serves, with its own HTML, assets and serialization, but
    registered without importing its OpenAPI models at cold start: they load here, on first use.
    """
    query = app.current_event.query_string_parameters or {}
    if query.get("format") == "oauth2-redirect":
        from aws_lambda_powertools.event_handler.openapi import swagger_ui

        return Response(
            status_code=200, content_type="text/html", body=swagger_ui.generate_oauth2_redirect_html()
        )
    if query.get("format") == "json":
        return Response(status_code=200, content_type=JSON, body=_spec_json())
    return Response(status_code=200, content_type="text/html", body=_swagger_page())


@cache
def _spec_json() -> str:
    """The spec, built once per container (the routes never change while it runs)."""
    # `</` escaped so that the spec cannot close the <script> element it is inlined in.
    return app.get_openapi_json_schema(**OPENAPI).replace("</", "<\\/")


@cache
def _swagger_page() -> str:
    """Swagger UI's page with its JS, CSS and the spec inlined, built once per container."""
    from aws_lambda_powertools.event_handler.openapi import swagger_ui

    script = (files(swagger_ui) / "swagger-ui-bundle.min.js").read_text(encoding="utf-8")
    style = (files(swagger_ui) / "swagger-ui.min.css").read_text(encoding="utf-8")
    return swagger_ui.generate_swagger_html(
        _spec_json(), script, style, swagger_base_url=None, oauth2_config=None, persist_authorization=False
    )


def _json(status: int, document: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(status_code=status, content_type=JSON, body=serialize(document), headers=headers or {})


def _problem(status: int, detail: str, errors: list[FieldError] | None = None, **headers: str) -> Response:
    problem = Problem(
        title=RFC_9110_TITLES.get(status) or HTTPStatus(status).phrase,
        status=status,
        detail=detail,
        instance=app.current_event.path,
        errors=errors,
    )
    return Response(
        status_code=status,
        content_type=PROBLEM_JSON,
        body=serialize(problem.model_dump(mode="json", exclude_none=True)),
        headers={
            "Cache-Control": "no-store",
            **{key.replace("_", "-"): value for key, value in headers.items()},
        },
    )


def _cacheable(document: Any, finished: bool, if_none_match: str | None) -> Response:
    """200 with the document; finished ones get an ETag, a long max-age and 304 on revalidation."""
    if not finished:
        return _json(200, document, {"Cache-Control": "no-store"})
    body = serialize(document)
    etag = '"' + hashlib.sha256(body.encode()).hexdigest()[:32] + '"'
    headers = {
        "ETag": etag,
        "Cache-Control": f"public, max-age={get_settings().finished_max_age_seconds}, immutable",
    }
    if if_none_match and _etag_matches(if_none_match, etag):
        return Response(status_code=304, content_type=None, body="", headers=headers)
    return Response(status_code=200, content_type=JSON, body=body, headers=headers)


def _etag_matches(if_none_match: str, etag: str) -> bool:
    tags = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
    return "*" in tags or etag in tags


def _prefer_wait(prefer: str | None) -> int:
    """Seconds to wait from `Prefer: wait=N` (RFC 7240), capped; 0 when absent or unreadable."""
    match = PREFER_WAIT.search(prefer or "")
    if not match:
        return 0
    return min(int(match.group(1)), get_settings().prefer_wait_max_seconds)


def _base_path() -> str:
    """What the client's URL holds before the API's own paths: `/Prod` on API Gateway's
    default endpoint; nothing on a custom domain or the local runtime. Links and Location
    carry it so that they resolve against the URL the client used."""
    event = app.current_event
    requested = event.request_context.path or event.path
    return requested.removesuffix(event.path) if requested.endswith(event.path) else ""


def _running_headers(calculation_id: str) -> dict[str, str]:
    return {
        "Location": f"{_base_path()}/calculations/{calculation_id}",
        "Retry-After": str(get_settings().retry_after_seconds),
        "Cache-Control": "no-store",
    }


CalculationId = Annotated[
    str, Path(pattern=CALCULATION_ID_PATTERN, description=CALCULATION_ID_DOC, examples=["c0ffee"])
]
IfNoneMatch = Annotated[
    str | None,
    Header(alias="If-None-Match", description="ETag of a copy you hold; 304 when it is still current"),
]


# Response headers, documented once; `required` where every response of that status carries them.
RESPONSE_HEADERS: dict[str, dict[str, Any]] = {
    "Location": {
        "description": "The calculation's URL, `/calculations/{id}`",
        "required": True,
        "schema": {"type": "string", "examples": ["/calculations/c0ffee"]},
    },
    "Retry-After": {
        "description": "Seconds to wait before asking again",
        "required": True,
        "schema": {"type": "integer", "examples": [1]},
    },
    "ETag": {
        "description": "The finished document's version: send it back as `If-None-Match`",
        "schema": {"type": "string"},
    },
    "Preference-Applied": {
        "description": "`wait=N` when the answer waited for the calculation (RFC 7240)",
        "schema": {"type": "string", "examples": ["wait=10"]},
    },
}
# Problems that any route may answer, with the headers they carry.
PROBLEMS = {
    HTTPStatus.TOO_MANY_REQUESTS: (
        "Lambda throttled the call; retry after Retry-After seconds",
        "Retry-After",
    ),
    HTTPStatus.BAD_GATEWAY: ("Lambda refused the call",),
    HTTPStatus.SERVICE_UNAVAILABLE: (
        "Lambda could not be reached; retry after Retry-After seconds",
        "Retry-After",
    ),
}
RESULT_EXAMPLES = {
    name: {"summary": summary, "value": document} for name, (summary, _, document) in FLOWS.items()
}
CALCULATION_EXAMPLES = {
    "succeeded": {
        "summary": FLOWS["tenAndFive"][0],
        "value": {
            "id": "c0ffee",
            "status": "SUCCEEDED",
            "input": {"num1": 10, "num2": 5},
            "startedAt": "2025-12-01T12:00:00Z",
            "endedAt": "2025-12-01T12:00:01Z",
            "result": RESULT_EXAMPLES["tenAndFive"]["value"],
            "links": Links.of("c0ffee").document(),
        },
    },
    "operationFailed": {
        "summary": FLOWS["divisionByZero"][0],
        "value": {
            "id": "d1v1de",
            "status": "FAILED",
            "input": {"num1": 10, "num2": 0},
            "startedAt": "2025-12-01T12:00:00Z",
            "endedAt": "2025-12-01T12:00:01Z",
            "failedOperations": [{"operation": "Division", "message": "division by zero"}],
            "partialResults": {"Add": 10, "Subtract": 10, "Multiply": 0},
            "links": Links.of("d1v1de").document(),
        },
    },
}

# How a client follows a calculation it holds (OpenAPI links: generators and testers use them too).
CALCULATION_LINKS = {
    operation: {"operationId": operation, "parameters": {"id": "$response.body#/id"}, "description": text}
    for operation, text in (
        ("getCalculation", "Its status"),
        ("getResult", "Its result document, once it has ended"),
        ("getHistory", "Its per-operation progress"),
        ("stopCalculation", "Stop it while it runs"),
    )
}


def _responses(
    success: dict[int, tuple[Any, ...]],
    *problems: int,
    examples: dict[int, dict[str, Any]] | None = None,
) -> dict[int, dict[str, Any]]:
    """OpenAPI responses: each success as (description, model, *headers), then every problem."""
    responses: dict[int, dict[str, Any]] = {}
    for status, (description, model, *headers) in success.items():
        responses[status] = _response(description, model and JSON, model, headers)
        if examples and status in examples:
            responses[status]["content"][JSON]["examples"] = examples[status]
    for status in (*problems, *PROBLEMS):
        description, *headers = PROBLEMS.get(status) or (HTTPStatus(status).phrase,)
        responses[status] = _response(description, PROBLEM_JSON, Problem, headers)
    return responses


def _response(description: str, media_type: str | None, model: Any, headers: list[str]) -> dict[str, Any]:
    response: dict[str, Any] = {"description": description, "content": {}}
    if media_type:
        response["content"] = {media_type: {"model": model}}
    if headers:
        response["headers"] = {name: RESPONSE_HEADERS[name] for name in headers}
    if model is Calculation:
        response["links"] = CALCULATION_LINKS
    return response


@app.post(
    "/calculations",
    summary="Start a calculation",
    description=(
        "Starts the durable function with the two numbers. `Idempotency-Key` makes the start safe to "
        "retry: the same key and body answer with the same calculation, another body is a 409. "
        "`Prefer: wait=N` waits up to N seconds (capped) for the calculation to finish. "
        "200 means the calculation has ended: within the wait, or before a retry with the same key."
    ),
    tags=["calculations"],
    responses=_responses(
        {
            200: (
                "Ended: it finished within the wait asked by `Prefer: wait=N`, or this is a retry with "
                "the same `Idempotency-Key` and body of a calculation that has ended (no `Prefer` needed; "
                "`Preference-Applied` only when the answer waited)",
                Calculation,
                "Location",
                "Preference-Applied",
            ),
            202: ("Started (or already running); follow `Location`", Calculation, "Location", "Retry-After"),
        },
        400,
        409,
        413,
        415,
        422,
        examples={200: CALCULATION_EXAMPLES},
    ),
    operation_id="startCalculation",
)
@tracer.capture_method
def start_calculation(
    request: Annotated[
        CalculationRequest,
        Body(
            openapi_examples={
                name: {"summary": summary, "value": body} for name, (summary, body, _) in FLOWS.items()
            }
        ),
    ],
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            pattern=CALCULATION_ID_PATTERN,
            description="Becomes the calculation id: 1-64 of A-Z a-z 0-9 - _",
        ),
    ] = None,
    prefer: Annotated[
        str | None,
        Header(alias="Prefer", description="`wait=N` (RFC 7240): wait up to N seconds for the result"),
    ] = None,
):
    received_at = datetime.now(UTC)
    calculation_id = idempotency_key or uuid.uuid4().hex
    logger.append_keys(calculation_id=calculation_id)
    payload = request.payload()

    calculations_client.start(calculation_id, payload)
    wait = _prefer_wait(prefer)
    finished = wait > 0 and calculations_client.attach(calculation_id, payload, wait)
    execution = calculations_client.describe(calculation_id) if finished or idempotency_key else None

    if execution is not None and execution.started_at < received_at:
        metrics.add_metric(name="IdempotentReplays", unit=MetricUnit.Count, value=1)
        logger.info("calculation replayed", status=execution.status)
    else:
        metrics.add_metric(name="CalculationsStarted", unit=MetricUnit.Count, value=1)
        logger.info("calculation started")

    base_path = _base_path()
    calculation = (
        Calculation.of(execution, base_path)
        if execution
        else Calculation.started(calculation_id, request, base_path)
    )
    if execution is not None and execution.ended:
        headers = {"Location": f"{base_path}/calculations/{calculation_id}", "Cache-Control": "no-store"}
        if finished:
            headers["Preference-Applied"] = f"wait={wait}"
        return _json(200, calculation.document(), headers)
    return _json(202, calculation.document(), _running_headers(calculation_id))


@app.get(
    "/calculations",
    summary="List recent calculations",
    description="Newest first. Filter by `status`; follow `nextCursor` for the next page.",
    tags=["calculations"],
    responses=_responses({200: ("A page of calculations", CalculationPage)}, 422),
    operation_id="listCalculations",
)
@tracer.capture_method
def list_calculations(
    status: Annotated[CalculationStatus | None, Query(description="Only calculations in this status")] = None,
    limit: Annotated[
        int | None,
        Query(ge=1, le=PAGE_SIZE_CEILING, description=f"Page size (default 20, at most {PAGE_SIZE_CEILING})"),
    ] = None,
    cursor: Annotated[
        str | None, Query(max_length=4096, description="`nextCursor` of the previous page")
    ] = None,
):
    settings = get_settings()
    limit = limit or settings.list_default_limit
    if limit > settings.list_max_limit:
        raise InvalidParameter("limit", f"must be at most {settings.list_max_limit}")
    status_filter = status.value if status else None
    items, next_marker = calculations_client.list_executions(
        LAMBDA_STATUSES.get(status, [status_filter]) if status else None,
        limit,
        _read_cursor(cursor, status_filter),
    )
    # Lambda says SUCCEEDED for a calculation whose operations failed; its result decides.
    summaries = [
        CalculationSummary.of(
            calculations_client.describe(item.id) if item.status == "SUCCEEDED" else item, _base_path()
        )
        for item in items
    ]
    page = CalculationPage(
        items=[summary for summary in summaries if status is None or summary.status == status],
        next_cursor=_cursor(next_marker, status_filter) if next_marker else None,
    )
    return _json(200, page.document(), {"Cache-Control": "no-store"})


# The Lambda statuses that can hold a calculation of each API status: one whose operations
# failed ended SUCCEEDED in Lambda and FAILED here; a pausing or paused one is RUNNING here.
LAMBDA_STATUSES = {
    CalculationStatus.RUNNING: ["RUNNING", "PAUSING", "PAUSED"],
    CalculationStatus.SUCCEEDED: ["SUCCEEDED"],
    CalculationStatus.FAILED: ["FAILED", "SUCCEEDED"],
}


def _cursor(marker: str, status: str | None) -> str:
    """An opaque cursor: Lambda's marker, bound to the status filter it was issued for."""
    raw = json.dumps({"m": marker, "s": status}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _read_cursor(cursor: str | None, status: str | None) -> str | None:
    if not cursor:
        return None
    try:
        decoded = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        marker, issued_for = decoded["m"], decoded["s"]
    except (binascii.Error, ValueError, TypeError, KeyError):
        raise InvalidParameter("cursor", "is not a cursor this API issued") from None
    if not isinstance(marker, str) or issued_for != status:
        raise InvalidParameter("cursor", "belongs to a listing with another status filter")
    return marker


@app.get(
    "/calculations/<id>",
    summary="Get a calculation",
    description=(
        "Status, input, timestamps, and the result once it has ended. A calculation whose operations "
        "failed is FAILED and lists them with the partial results. Finished calculations carry an ETag."
    ),
    tags=["calculations"],
    responses=_responses(
        {200: ("The calculation", Calculation, "ETag"), 304: ("Not modified", None, "ETag")},
        404,
        422,
        examples={200: CALCULATION_EXAMPLES},
    ),
    operation_id="getCalculation",
)
@tracer.capture_method
def get_calculation(id: CalculationId, if_none_match: IfNoneMatch = None):
    logger.append_keys(calculation_id=id)
    execution = calculations_client.describe(id)
    return _cacheable(Calculation.of(execution, _base_path()).document(), execution.ended, if_none_match)


@app.get(
    "/calculations/<id>/result",
    summary="Get the result document",
    description=(
        "The durable function's own result once it has ended with one (also when operations failed: "
        "the error_details document). 202 while it runs; 409 when it ended without a result."
    ),
    tags=["calculations"],
    responses=_responses(
        {
            200: ("The result document", ResultDocument, "ETag"),
            202: ("Still running; retry after Retry-After", Calculation, "Location", "Retry-After"),
            304: ("Not modified", None, "ETag"),
        },
        404,
        409,
        422,
        examples={200: RESULT_EXAMPLES},
    ),
    operation_id="getResult",
)
@tracer.capture_method
def get_result(id: CalculationId, if_none_match: IfNoneMatch = None):
    logger.append_keys(calculation_id=id)
    execution = calculations_client.describe(id)
    if not execution.ended:
        return _json(202, Calculation.of(execution, _base_path()).document(), _running_headers(id))
    if execution.status != "SUCCEEDED" or execution.result is None:
        raise NoResult(execution.status)
    return _cacheable(execution.result, True, if_none_match)


@app.get(
    "/calculations/<id>/history",
    summary="Get per-operation progress",
    description=(
        "Each operation (Calculate, then Add, Subtract, Multiply and Division): "
        "status, attempts, start and end times, error."
    ),
    tags=["calculations"],
    responses=_responses(
        {200: ("The operations", History, "ETag"), 304: ("Not modified", None, "ETag")}, 404, 422
    ),
    operation_id="getHistory",
)
@tracer.capture_method
def get_history(id: CalculationId, if_none_match: IfNoneMatch = None):
    logger.append_keys(calculation_id=id)
    events, ended = calculations_client.history(id)
    return _cacheable(History.of(id, events, ended).document(), ended, if_none_match)


@app.post(
    "/calculations/<id>/stop",
    summary="Stop a running calculation",
    description="Stops the durable execution; 409 when the calculation has already ended.",
    tags=["calculations"],
    responses=_responses({200: ("The stopped calculation", Calculation)}, 404, 409, 422),
    operation_id="stopCalculation",
)
@tracer.capture_method
def stop_calculation(id: CalculationId):
    logger.append_keys(calculation_id=id)
    execution = calculations_client.stop(id)
    logger.info("calculation stopped")
    return _json(200, Calculation.of(execution, _base_path()).document(), {"Cache-Control": "no-store"})


# Errors, mapped to RFC 9457 problems once.


@app.exception_handler(RequestValidationError)
def invalid_request(error: RequestValidationError) -> Response:
    errors = error.errors()
    for e in errors:
        if e["type"] == "json_invalid":
            reason = e.get("ctx", {}).get("error", "malformed")
            return _problem(400, f"the request body is not valid JSON: {reason}")
        if e["type"] == "missing" and tuple(e["loc"]) == ("body",):
            return _problem(400, "the request body is empty; send a JSON object such as {}")
    return _problem(
        422,
        "the request has invalid fields",
        [FieldError(field=_field(e), message=_reason(e)) for e in errors],
    )


def _field(error: dict[str, Any]) -> str:
    location, *names = error["loc"]
    if location == "header" and names:
        return {"idempotency-key": "Idempotency-Key"}.get(str(names[0]).lower(), str(names[0]))
    return ".".join(str(name) for name in names) or str(location)


def _reason(error: dict[str, Any]) -> str:
    if error["type"] == "extra_forbidden":
        return "is not a known field (expected num1 and num2)"
    if error["type"] == "model_attributes_type":
        return 'must be a JSON object such as {"num1": 10, "num2": 5}'
    if error["type"] == "string_pattern_mismatch":
        return "must be 1-64 of A-Z a-z 0-9 - _"
    return error.get("msg", "is invalid")


def _request_content_type() -> str:
    return app.current_event.headers.get("content-type", "").split(";")[0].strip().lower()


@app.exception_handler(UnsupportedMediaType)
def unsupported_media_type(error: UnsupportedMediaType) -> Response:
    return _problem(415, f"send the body as {JSON}, not {error.content_type}")


@app.exception_handler(BodyNotText)
def body_not_text(error: BodyNotText) -> Response:
    return _problem(400, "the request body is not valid JSON: it is not UTF-8 text")


@app.exception_handler(RequestUnsupportedContentType)
def unsupported_content_type(error: RequestUnsupportedContentType) -> Response:
    # Powertools reads a JSON media type case-sensitively (`Application/JSON` is not one to it).
    return _problem(415, f"send the body as {JSON}")


@app.exception_handler(RequestTooLarge)
def request_too_large(error: RequestTooLarge) -> Response:
    return _problem(413, f"the body is larger than {get_settings().max_body_bytes} bytes")


@app.exception_handler(InvalidParameter)
def invalid_parameter(error: InvalidParameter) -> Response:
    return _problem(
        422, "the request has invalid fields", [FieldError(field=error.field, message=error.message)]
    )


@app.not_found
def no_route(error: NotFoundError) -> Response:
    path, method = app.current_event.path, app.current_event.http_method.upper()
    template, allowed = next(
        ((template, methods) for template, pattern, methods in PATH_PATTERNS if pattern.match(path)),
        (None, None),
    )
    if template is None or allowed is None:
        return _problem(404, f"there is no resource at {path}")
    if method in allowed and "{id}" in template:
        # The route exists, but its id holds characters the resolver does not route: not an id.
        return invalid_parameter(InvalidParameter("id", "must be 1-64 of A-Z a-z 0-9 - _"))
    allow = ", ".join((*allowed, "OPTIONS"))
    return _problem(405, f"{method} is not allowed here; use {' or '.join(allowed)}", Allow=allow)


@app.exception_handler(CalculationNotFound)
def calculation_not_found(error: CalculationNotFound) -> Response:
    return _problem(404, "no calculation has this id")


@app.exception_handler(AlreadyStarted)
def already_started(error: AlreadyStarted) -> Response:
    metrics.add_metric(name="Conflicts", unit=MetricUnit.Count, value=1)
    logger.info("idempotency key reused with another body")
    return _problem(409, "this Idempotency-Key was already used with another body")


@app.exception_handler(AlreadyEnded)
def already_ended(error: AlreadyEnded) -> Response:
    metrics.add_metric(name="Conflicts", unit=MetricUnit.Count, value=1)
    status = calculation_status(error.execution)
    return _problem(409, f"the calculation has already ended with status {status}")


@app.exception_handler(NoResult)
def no_result(error: NoResult) -> Response:
    return _problem(409, str(error))


@app.exception_handler(Throttled)
def throttled(error: Throttled) -> Response:
    metrics.add_metric(name="Throttles", unit=MetricUnit.Count, value=1)
    logger.warning("lambda throttled the call")
    return _problem(429, "too many requests right now; retry later", Retry_After=str(error.retry_after))


@app.exception_handler(Unavailable)
def unavailable(error: Unavailable) -> Response:
    logger.warning("lambda unavailable", error=str(error))
    return _problem(
        503,
        "the calculation service is unavailable; retry later",
        Retry_After=str(get_settings().retry_after_seconds),
    )


@app.exception_handler(UpstreamError)
def upstream_error(error: UpstreamError) -> Response:
    logger.error("lambda refused the call", error=str(error))
    return _problem(502, "the calculation service gave an unexpected answer")


@app.exception_handler(Exception)
def unexpected_error(error: Exception) -> Response:
    logger.exception("unexpected error")
    return _problem(500, "an unexpected error occurred")


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        settings = get_settings()
    except SettingsError as error:
        return _misconfigured(event, error)
    metrics.namespace = settings.metrics_namespace
    return app.resolve(event, context)


def _misconfigured(event: dict[str, Any], error: SettingsError) -> dict[str, Any]:
    """A 500 problem built without the resolver, whose routes and CORS all need the settings.

    The reason (which variable, and why) goes to the logs only; the caller learns no internals.
    """
    logger.error("the api is misconfigured", error=str(error))
    problem = Problem(
        title=HTTPStatus.INTERNAL_SERVER_ERROR.phrase,
        status=500,
        detail="the API is misconfigured",
        instance=event.get("path"),
    )
    return {
        "statusCode": 500,
        "multiValueHeaders": {"Content-Type": [PROBLEM_JSON], "Cache-Control": ["no-store"]},
        "body": serialize(problem.model_dump(mode="json", exclude_none=True)),
        "isBase64Encoded": False,
    }
