"""Guards for the three Powertools members the API uses that are not public (powertools_internals.py).

Each test fails when a Powertools release renames, removes or stops calling what the API relies
on; the module's docstring says what public way would let each one go.
"""

import inspect
from typing import Annotated, Any

import pytest
from aws_lambda_powertools import Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver
from aws_lambda_powertools.event_handler.middlewares.openapi_validation import (
    OpenAPIRequestValidationMiddleware,
)
from aws_lambda_powertools.event_handler.openapi.params import Body
from pydantic import BaseModel

from events import FakeLambdaContext, rest_event
from powertools_internals import (
    BodyReadingValidation,
    ExactPathResolver,
    tracing_disabled,
    validate_bodies_the_api_way,
)
from request_body import BodyNotText, UnsupportedMediaType


class Numbers(BaseModel):
    num1: int = 0


def resolver_with_the_api_body_check() -> APIGatewayRestResolver:
    """A resolver with validation, the API's body check installed, and one route taking a body."""
    resolver = APIGatewayRestResolver(enable_validation=True)
    validate_bodies_the_api_way(resolver)

    @resolver.post("/numbers")
    def numbers(body: Annotated[Numbers, Body()]) -> dict[str, Any]:
        return body.model_dump()

    return resolver


@pytest.mark.parametrize("name", ["_get_body", "_parse_json_data"])
def test_the_request_validation_middleware_still_has_the_body_methods_the_api_uses(name):
    # Given Powertools' request validation middleware
    # Then it still has `_get_body(self, app)`, the method the API's subclass replaces, and the
    # `_parse_json_data(self, app)` the replacement calls
    method = inspect.getattr_static(OpenAPIRequestValidationMiddleware, name)
    assert inspect.isfunction(method)
    assert list(inspect.signature(method).parameters) == ["self", "app"]


def test_the_resolver_keeps_its_validation_middleware_in_request_validation_middleware():
    # Given a resolver with validation on
    resolver = APIGatewayRestResolver(enable_validation=True)

    # Then its validation middleware is the attribute the API replaces
    assert type(resolver._request_validation_middleware) is OpenAPIRequestValidationMiddleware


@pytest.mark.parametrize(
    ("headers", "body", "base64_body", "refusal"),
    [
        ({"Content-Type": "multipart/form-data"}, "num1=1", False, UnsupportedMediaType),
        ({"Content-Type": "application/json"}, "//79", True, BodyNotText),
    ],
    ids=["multipart-without-boundary", "base64-not-utf8"],
)
def test_the_replaced_middleware_runs_the_api_body_check_before_validation(
    headers, body, base64_body, refusal
):
    # Given a resolver on which the API installed its body check
    resolver = resolver_with_the_api_body_check()
    event = rest_event("POST", "/numbers", headers=headers)
    event["body"], event["isBase64Encoded"] = body, base64_body

    # When a body Powertools cannot read arrives
    # Then the API's check refuses it first (Powertools still calls _get_body on the replacement)
    with pytest.raises(refusal):
        resolver.resolve(event, FakeLambdaContext())


@pytest.mark.parametrize("content_type", ["application/json", "Application/JSON; charset=UTF-8"])
def test_a_readable_body_still_reaches_the_route_through_the_replaced_middleware(content_type):
    # Given a JSON body, its media type in any case (RFC 9110 8.3.1: it is case-insensitive)
    resolver = resolver_with_the_api_body_check()
    event = rest_event("POST", "/numbers", {"num1": 7}, headers={"Content-Type": content_type})

    answer = resolver.resolve(event, FakeLambdaContext())

    assert answer["statusCode"] == 200
    assert answer["body"] == '{"num1":7}'
    assert type(resolver._request_validation_middleware) is BodyReadingValidation


def test_resolvers_still_compile_their_routes_with_a_static_compile_regex():
    # Given Powertools' resolvers
    # Then each still compiles a route with the static `_compile_regex(rule, base_regex)`
    for resolver in (ApiGatewayResolver, APIGatewayRestResolver):
        method = inspect.getattr_static(resolver, "_compile_regex")
        assert isinstance(method, staticmethod)
        assert list(inspect.signature(method.__func__).parameters) == ["rule", "base_regex"]


@pytest.mark.parametrize("path", ["/items/c1\n", "/items/c1/\n", "/items\n"])
def test_the_exact_path_resolver_routes_no_path_with_a_final_newline(path):
    # Given a resolver with one route, and a path that ends in a newline after a routable one
    resolver = ExactPathResolver()

    @resolver.get("/items/<id>")
    def item(id: str) -> dict[str, str]:
        return {"id": id}

    event = rest_event("GET", "/items/c1")
    event["path"] = path

    # Then no route serves it (Powertools' own pattern serves it as `c1`), and `/items/c1/` still is
    assert resolver.resolve(event, FakeLambdaContext())["statusCode"] == 404
    event["path"] = "/items/c1/"
    assert resolver.resolve(event, FakeLambdaContext())["body"] == '{"id":"c1"}'


def test_the_tracer_still_decides_whether_tracing_is_off_with_is_tracer_disabled():
    # Given Powertools' Tracer
    # Then `_is_tracer_disabled` is still a static method taking nothing
    method = inspect.getattr_static(Tracer, "_is_tracer_disabled")
    assert isinstance(method, staticmethod)
    assert list(inspect.signature(Tracer._is_tracer_disabled).parameters) == []


@pytest.mark.parametrize(
    ("environment", "disabled"),
    [
        ({"POWERTOOLS_TRACE_DISABLED": "true"}, True),
        ({}, True),  # outside Lambda
        ({"LAMBDA_TASK_ROOT": "/var/task"}, False),
        ({"LAMBDA_TASK_ROOT": "/var/task", "POWERTOOLS_TRACE_DISABLED": "true"}, True),
        ({"LAMBDA_TASK_ROOT": "/var/task", "AWS_SAM_LOCAL": "true"}, True),
    ],
    ids=["disabled-by-variable", "outside-lambda", "in-lambda", "in-lambda-disabled", "sam-local"],
)
def test_tracing_is_off_exactly_where_powertools_turns_it_off(monkeypatch, environment, disabled):
    # Given an environment
    for name in ("POWERTOOLS_TRACE_DISABLED", "LAMBDA_TASK_ROOT", "AWS_SAM_LOCAL", "CHALICE_LOCAL_MODE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)

    # Then the API's rule answers as Powertools documents its own
    assert tracing_disabled() is disabled
