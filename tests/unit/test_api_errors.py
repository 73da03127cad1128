"""Bad input, routing, CORS, the spec and settings: every refusal is a clean problem document."""

import base64
import io
import json
from importlib.resources import files

import pytest
from botocore.exceptions import ReadTimeoutError

import app
import dynamodb_adapter
import lambda_adapter
import service
import settings
import swagger_routes
from events import FakeLambdaContext, found, get_item_params, item, name_of, rest_event
from settings import SettingsError, get_settings

PROBLEM = "application/problem+json"


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ('{"num1": "10"}', "num1", "must be a JSON number, got a string"),
        ('{"num1": true}', "num1", "must be a JSON number, got a boolean"),
        ('{"num2": null}', "num2", "must be a JSON number, got null"),
        ('{"num1": [1]}', "num1", "must be a JSON number, got an array"),
        (
            '{"num1": NaN}',
            "num1",
            "must be a finite number (NaN, Infinity and numbers beyond 1.8e308 are refused)",
        ),
        (
            '{"num1": Infinity}',
            "num1",
            "must be a finite number (NaN, Infinity and numbers beyond 1.8e308 are refused)",
        ),
        (
            '{"num2": -Infinity}',
            "num2",
            "must be a finite number (NaN, Infinity and numbers beyond 1.8e308 are refused)",
        ),
        (
            '{"num1": 1e400}',
            "num1",
            "must be a finite number (NaN, Infinity and numbers beyond 1.8e308 are refused)",
        ),
        ('{"num1": 1, "num3": 2}', "num3", "is not a known field (expected num1 and num2)"),
        ("[10, 5]", "body", 'must be a JSON object such as {"num1": 10, "num2": 5}'),
        ('"10"', "body", 'must be a JSON object such as {"num1": 10, "num2": 5}'),
        ("null", "body", 'must be a JSON object such as {"num1": 10, "num2": 5}'),
        (" null ", "body", 'must be a JSON object such as {"num1": 10, "num2": 5}'),
    ],
)
def test_field_errors_are_422_naming_each_field(call, stubs, body, field, message):
    response = call("POST", "/calculations", body, headers={"Content-Type": "application/json"})

    assert response.status == 422
    assert response.headers["Content-Type"] == PROBLEM
    assert response.json["title"] == "Unprocessable Content"
    assert response.json["errors"] == [{"field": field, "message": message}]


def sent_twice(method, path, name, values):
    """A request whose header `name` is sent once per value (API Gateway's `headers` keeps the last)."""
    event = rest_event(method, path, body={"num1": 1, "num2": 2} if method == "POST" else None)
    event["headers"] = {**(event["headers"] or {}), name: values[-1]}
    event["multiValueHeaders"] = {**(event["multiValueHeaders"] or {}), name: values}
    result = app.lambda_handler(event, FakeLambdaContext())
    return result["statusCode"], json.loads(result["body"])


@pytest.mark.parametrize(
    ("method", "path", "name"),
    [
        ("POST", "/calculations", "Idempotency-Key"),
        ("POST", "/calculations", "Prefer"),
        ("GET", "/calculations/c1", "If-None-Match"),
    ],
)
def test_a_header_sent_twice_is_422_naming_it(stubs, method, path, name):
    # When a header the API reads arrives twice (no AWS call is stubbed: none may be made)
    status, problem = sent_twice(
        method, path, name, ["wait=1", "wait=2"] if name == "Prefer" else ["a1", "b2"]
    )

    # Then it is named, with what to do
    assert status == 422
    assert problem["errors"] == [{"field": name, "message": "is sent more than once; send it once"}]


@pytest.mark.parametrize(
    "types", [["text/plain", "application/json"], ["application/json", "application/json"]]
)
def test_a_body_with_several_content_types_is_400_before_it_is_read(stubs, types):
    status, problem = sent_twice("POST", "/calculations", "Content-Type", types)

    assert status == 400
    assert problem["detail"] == "send one Content-Type header (application/json), not several"


def test_an_integer_beyond_the_largest_float_is_422_like_other_out_of_range_numbers(call, stubs):
    # Given a body whose integer has 400 digits: valid JSON, but beyond 1.8e308
    body = '{"num1": -' + "9" * 400 + ', "num2": 5}'

    # When it is posted (no AWS call is stubbed: none may be made)
    response = call("POST", "/calculations", body, headers={"Content-Type": "application/json"})

    # Then it is refused naming the field, as 1e400 is
    assert response.status == 422
    assert response.headers["Content-Type"] == PROBLEM
    assert response.headers["Cache-Control"] == "no-store"
    assert response.json == {
        "type": "about:blank",
        "title": "Unprocessable Content",
        "status": 422,
        "detail": "the request has invalid fields",
        "instance": "/calculations",
        "errors": [
            {
                "field": "num1",
                "message": "must be a finite number (NaN, Infinity and numbers beyond 1.8e308 are refused)",
            }
        ],
    }


def test_an_integer_with_more_digits_than_python_converts_is_a_400_not_a_crash(call, stubs):
    # Given an integer of 4301 digits, one more than Python converts from text by default
    body = '{"num1": ' + "1" * 4301 + "}"

    # When it is posted
    response = call("POST", "/calculations", body, headers={"Content-Type": "application/json"})

    # Then it is a malformed body, like other JSON the API cannot read
    assert response.status == 400
    assert response.headers["Content-Type"] == PROBLEM
    assert response.json == {
        "type": "about:blank",
        "title": "Bad Request",
        "status": 400,
        "detail": "the request body is not valid JSON: a number has too many digits",
        "instance": "/calculations",
    }


def test_every_bad_field_is_listed(call, stubs):
    response = call("POST", "/calculations", {"num1": "10", "num2": False, "op": "add"})

    assert [error["field"] for error in response.json["errors"]] == ["num1", "num2", "op"]


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ('{"num1": ', "the request body is not valid JSON: Expecting value"),
        ("not json", "the request body is not valid JSON: Expecting value"),
        ("", "the request body is empty; send a JSON object such as {}"),
        ("[" * 5000 + "]" * 5000, "the request body is not valid JSON: nested deeper than 32 levels"),
        ('{"a":' * 33 + "1" + "}" * 33, "the request body is not valid JSON: nested deeper than 32 levels"),
    ],
)
def test_malformed_bodies_are_400(call, stubs, body, detail):
    response = call("POST", "/calculations", body, headers={"Content-Type": "application/json"})

    assert response.status == 400
    assert response.headers["Content-Type"] == PROBLEM
    assert response.json["detail"] == detail


def test_nesting_up_to_the_limit_is_parsed_and_brackets_in_strings_do_not_count(call, stubs):
    # Given bodies nested exactly 32 levels deep, and a string holding many brackets
    nested = "[" * 32 + "]" * 32
    brackets_in_a_string = '{"num1": "' + "[" * 100 + '"}'

    # When each is posted
    responses = [
        call("POST", "/calculations", body, headers={"Content-Type": "application/json"})
        for body in (nested, brackets_in_a_string)
    ]

    # Then both are parsed, and refused for their fields, not their depth
    assert [response.status for response in responses] == [422, 422]
    assert responses[1].json["errors"] == [
        {"field": "num1", "message": "must be a JSON number, got a string"}
    ]


def test_a_key_given_twice_is_422_naming_it(call, stubs):
    # Given a body that names num1 twice (a JSON parser would keep either value)
    body = '{"num1": 1, "num2": 2, "num1": 3}'

    # When it is posted
    response = call("POST", "/calculations", body, headers={"Content-Type": "application/json"})

    # Then it is refused, naming the key, and nothing starts
    assert response.status == 422
    assert response.headers["Content-Type"] == PROBLEM
    assert response.json["errors"] == [
        {"field": "num1", "message": "appears more than once in the body; send each field once"}
    ]


def test_a_body_without_a_content_type_is_415(call, stubs):
    # Given a JSON body sent with no Content-Type at all
    response = call("POST", "/calculations", '{"num1": 10, "num2": 5}', headers={})

    # Then it is refused like a body of another media type
    assert response.status == 415
    assert response.headers["Content-Type"] == PROBLEM
    assert response.json["detail"] == "the body has no Content-Type; send it as application/json"


def test_an_empty_post_without_a_content_type_is_the_empty_body_400(call, stubs):
    response = call("POST", "/calculations", "", headers={})

    assert response.status == 400
    assert response.json["detail"] == "the request body is empty; send a JSON object such as {}"


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"]
)
def test_a_body_that_is_not_json_is_415(call, stubs, content_type):
    response = call("POST", "/calculations", "num1=10&num2=5", headers={"Content-Type": content_type})

    assert response.status == 415
    assert response.headers["Content-Type"] == PROBLEM
    assert response.json["detail"].startswith("send the body as application/json")


@pytest.mark.parametrize(
    ("content_type", "named"),
    [
        (";;;===", ";;;==="),
        ("; charset=utf-8", "; charset=utf-8"),
        ("text/" + "x" * 200, "text/" + "x" * 94 + "…"),
    ],
)
def test_a_media_type_refused_is_named_as_sent_and_at_most_100_characters(call, stubs, content_type, named):
    response = call("POST", "/calculations", '{"num1": 1}', headers={"Content-Type": content_type})

    assert response.status == 415
    assert response.json["detail"] == f"send the body as application/json, not {named}"


def test_a_one_megabyte_body_is_413_before_it_is_parsed(call, stubs):
    body = '{"num1": ' + "1" * (1024 * 1024) + "}"

    response = call("POST", "/calculations", body, headers={"Content-Type": "application/json"})

    assert response.status == 413
    assert response.json == {
        "type": "about:blank",
        "title": "Content Too Large",
        "status": 413,
        "detail": "the body is larger than 16384 bytes",
        "instance": "/calculations",
    }


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("DELETE", "/calculations", "POST, GET, OPTIONS"),
        ("PUT", "/calculations/calc-1", "GET, DELETE, OPTIONS"),
        ("GET", "/calculations/calc-1/stop", "POST, OPTIONS"),
        ("POST", "/calculations/calc-1/result", "GET, OPTIONS"),
    ],
)
def test_wrong_method_is_405_with_allow(call, stubs, method, path, allow):
    response = call(method, path)

    assert response.status == 405
    assert response.headers["Allow"] == allow
    assert response.headers["Content-Type"] == PROBLEM


@pytest.mark.parametrize("path", ["/", "/nope", "/calculations/a/b/c", "/swagger/x"])
def test_unknown_route_is_404(call, stubs, path):
    response = call("GET", path)

    assert response.status == 404
    assert response.headers["Content-Type"] == PROBLEM
    assert response.json["detail"] == f"there is no resource at {path}"


def test_problems_vary_by_origin_too(call, stubs):
    # Given no Origin is sent
    # When an unknown route is asked for
    response = call("GET", "/nope")

    # Then the problem also says it depends on Origin
    assert response.status == 404
    assert response.headers["Content-Type"] == PROBLEM
    assert response.headers["Vary"] == "Origin"


def test_an_unexpected_failure_is_a_500_problem_without_a_trace(call, stubs, monkeypatch):
    def broken(owner, calculation_id):
        raise RuntimeError("secret internal state")

    monkeypatch.setattr(service, "get", broken)

    response = call("GET", "/calculations/calc-1")

    assert response.status == 500
    assert response.json["detail"] == "an unexpected error occurred"
    assert "secret" not in response.text


def test_a_value_error_in_a_route_is_a_500_whatever_the_content_type(call, stubs, monkeypatch):
    # Given a failure deep in a route that happens to be a ValueError
    def broken(owner, calculation_id):
        raise ValueError("secret internal state")

    monkeypatch.setattr(service, "stop", broken)

    # When a client sends the (bodiless) stop request with a non-JSON Content-Type
    response = call("POST", "/calculations/calc-1/stop", headers={"Content-Type": "text/plain"})

    # Then it is the API's failure, not a media type the client got wrong
    assert response.status == 500
    assert response.headers["Content-Type"] == PROBLEM
    assert response.json == {
        "type": "about:blank",
        "title": "Internal Server Error",
        "status": 500,
        "detail": "an unexpected error occurred",
        "instance": "/calculations/calc-1/stop",
    }


def test_a_body_that_is_not_utf8_is_a_400_naming_the_reason(api_environment, stubs):
    # Given a body API Gateway passed base64-encoded because it is not UTF-8 text
    event = rest_event("POST", "/calculations", headers={"Content-Type": "application/json"})
    event["body"] = base64.b64encode(b'{"num1": \xff}').decode()
    event["isBase64Encoded"] = True

    # When it is posted as JSON
    result = app.lambda_handler(event, FakeLambdaContext())

    # Then it is a malformed body
    headers = {name: values[-1] for name, values in result["multiValueHeaders"].items()}
    assert result["statusCode"] == 400
    assert headers["Content-Type"] == PROBLEM
    assert headers["Cache-Control"] == "no-store"
    assert json.loads(result["body"]) == {
        "type": "about:blank",
        "title": "Bad Request",
        "status": 400,
        "detail": "the request body is not valid JSON: it is not UTF-8 text",
        "instance": "/calculations",
    }


def test_multipart_without_a_boundary_is_415_naming_the_media_type(call, stubs):
    # Given a multipart body whose Content-Type has no boundary
    headers = {"Content-Type": "multipart/form-data"}

    # When it is posted
    response = call("POST", "/calculations", "num1=10", headers=headers)

    # Then the media type is refused, by name
    assert response.status == 415
    assert response.headers["Content-Type"] == PROBLEM
    assert response.json == {
        "type": "about:blank",
        "title": "Unsupported Media Type",
        "status": 415,
        "detail": "send the body as application/json, not multipart/form-data",
        "instance": "/calculations",
    }


def test_cors_headers_for_allowed_origins_only(call, stubs, monkeypatch):
    monkeypatch.setenv("CORS_ALLOW_ORIGIN", "https://app.example.com, https://admin.example.com")
    settings.get_settings.cache_clear()

    allowed = call("GET", "/calculations/..", headers={"Origin": "https://admin.example.com"})
    other = call("GET", "/calculations/..", headers={"Origin": "https://evil.example.com"})
    preflight = call(
        "OPTIONS",
        "/calculations",
        headers={"Origin": "https://app.example.com", "Access-Control-Request-Method": "POST"},
    )

    assert allowed.headers["Access-Control-Allow-Origin"] == "https://admin.example.com"
    assert allowed.headers["Vary"] == "Origin"
    assert "Location" in allowed.headers["Access-Control-Expose-Headers"]
    assert "Access-Control-Allow-Origin" not in other.headers
    assert preflight.status == 204
    assert "Idempotency-Key" in preflight.headers["Access-Control-Allow-Headers"]


def test_swagger_ui_and_spec_document_every_route(call, stubs):
    ui = call("GET", "/swagger")
    spec = call("GET", "/swagger?format=json")

    assert ui.status == 200
    assert ui.headers["Content-Type"].startswith("text/html")
    paths = spec.json["paths"]
    assert {path: sorted(paths[path]) for path in paths} == {
        "/calculations": ["get", "post"],
        "/calculations/{id}": ["delete", "get"],
        "/calculations/{id}/result": ["get"],
        "/calculations/{id}/history": ["get"],
        "/calculations/{id}/stop": ["post"],
        "/webhooks": ["get", "post"],
        "/webhooks/{id}": ["delete", "get"],
        "/webhooks/{id}/rotate-secret": ["post"],
        "/webhooks/{id}/ping": ["post"],
        "/webhooks/{id}/deliveries": ["get"],
        "/webhooks/{id}/redeliveries": ["post"],
    }
    post = paths["/calculations"]["post"]
    assert set(post["responses"]) >= {"200", "202", "400", "409", "413", "415", "422", "429", "502", "503"}
    assert "application/problem+json" in post["responses"]["422"]["content"]
    for path, methods in paths.items():
        for operation in methods.values():
            assert operation["summary"], path
            assert operation["tags"] == ["webhooks" if path.startswith("/webhooks") else "calculations"]
    schemas = spec.json["components"]["schemas"]
    assert {
        "Calculation",
        "CalculationRequest",
        "Problem",
        "History",
        "CalculationPage",
        "ResultDocument",
    } <= set(schemas)


@pytest.mark.parametrize("query", ["", "?format=json", "?format=oauth2-redirect"])
def test_swagger_answers_carry_the_security_headers(call, stubs, query):
    answer = call("GET", f"/swagger{query}")

    # No other site may frame the page, nothing loads from elsewhere, and types are not sniffed
    policy = answer.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in policy
    assert policy.startswith("default-src 'none'")
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert answer.headers["Referrer-Policy"] == "no-referrer"


def test_swagger_builds_the_spec_and_the_page_once_per_container(call, stubs, monkeypatch):
    # Given a container that has not served the spec yet, counting spec builds and asset reads
    swagger_routes._spec_json.cache_clear()
    swagger_routes._swagger_page.cache_clear()
    builds, reads = [], []
    build = app.app.get_openapi_schema

    def counted_build(**metadata):
        builds.append(metadata["title"])
        return build(**metadata)

    def counted_files(package):
        reads.append(package.__name__)
        return files(package)

    monkeypatch.setattr(app.app, "get_openapi_schema", counted_build)
    monkeypatch.setattr(swagger_routes, "files", counted_files)

    # When the page is asked for twice and the spec once
    pages = [call("GET", "/swagger"), call("GET", "/swagger")]
    spec = call("GET", "/swagger?format=json")

    # Then the same page and spec are served, built once and from one read of the assets
    swagger_routes._spec_json.cache_clear()
    swagger_routes._swagger_page.cache_clear()
    assert [page.status for page in pages] == [200, 200]
    assert pages[0].headers["Content-Type"].startswith("text/html")
    assert pages[0].text == pages[1].text
    assert spec.status == 200
    assert spec.json["info"]["title"] == "Durable Calculations API"
    assert builds == ["Durable Calculations API"]
    assert len(reads) == 2  # the JS bundle and the CSS, once each


@pytest.mark.parametrize("origin", [None, "https://app.example.com"])
@pytest.mark.parametrize(
    ("variable", "value", "reason"),
    [
        ("MATH_FUNCTION_NAME", "math-durable", "alias-qualified"),
        ("CALCULATIONS_TABLE_NAME", None, "is required"),
        ("RETENTION_PERIOD_DAYS", "0", "must be a whole number from 1 to 90, got '0'"),
    ],
)
def test_a_misconfigured_api_is_a_500_problem_and_a_clear_log(
    call, monkeypatch, origin, variable, value, reason
):
    # Given the function was deployed with a bad setting, logging to a buffer
    if value is None:
        monkeypatch.delenv(variable)
    else:
        monkeypatch.setenv(variable, value)
    get_settings.cache_clear()
    buffer = io.StringIO()
    previous = app.logger.registered_handler.setStream(buffer)

    # When any request arrives
    try:
        response = call("GET", "/calculations/calc-1", headers={"Origin": origin} if origin else None)
    finally:
        app.logger.registered_handler.setStream(previous)

    # Then the caller gets a problem document naming no internals, and the log says why
    assert response.status == 500
    assert response.headers["Content-Type"] == PROBLEM
    assert response.headers["Cache-Control"] == "no-store"
    assert response.json == {
        "type": "about:blank",
        "title": "Internal Server Error",
        "status": 500,
        "detail": "the API is misconfigured",
        "instance": "/calculations/calc-1",
    }
    logs = [json.loads(line) for line in buffer.getvalue().splitlines()]
    error = next(log for log in logs if log["message"] == "the api is misconfigured")
    assert error["level"] == "ERROR"
    assert variable in error["error"]
    assert reason in error["error"]


def test_missing_function_name_is_a_clear_startup_error(api_environment, monkeypatch):
    monkeypatch.delenv("MATH_FUNCTION_NAME")
    get_settings.cache_clear()

    with pytest.raises(SettingsError, match="MATH_FUNCTION_NAME is required"):
        get_settings()


@pytest.mark.parametrize(
    "name", ["math-durable", "arn:aws:lambda:us-east-1:123456789012:function:math-durable", ""]
)
def test_unqualified_function_name_is_refused(api_environment, monkeypatch, name):
    monkeypatch.setenv("MATH_FUNCTION_NAME", name)
    get_settings.cache_clear()

    with pytest.raises(SettingsError, match="alias-qualified"):
        get_settings()


@pytest.mark.parametrize(
    ("name", "function", "qualifier"),
    [
        ("math-durable:live", "math-durable", "live"),
        (
            "arn:aws:lambda:us-east-1:123456789012:function:math-durable:live",
            "arn:aws:lambda:us-east-1:123456789012:function:math-durable",
            "live",
        ),
        ("math-durable:$LATEST", "math-durable", "$LATEST"),
        ("math-durable:7", "math-durable", "7"),
    ],
)
def test_qualified_names_split_into_function_and_qualifier(
    api_environment, monkeypatch, name, function, qualifier
):
    monkeypatch.setenv("MATH_FUNCTION_NAME", name)
    get_settings.cache_clear()

    assert (get_settings().function_name, get_settings().qualifier) == (function, qualifier)


@pytest.mark.parametrize(
    ("variable", "value"),
    [("PREFER_WAIT_MAX_SECONDS", "29"), ("LIST_DEFAULT_LIMIT", "500"), ("MAX_BODY_BYTES", "lots")],
)
def test_out_of_range_settings_are_refused(api_environment, monkeypatch, variable, value):
    monkeypatch.setenv(variable, value)
    get_settings.cache_clear()

    with pytest.raises(SettingsError):
        get_settings()


@pytest.mark.parametrize(
    ("variable", "create"),
    [
        ("AWS_ENDPOINT_URL_LAMBDA", lambda: lambda_adapter.lambda_client()),
        ("AWS_ENDPOINT_URL_DYNAMODB", lambda: dynamodb_adapter.dynamodb_client()),
    ],
    ids=["lambda", "dynamodb"],
)
def test_each_client_takes_its_endpoint_from_aws_configuration(
    api_environment, monkeypatch, variable, create
):
    # Given the standard AWS variable points the service at a local twin
    monkeypatch.setenv(variable, "http://127.0.0.1:3001")
    service.clear_caches()

    # When the container creates its client
    client = create()

    # Then it calls there, is created once, and tries each call twice
    assert client.meta.endpoint_url == "http://127.0.0.1:3001"
    assert client is create()
    assert client.meta.config.retries["total_max_attempts"] == 2


def test_a_table_that_does_not_answer_is_a_503_after_two_attempts(call):
    # Given DynamoDB accepts connections but never answers in time
    attempts = []

    def time_out(request, **kwargs):
        attempts.append(request.url)
        raise ReadTimeoutError(endpoint_url=request.url)

    dynamodb_adapter.dynamodb_client().meta.events.register("before-send.dynamodb", time_out)

    # When a calculation is read
    response = call("GET", "/calculations/calc-1")

    # Then the API gives up after two attempts and says to retry later
    assert len(attempts) == 2
    assert response.status == 503
    assert response.headers["Content-Type"] == PROBLEM
    assert response.headers["Retry-After"] == "1"
    assert response.json["detail"] == "the calculation service is unavailable; retry later"


def test_a_lambda_that_does_not_answer_is_a_503_after_two_attempts(call, table_stub):
    # Given the table knows the calculation, and Lambda never answers in time
    table_stub.add_response(
        "get_item", found(item("calc-1", "SUCCEEDED")), get_item_params(name_of("calc-1"))
    )
    attempts = []

    def time_out(request, **kwargs):
        attempts.append(request.url)
        raise ReadTimeoutError(endpoint_url=request.url)

    lambda_adapter.lambda_client().meta.events.register("before-send.lambda", time_out)

    # When its history is read
    response = call("GET", "/calculations/calc-1/history")

    # Then the API gives up after two attempts and says to retry later
    assert len(attempts) == 2
    assert response.status == 503
    assert response.headers["Retry-After"] == "1"


@pytest.mark.parametrize(
    "create",
    [lambda: lambda_adapter.lambda_client(), lambda: dynamodb_adapter.dynamodb_client()],
    ids=["lambda", "dynamodb"],
)
def test_an_aws_call_gives_up_well_before_api_gateway_does(api_environment, create):
    # Given the container's client
    config = create().meta.config
    attempts = config.retries["total_max_attempts"]

    # When every attempt waits its full connect and read timeouts, with the longest backoff
    # between attempts (1 s, plus 5 s when AWS sends x-amz-retry-after)
    worst = attempts * (config.connect_timeout + config.read_timeout) + (attempts - 1) * 6

    # Then the call has failed (and the API answered 503) before API Gateway's 29 s
    assert attempts >= 2
    assert worst <= 20
