"""How the API answers over HTTP: JSON bodies, problem documents, `no-store`, the links' base path
and Location. Shared by the routes and the problem mapping; finished documents' caching is caching.py's."""

import json
from functools import partial
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.data_classes.api_gateway_proxy_event import APIGatewayProxyEvent

from models import FieldError, Problem, ValidationProblem
from settings import get_settings

PROBLEM_JSON = "application/problem+json"
JSON = "application/json"
# Reason phrases RFC 9110 renamed; Python's HTTPStatus has the old ones before 3.13.
RFC_9110_TITLES = {
    413: "Content Too Large",
    414: "URI Too Long",
    416: "Range Not Satisfiable",
    422: "Unprocessable Content",
}
NO_STORE = {"Cache-Control": "no-store"}

# Compact JSON that can never carry NaN or Infinity.
serialize = partial(json.dumps, separators=(",", ":"), allow_nan=False)


def json_response(status: int, document: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(status_code=status, content_type=JSON, body=serialize(document), headers=headers or {})


def reason_phrase(status: int) -> str:
    """RFC 9110's phrase for `status`, the same on every Python."""
    return RFC_9110_TITLES.get(status) or HTTPStatus(status).phrase


def problem_document(
    status: int, detail: str, instance: str | None, errors: list[FieldError] | None = None
) -> str:
    fields = {"title": reason_phrase(status), "status": status, "detail": detail, "instance": instance}
    problem = ValidationProblem(**fields, errors=errors) if errors else Problem(**fields)
    return serialize(problem.model_dump(mode="json", exclude_none=True))


def problem_response(
    status: int, detail: str, instance: str | None, errors: list[FieldError] | None = None, **headers: str
) -> Response:
    return Response(
        status_code=status,
        content_type=PROBLEM_JSON,
        body=problem_document(status, detail, instance, errors),
        headers={**NO_STORE, **{key.replace("_", "-"): value for key, value in headers.items()}},
    )


def base_path(event: APIGatewayProxyEvent) -> str:
    """What the client's URL holds before the API's own paths: `/Prod` on API Gateway's
    default endpoint; nothing on a custom domain or the local runtime. Links and Location
    carry it so that they resolve against the URL the client used."""
    requested = event.request_context.path or event.path
    return requested.removesuffix(event.path) if requested.endswith(event.path) else ""


def location(event: APIGatewayProxyEvent, calculation_id: str) -> str:
    return f"{base_path(event)}/calculations/{calculation_id}"


def running_headers(event: APIGatewayProxyEvent, calculation_id: str) -> dict[str, str]:
    return {
        "Location": location(event, calculation_id),
        "Retry-After": str(get_settings().retry_after_seconds),
        **NO_STORE,
    }
