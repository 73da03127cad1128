"""The spec's own parts: metadata, documented response headers and problems, links, the helper
that declares a route's responses, and `spec_document`, the one place the spec is built. Plain
data: Powertools turns it into its OpenAPI models (about 40 ms to import) only when a spec is
built, never at cold start."""

import json
from http import HTTPStatus
from typing import Any

from http_responses import JSON, PROBLEM_JSON, reason_phrase
from models import API_KEY_HEADER, LINK_MAX_LENGTH, Calculation, Problem, ValidationProblem
from settings import RETRY_AFTER_MAX_SECONDS

OPENAPI: dict[str, Any] = {
    "title": "Durable Calculations API",
    "version": "1.0.0",
    "summary": "Start calculations as AWS Lambda durable executions and follow them over HTTP.",
    "description": (
        "`POST /calculations` starts a durable execution that adds, subtracts, multiplies and divides "
        "two numbers in parallel; the other routes follow it: status, result, per-operation history, "
        "the list of recent calculations, stopping, deleting. Starting is asynchronous (`202` with "
        "`Location` and `Retry-After`), safe to retry with `Idempotency-Key`, and can wait for the "
        "result with `Prefer: wait=N`. Every error is an RFC 9457 problem document "
        "(`application/problem+json`). Every route but `/swagger` and `/console` needs an API key in "
        "`x-api-key`; "
        "each key is a consumer that sees only its own calculations."
    ),
    "servers": [
        # A plain URL, not a template: generators take the first server as a client's default
        # base URL (and its type), where `{port}` would be taken literally.
        {
            "url": "http://127.0.0.1:3000",
            "description": "The local runtime (`make run`; another port with `--api-port`)",
            "x-internal": True,
        },
        {
            "url": "https://{restApiId}.execute-api.{region}.amazonaws.com/{stage}",
            "description": "The deployed stage: the stack's `ApiUrl` output",
            "variables": {
                "restApiId": {"default": "abcde12345", "description": "The REST API's id"},
                "region": {"default": "us-east-1", "description": "The stack's AWS region"},
                "stage": {"default": "v1", "description": "The template's `StageName`"},
            },
            "x-internal": False,
        },
    ],
    "tags": [
        {
            "name": "calculations",
            "description": (
                "Start a calculation, follow its status, result and history, list, stop and delete them"
            ),
        },
        {
            "name": "webhooks",
            "description": "Your endpoints that receive calculation events, signed (Standard Webhooks v1)",
        },
    ],
    "security_schemes": {
        "apiKey": {
            "type": "apiKey",
            "in": "header",
            "name": API_KEY_HEADER,
            "description": (
                "The stage's API key (the stack's `ApiKeyId` output; `aws apigateway get-api-key "
                "--api-key <id> --include-value`); locally, a key `make run` prints. Each key sees only "
                "its own calculations."
            ),
        }
    },
    "security": [{"apiKey": []}],
}


SCHEMA_REF = "#/components/schemas/"

# Response headers, documented once; `required` where every response of that status carries them.
RESPONSE_HEADERS: dict[str, dict[str, Any]] = {
    "Location": {
        "description": "The calculation's URL, `/calculations/{id}`",
        "required": True,
        "schema": {
            "type": "string",
            "format": "uri-reference",
            "maxLength": LINK_MAX_LENGTH,
            "examples": ["/calculations/c0ffee"],
        },
    },
    "Retry-After": {
        "description": "Seconds to wait before asking again",
        "required": True,
        "schema": {
            "type": "integer",
            "format": "int32",
            "minimum": 1,
            "maximum": RETRY_AFTER_MAX_SECONDS,
            "examples": [1],
        },
    },
    "ETag": {
        "description": "The finished document's version: send it back as `If-None-Match`",
        "schema": {"type": "string", "pattern": '^"[0-9a-f]{32}"$', "maxLength": 34},
    },
    "Preference-Applied": {
        "description": "`wait=N` when the answer waited for the calculation (RFC 7240)",
        "schema": {"type": "string", "pattern": "^wait=[0-9]{1,2}$", "maxLength": 7, "examples": ["wait=10"]},
    },
}
# CORS headers on every answer of the function, and on API Gateway's own 403 and 429 (Vary
# excepted): not required, since a request without an allowed `Origin` gets none.
CORS_HEADERS: dict[str, dict[str, Any]] = {
    "Access-Control-Allow-Origin": {
        "description": "The request's `Origin` when allowed, or `*` (the template's `CorsAllowOrigin`)",
        "schema": {
            "type": "string",
            "pattern": "^(\\*|https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?)$",
            "maxLength": 270,
        },
    },
    "Vary": {
        "description": "`Origin`: the CORS headers depend on the request's `Origin`",
        "schema": {"type": "string", "enum": ["Origin"]},
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
        description, *headers = PROBLEMS.get(status) or (reason_phrase(status),)
        model = ValidationProblem if status == HTTPStatus.UNPROCESSABLE_ENTITY else Problem
        responses[status] = response_declaration(description, PROBLEM_JSON, model, headers)
    return responses


def response_declaration(
    description: str, media_type: str | None, model: Any, headers: list[str]
) -> dict[str, Any]:
    response: dict[str, Any] = {"description": description, "content": {}}
    if media_type:
        response["content"] = {media_type: {"model": model}}
    response["headers"] = {**{name: RESPONSE_HEADERS[name] for name in headers}, **CORS_HEADERS}
    if model is Calculation:
        response["links"] = CALCULATION_LINKS
    return response


def spec_document(resolver: Any) -> dict[str, Any]:
    """The OpenAPI document as plain JSON data: what `/swagger` serves and openapi.yaml holds.

    Three changes to what Powertools generates. It documents an optional parameter as nullable,
    which none can be: a header or query parameter is absent or a string, so the null goes. It
    needs `content: {}` on an answer without a body (204, 304) not to give it one, and an empty
    `content` goes: generators read it as a body of no known type. And it adds schemas for its own
    validation errors (HTTPValidationError and the ones it refers to); the API answers those with
    its Problem instead, so schemas nothing refers to go.
    """
    from aws_lambda_powertools.event_handler.openapi.compat import model_json

    from webhooks_spec import add_webhooks

    schema = resolver.get_openapi_schema(**OPENAPI)
    document = json.loads(model_json(schema, by_alias=True, exclude_none=True))
    for path_item in document["paths"].values():
        for operation in path_item.values():
            for parameter in operation.get("parameters", []):
                parameter["schema"] = _not_null(parameter["schema"])
            for response in operation["responses"].values():
                if response.get("content") == {}:
                    del response["content"]
    add_webhooks(document)
    schemas = document.get("components", {}).get("schemas", {})
    used: set[str] = set()
    pending = _schema_refs({key: value for key, value in document.items() if key != "components"})
    while pending:
        name = pending.pop()
        if name not in used:
            used.add(name)
            pending |= _schema_refs(schemas.get(name, {}))
    document["components"]["schemas"] = {name: value for name, value in schemas.items() if name in used}
    return document


def _not_null(schema: dict[str, Any]) -> dict[str, Any]:
    """`{"anyOf": [X, {"type": "null"}], ...}` → X with the rest (title, description) kept."""
    branches = [branch for branch in schema.get("anyOf", []) if branch != {"type": "null"}]
    if "anyOf" not in schema or len(branches) != 1:
        return schema
    return {**{key: value for key, value in schema.items() if key != "anyOf"}, **branches[0]}


def _schema_refs(node: Any) -> set[str]:
    """The component schemas `node` refers to, at any depth."""
    if isinstance(node, dict):
        found = (
            {node["$ref"].removeprefix(SCHEMA_REF)}
            if str(node.get("$ref", "")).startswith(SCHEMA_REF)
            else set()
        )
        return found.union(*(_schema_refs(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(_schema_refs(value) for value in node))
    return set()
