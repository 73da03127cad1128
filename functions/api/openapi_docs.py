"""The spec's own parts: metadata, documented response headers and problems, links, and the
helper that declares a route's responses. Plain data: Powertools turns it into its OpenAPI
models (about 40 ms to import) only when a spec is built, never at cold start."""

from http import HTTPStatus
from typing import Any

from http_responses import JSON, PROBLEM_JSON
from models import Calculation, Problem

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
        "Every route but `/swagger` needs an API key in `x-api-key`; each key is a consumer that sees "
        "only its own calculations."
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
            "description": (
                "Start a calculation, follow its status, result and history, list, stop and delete them"
            ),
        }
    ],
    "security_schemes": {
        "apiKey": {
            "type": "apiKey",
            "in": "header",
            "name": "x-api-key",
            "description": (
                "The stage's API key (the stack's `ApiKeyId` output; `aws apigateway get-api-key "
                "--api-key <id> --include-value`); locally, a key `make run` prints. Each key sees only "
                "its own calculations."
            ),
        }
    },
    "security": [{"apiKey": []}],
}


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
    HTTPStatus.FORBIDDEN: ("No API key, or one the stage does not know (answered by API Gateway)",),
    HTTPStatus.TOO_MANY_REQUESTS: (
        "The key's usage plan, or AWS, throttled the request; retry after Retry-After seconds",
        "Retry-After",
    ),
    HTTPStatus.INTERNAL_SERVER_ERROR: ("An unexpected error; nothing about it is disclosed",),
    HTTPStatus.BAD_GATEWAY: ("AWS refused a call the API made",),
    HTTPStatus.SERVICE_UNAVAILABLE: (
        "AWS could not be reached; retry after Retry-After seconds",
        "Retry-After",
    ),
}

# How a client follows a calculation it holds (OpenAPI links: generators and testers use them too).
CALCULATION_LINKS = {
    operation: {"operationId": operation, "parameters": {"id": "$response.body#/id"}, "description": text}
    for operation, text in (
        ("getCalculation", "Its status"),
        ("getResult", "Its result document, once it has ended"),
        ("getHistory", "Its per-operation progress"),
        ("stopCalculation", "Stop it while it runs"),
        ("deleteCalculation", "Delete it once it has ended"),
    )
}


def responses(
    success: dict[int, tuple[Any, ...]],
    *problems: int,
    examples: dict[int, dict[str, Any]] | None = None,
) -> dict[int, dict[str, Any]]:
    """OpenAPI responses: each success as (description, model, *headers), then every problem."""
    responses: dict[int, dict[str, Any]] = {}
    for status, (description, model, *headers) in success.items():
        responses[status] = response_declaration(description, model and JSON, model, headers)
        if examples and status in examples:
            responses[status]["content"][JSON]["examples"] = examples[status]
    for status in (*problems, *PROBLEMS):
        description, *headers = PROBLEMS.get(status) or (HTTPStatus(status).phrase,)
        responses[status] = response_declaration(description, PROBLEM_JSON, Problem, headers)
    return responses


def response_declaration(
    description: str, media_type: str | None, model: Any, headers: list[str]
) -> dict[str, Any]:
    response: dict[str, Any] = {"description": description, "content": {}}
    if media_type:
        response["content"] = {media_type: {"model": model}}
    if headers:
        response["headers"] = {name: RESPONSE_HEADERS[name] for name in headers}
    if model is Calculation:
        response["links"] = CALCULATION_LINKS
    return response
