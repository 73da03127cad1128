"""How the API answers over HTTP: JSON bodies, problem documents, caching of finished documents,
the links' base path and `Prefer: wait`. Shared by the routes and the problem mapping."""

import hashlib
import json
import re
from functools import partial
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.data_classes.api_gateway_proxy_event import APIGatewayProxyEvent

from models import FieldError, Problem
from settings import get_settings

PROBLEM_JSON = "application/problem+json"
JSON = "application/json"
PREFER_WAIT = re.compile(r"(?:^|[,;])\s*wait\s*=\s*\"?(\d{1,6})\"?\s*(?:$|[,;])", re.IGNORECASE)
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
    problem = Problem(
        title=reason_phrase(status),
        status=status,
        detail=detail,
        instance=instance,
        errors=errors,
    )
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


def cacheable(document: Any, finished: bool, if_none_match: str | None) -> Response:
    """200 with the document; finished ones get an ETag, a long max-age and 304 on revalidation."""
    if not finished:
        return json_response(200, document, NO_STORE)
    body = serialize(document)
    etag = '"' + hashlib.sha256(body.encode()).hexdigest()[:32] + '"'
    headers = {
        "ETag": etag,
        # private: the same URL is another calculation for another API key, so a shared cache
        # (a proxy, a CDN) must never keep one consumer's copy for the next.
        "Cache-Control": f"private, max-age={get_settings().finished_max_age_seconds}, immutable",
    }
    if if_none_match and etag_matches(if_none_match, etag):
        return Response(status_code=304, content_type=None, body="", headers=headers)
    return Response(status_code=200, content_type=JSON, body=body, headers=headers)


def etag_matches(if_none_match: str, etag: str) -> bool:
    tags = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
    return "*" in tags or etag in tags


def prefer_wait(prefer: str | None) -> int:
    """Seconds to wait from `Prefer: wait=N` (RFC 7240), capped; 0 when absent or unreadable."""
    match = PREFER_WAIT.search(prefer or "")
    if not match:
        return 0
    return min(int(match.group(1)), get_settings().prefer_wait_max_seconds)


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
