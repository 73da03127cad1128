"""Every error, mapped once to an RFC 9457 problem document: `register(app)` installs the handlers."""

import re
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.metrics import MetricUnit

from calculation_facts import CALCULATION_ID_RULE
from errors import (
    AlreadyEnded,
    CalculationNotFound,
    IdempotencyConflict,
    InvalidParameter,
    NoCallerIdentity,
    NoResult,
    StillRunning,
    Throttled,
    Unavailable,
    UpstreamError,
)
from http_responses import JSON, problem_response
from models import FIELD_RULES, REQUEST_HEADERS, FieldError
from observability import logger, metrics
from request_body import BodyNotText, DuplicateKey, RequestTooLarge, SeveralMediaTypes, UnsupportedMediaType
from settings import get_settings


def register(app: APIGatewayRestResolver, paths: dict[str, tuple[str, ...]]) -> None:
    """Install the handlers on `app`; `paths` is its route table (404 against 405)."""
    routes = [(template, _pattern(template), methods) for template, methods in paths.items()]

    def problem(status: int, detail: str, errors: list[FieldError] | None = None, **headers: str) -> Response:
        return problem_response(status, detail, app.current_event.path, errors, **headers)

    def field_problem(field: str, message: str) -> Response:
        return problem(422, "the request has invalid fields", [FieldError(field=field, message=message)])

    @app.exception_handler(RequestValidationError)
    def invalid_request(error: RequestValidationError) -> Response:
        errors = error.errors()
        for e in errors:
            if e["type"] == "json_invalid":
                reason = e.get("ctx", {}).get("error", "malformed")
                return problem(400, f"the request body is not valid JSON: {reason}")
            if e["type"] == "missing" and tuple(e["loc"]) == ("body",):
                if app.current_event.body:  # `null`: a body, but not an object
                    return field_problem("body", _object_rule(app.current_event.path))
                return problem(400, "the request body is empty; send a JSON object such as {}")
        return problem(
            422,
            "the request has invalid fields",
            [FieldError(field=_field(e), message=_reason(e, app.current_event.path)) for e in errors],
        )

    @app.exception_handler(UnsupportedMediaType)
    def unsupported_media_type(error: UnsupportedMediaType) -> Response:
        if not error.content_type:
            return problem(415, f"the body has no Content-Type; send it as {JSON}")
        return problem(415, f"send the body as {JSON}, not {_shortened(error.content_type)}")

    @app.exception_handler(DuplicateKey)
    def duplicate_key(error: DuplicateKey) -> Response:
        return field_problem(error.key, "appears more than once in the body; send each field once")

    @app.exception_handler(SeveralMediaTypes)
    def several_media_types(error: SeveralMediaTypes) -> Response:
        return problem(400, f"send one Content-Type header ({JSON}), not several")

    @app.exception_handler(BodyNotText)
    def body_not_text(error: BodyNotText) -> Response:
        return problem(400, "the request body is not valid JSON: it is not UTF-8 text")

    @app.exception_handler(RequestTooLarge)
    def request_too_large(error: RequestTooLarge) -> Response:
        return problem(413, f"the body is larger than {get_settings().max_body_bytes} bytes")

    @app.exception_handler(InvalidParameter)
    def invalid_parameter(error: InvalidParameter) -> Response:
        return field_problem(error.field, error.message)

    @app.not_found
    def no_route(error: NotFoundError) -> Response:
        path, method = app.current_event.path, app.current_event.http_method.upper()
        template, allowed = next(
            ((template, methods) for template, pattern, methods in routes if pattern.match(path)),
            (None, None),
        )
        if template is None or allowed is None:
            return problem(404, f"there is no resource at {path}")
        if method in allowed and "{id}" in template:
            # The route exists, but its id holds characters the resolver does not route: not an id.
            return field_problem("id", CALCULATION_ID_RULE)
        allow = ", ".join((*allowed, "OPTIONS"))
        return problem(405, f"{method} is not allowed here; use {' or '.join(allowed)}", Allow=allow)

    @app.exception_handler(NoCallerIdentity)
    def no_caller_identity(error: NoCallerIdentity) -> Response:
        logger.warning("request without a caller identity")
        return problem(403, "the request carries no API key")

    @app.exception_handler(CalculationNotFound)
    def calculation_not_found(error: CalculationNotFound) -> Response:
        return problem(404, "no calculation has this id")

    @app.exception_handler(IdempotencyConflict)
    def idempotency_conflict(error: IdempotencyConflict) -> Response:
        metrics.add_metric(name="Conflicts", unit=MetricUnit.Count, value=1)
        logger.info("idempotency key reused with another body")
        return problem(409, "this Idempotency-Key was already used with another body")

    @app.exception_handler(AlreadyEnded)
    def already_ended(error: AlreadyEnded) -> Response:
        metrics.add_metric(name="Conflicts", unit=MetricUnit.Count, value=1)
        return problem(409, str(error))

    @app.exception_handler(StillRunning)
    def still_running(error: StillRunning) -> Response:
        metrics.add_metric(name="Conflicts", unit=MetricUnit.Count, value=1)
        return problem(409, "the calculation is still running; stop it or wait for it to end")

    @app.exception_handler(NoResult)
    def no_result(error: NoResult) -> Response:
        return problem(409, str(error))

    @app.exception_handler(Throttled)
    def throttled(error: Throttled) -> Response:
        metrics.add_metric(name="Throttles", unit=MetricUnit.Count, value=1)
        logger.warning("aws throttled the call", service=error.service)
        return problem(429, "too many requests right now; retry later", Retry_After=str(error.retry_after))

    @app.exception_handler(Unavailable)
    def unavailable(error: Unavailable) -> Response:
        logger.warning("aws unavailable", service=error.service, error=str(error))
        return problem(
            503,
            "the calculation service is unavailable; retry later",
            Retry_After=str(get_settings().retry_after_seconds),
        )

    @app.exception_handler(UpstreamError)
    def upstream_error(error: UpstreamError) -> Response:
        logger.error("aws refused the call", service=error.service, error=str(error))
        return problem(502, "the calculation service gave an unexpected answer")

    @app.exception_handler(Exception)
    def unexpected_error(error: Exception) -> Response:
        logger.exception("unexpected error")
        return problem(500, "an unexpected error occurred")


# Request headers as the 422 names them, whatever case the client sent.
HEADER_NAMES = {name.lower(): name for name in REQUEST_HEADERS}


def _pattern(template: str) -> re.Pattern[str]:
    return re.compile("^" + re.escape(template).replace(re.escape("{id}"), "[^/]+") + r"/*\Z")


def _field(error: dict[str, Any]) -> str:
    location, *names = error["loc"]
    if location == "header" and names:
        return HEADER_NAMES.get(str(names[0]).lower(), str(names[0]))
    return ".".join(str(name) for name in names) or str(location)


# The body a route takes, as its 422s hint at it; a route not named here gets no hint.
BODY_HINTS = {
    "/calculations": ("num1 and num2", '{"num1": 10, "num2": 5}'),
    "/webhooks": ("url, events and description", '{"url": "https://example.com/webhooks"}'),
}


def _shortened(text: str, limit: int = 100) -> str:
    """A value the client sent, echoed at most `limit` characters long."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _object_rule(path: str) -> str:
    example = BODY_HINTS.get(path.rstrip("/"), ("", ""))[1]
    return f"must be a JSON object such as {example}" if example else "must be a JSON object"


def _reason(error: dict[str, Any], path: str) -> str:
    fields = BODY_HINTS.get(path.rstrip("/"), ("", ""))[0]
    if error["loc"][0] in ("header", "query") and isinstance(error.get("input"), list):
        return "is sent more than once; send it once"
    if error["type"] == "extra_forbidden":
        return f"is not a known field (expected {fields})" if fields else "is not a known field"
    if error["type"] == "model_attributes_type":
        return _object_rule(path)
    if error["type"] in ("string_pattern_mismatch", "string_too_long"):
        return FIELD_RULES.get(_field(error), error.get("msg", "is invalid"))
    return error.get("msg", "is invalid")
