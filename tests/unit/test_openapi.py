"""openapi.yaml: generated from the resolver, valid OpenAPI 3.1, and complete enough to build on."""

import base64

import pytest
import yaml
from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

import app
import views
from events import (
    TEN_FIVE,
    TEN_ZERO,
    ZEROS,
    FakeLambdaContext,
    found,
    get_item_params,
    name_of,
    rest_event,
)
from events import item as table_item
from scripts import generate_openapi

OPERATIONS = {
    ("post", "/calculations"): "startCalculation",
    ("get", "/calculations"): "listCalculations",
    ("get", "/calculations/{id}"): "getCalculation",
    ("get", "/calculations/{id}/result"): "getResult",
    ("get", "/calculations/{id}/history"): "getHistory",
    ("post", "/calculations/{id}/stop"): "stopCalculation",
    ("delete", "/calculations/{id}"): "deleteCalculation",
    ("post", "/webhooks"): "createWebhook",
    ("get", "/webhooks"): "listWebhooks",
    ("get", "/webhooks/{id}"): "getWebhook",
    ("delete", "/webhooks/{id}"): "deleteWebhook",
    ("post", "/webhooks/{id}/rotate-secret"): "rotateWebhookSecret",
    ("post", "/webhooks/{id}/ping"): "pingWebhook",
    ("get", "/webhooks/{id}/deliveries"): "listWebhookDeliveries",
    ("post", "/webhooks/{id}/redeliveries"): "redeliverWebhook",
}


@pytest.fixture(scope="module")
def spec() -> dict:
    return yaml.safe_load(generate_openapi.SPEC_PATH.read_text(encoding="utf-8"))


def test_committed_spec_equals_a_fresh_generation():
    committed = generate_openapi.SPEC_PATH.read_text(encoding="utf-8")

    assert committed == generate_openapi.render(), "openapi.yaml is out of date: run `make openapi`"


def test_generator_check_mode_reports_whether_the_file_is_current(capsys):
    assert generate_openapi.main(["--check"]) == 0
    assert "up to date" in capsys.readouterr().out


def test_generator_check_mode_fails_on_a_drifted_file(tmp_path, monkeypatch, capsys):
    # Given a copy of the spec that someone edited by hand
    drifted = tmp_path / "openapi.yaml"
    drifted.write_text(
        generate_openapi.SPEC_PATH.read_text(encoding="utf-8") + "# edited\n", encoding="utf-8"
    )
    monkeypatch.setattr(generate_openapi, "SPEC_PATH", drifted)

    # When the check runs
    # Then it fails and says what to do, leaving the file alone
    assert generate_openapi.main(["--check"]) == 1
    assert "run `make openapi`" in capsys.readouterr().err
    assert drifted.read_text(encoding="utf-8").endswith("# edited\n")


def test_spec_is_valid_openapi_3_1(spec):
    validate(spec)

    assert spec["openapi"].startswith("3.1")


def test_the_validator_refuses_a_broken_document(spec):
    broken = {**spec, "paths": {"/calculations": {"get": {"responses": {"200": {}}}}}}

    with pytest.raises(OpenAPIValidationError):
        validate(broken)


def test_spec_is_the_document_the_swagger_route_serves(call, spec):
    served = call("GET", "/swagger?format=json")

    assert served.status == 200
    assert served.json == spec


def test_every_route_is_documented_with_a_stable_operation_id(spec):
    documented = {
        (method, path): operation["operationId"]
        for path, item in spec["paths"].items()
        for method, operation in item.items()
    }

    assert documented == OPERATIONS
    for (method, path), _ in OPERATIONS.items():
        operation = spec["paths"][path][method]
        assert operation["summary"], (method, path)
        assert operation["description"], (method, path)
        assert operation["tags"] == [path.split("/")[1]]


def test_the_route_table_answering_404_and_405_holds_every_documented_route_and_the_docs():
    # Given the table the resolver recorded from the route decorators (404 against 405)
    # Then it is exactly the documented operations, plus the Swagger page and the console
    assert {path: sorted(methods) for path, methods in app.PATHS.items()} == {
        "/calculations": ["GET", "POST"],
        "/calculations/{id}": ["DELETE", "GET"],
        "/calculations/{id}/result": ["GET"],
        "/calculations/{id}/history": ["GET"],
        "/calculations/{id}/stop": ["POST"],
        "/swagger": ["GET"],
        "/console": ["GET"],
        "/console/console.js": ["GET"],
        "/console/console.css": ["GET"],
        "/webhooks": ["GET", "POST"],
        "/webhooks/{id}": ["DELETE", "GET"],
        "/webhooks/{id}/rotate-secret": ["POST"],
        "/webhooks/{id}/ping": ["POST"],
        "/webhooks/{id}/deliveries": ["GET"],
        "/webhooks/{id}/redeliveries": ["POST"],
    }
    documented = {(method.upper(), path) for method, path in OPERATIONS}
    assert documented == {(method, path) for path, methods in app.PATHS.items() for method in methods} - {
        ("GET", "/swagger"),
        ("GET", "/console"),
        ("GET", "/console/console.js"),
        ("GET", "/console/console.css"),
    }


def test_metadata_names_the_api_its_servers_and_tags(spec):
    assert spec["info"]["title"] == "Durable Calculations API"
    assert spec["info"]["version"]
    assert spec["info"]["description"]
    local, deployed = spec["servers"]
    assert local["url"] == "http://127.0.0.1:3000"
    assert "variables" not in local  # a client's default base URL is the first server, taken as is
    assert deployed["url"] == "https://{restApiId}.execute-api.{region}.amazonaws.com/{stage}"
    assert set(deployed["variables"]) == {"restApiId", "region", "stage"}
    assert [tag["name"] for tag in spec["tags"]] == ["calculations", "webhooks"]
    assert all(tag["description"] for tag in spec["tags"])


def test_the_api_key_scheme_the_template_enables_is_declared(spec):
    assert spec["components"]["securitySchemes"] == {
        "apiKey": {
            "type": "apiKey",
            "in": "header",
            "name": "x-api-key",
            "description": spec["components"]["securitySchemes"]["apiKey"]["description"],
        }
    }
    assert spec["security"] == [{"apiKey": []}]


def test_start_documents_its_request_headers_and_response_headers(spec):
    start = spec["paths"]["/calculations"]["post"]
    headers = {parameter["name"].lower() for parameter in start["parameters"] if parameter["in"] == "header"}

    assert {"idempotency-key", "prefer"} <= headers
    accepted = start["responses"]["202"]["headers"]
    assert accepted["Location"]["required"]
    assert accepted["Retry-After"]["required"]
    assert accepted["Retry-After"]["schema"]["type"] == "integer"
    assert "Location" in start["responses"]["200"]["headers"]


def test_finished_documents_carry_an_etag_and_answer_if_none_match(spec):
    for path in ("/calculations/{id}", "/calculations/{id}/result", "/calculations/{id}/history"):
        operation = spec["paths"][path]["get"]
        assert "ETag" in operation["responses"]["200"]["headers"], path
        assert "ETag" in operation["responses"]["304"]["headers"], path
        assert "if-none-match" in {parameter["name"].lower() for parameter in operation["parameters"]}


def test_throttling_problems_document_retry_after(spec):
    for path, item in spec["paths"].items():
        for operation in item.values():
            for status in ("429", "503"):
                assert operation["responses"][status]["headers"]["Retry-After"]["required"], (path, status)


def test_every_error_is_a_problem_document(spec):
    for path, item in spec["paths"].items():
        for operation in item.values():
            for status, response in operation["responses"].items():
                if int(status) >= 400:
                    model = "ValidationProblem" if status == "422" else "Problem"
                    schema = {"$ref": f"#/components/schemas/{model}"}
                    assert response["content"] == {"application/problem+json": {"schema": schema}}, (
                        path,
                        status,
                    )
    assert {"type", "title", "status", "detail", "instance"} <= set(
        spec["components"]["schemas"]["Problem"]["properties"]
    )


def test_the_three_original_flows_are_examples(spec):
    start = spec["paths"]["/calculations"]["post"]["requestBody"]["content"]["application/json"]
    result = spec["paths"]["/calculations/{id}/result"]["get"]["responses"]["200"]["content"]

    assert {name: example["value"] for name, example in start["examples"].items()} == {
        "tenAndFive": {"num1": 10, "num2": 5},
        "divisionByZero": {"num1": 10, "num2": 0},
        "noNumbers": {},
    }
    documents = {name: example["value"] for name, example in result["application/json"]["examples"].items()}
    assert documents == {"tenAndFive": TEN_FIVE, "divisionByZero": TEN_ZERO, "noNumbers": ZEROS}


def test_page_size_ceiling_in_the_spec_is_the_one_the_api_enforces(spec, call, stubs):
    limit = next(
        parameter
        for parameter in spec["paths"]["/calculations"]["get"]["parameters"]
        if parameter["name"] == "limit"
    )
    ceiling = limit["schema"]["maximum"]

    refused = call("GET", f"/calculations?limit={ceiling + 1}")

    assert refused.status == 422
    assert refused.json["errors"][0]["field"] == "limit"


# What the contract tests found, pinned here so it stays fixed.


def test_a_body_that_is_not_utf8_is_a_400_not_a_crash(call, stubs):
    event = rest_event("POST", "/calculations", body="{}", headers={"Content-Type": "application/json"})
    event["body"] = base64.b64encode(b'{"num1": \xff\xfe}').decode()
    event["isBase64Encoded"] = True

    result = app.lambda_handler(event, FakeLambdaContext())

    assert result["statusCode"] == 400
    assert "not UTF-8" in result["body"]


@pytest.mark.parametrize("suffix", ["", "/result", "/history"])
def test_an_id_with_characters_the_router_cannot_match_is_a_422(call, stubs, suffix):
    response = call("GET", "/calculations/%C2%8A" + suffix)

    assert response.status == 422
    assert response.json["errors"] == [{"field": "id", "message": "must be 1-64 of A-Z a-z 0-9 - _"}]


@pytest.mark.parametrize("content_type", ["multipart/form-data", "application/x-www-form-urlencoded"])
def test_a_form_body_is_a_415_even_when_malformed(call, stubs, content_type):
    response = call("POST", "/calculations", body='{"num1": 10}', headers={"Content-Type": content_type})

    assert response.status == 415
    assert response.json["detail"] == f"send the body as application/json, not {content_type}"


def test_an_execution_error_documents_both_fields_as_optional(spec):
    # Given the answers drop an error's absent type or message
    error = spec["components"]["schemas"]["ExecutionError"]

    # Then the spec requires neither
    assert "required" not in error
    assert set(error["properties"]) == {"type", "message"}


def test_a_200_start_is_documented_for_the_wait_and_for_a_replay(spec):
    # Given the start operation's documented 200
    ok = spec["paths"]["/calculations"]["post"]["responses"]["200"]

    # Then it covers both ways to get one: finishing within Prefer: wait, and an ended replay
    assert "Prefer: wait=N" in ok["description"]
    assert "same `Idempotency-Key`" in ok["description"]
    assert set(ok["headers"]) == {"Location", "Preference-Applied", "Access-Control-Allow-Origin", "Vary"}


# What the security linters ask of the spec, and the answers keeping to it.


def test_the_spec_holds_only_the_schemas_it_refers_to(spec):
    # Given Powertools adds schemas for validation errors the API answers with its Problem instead
    # Then the spec (and so the Swagger route) holds only the contract's own
    assert sorted(spec["components"]["schemas"]) == [
        "Attempt",
        "Calculation",
        "CalculationEvent",
        "CalculationEventData",
        "CalculationInput",
        "CalculationPage",
        "CalculationRequest",
        "CalculationStatus",
        "CalculationSummary",
        "Delivery",
        "DeliveryAttempt",
        "DeliveryList",
        "DeliveryStatus",
        "EventError",
        "EventLinks",
        "EventType",
        "ExecutionError",
        "FailedOperation",
        "FieldError",
        "History",
        "Links",
        "Operation",
        "OperationErrors",
        "OperationResults",
        "OperationStatus",
        "PartialResults",
        "Ping",
        "PingEvent",
        "PingEventData",
        "Problem",
        "Redelivery",
        "RedeliveryRequest",
        "ResultDocument",
        "ValidationProblem",
        "WebhookEndpoint",
        "WebhookEndpointList",
        "WebhookEndpointWithSecret",
        "WebhookLinks",
        "WebhookRequest",
    ]


def test_servers_declare_their_audience(spec):
    local, deployed = spec["servers"]

    assert local["x-internal"] is True
    assert deployed["x-internal"] is False


def test_every_response_documents_the_cors_headers_the_api_sends(spec, call, stubs):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            for status, response in operation["responses"].items():
                headers = response["headers"]
                assert not headers["Access-Control-Allow-Origin"].get("required"), (method, path, status)
                assert headers["Vary"]["schema"]["enum"] == ["Origin"], (method, path, status)

    answer = call("GET", "/calculations/..", headers={"Origin": "https://app.example.com"})

    assert answer.headers["Access-Control-Allow-Origin"] == "*"
    assert answer.headers["Vary"] == "Origin"


def test_request_limits_are_declared_as_the_api_enforces_them(spec):
    def schema(path, method, name):
        parameter = next(p for p in spec["paths"][path][method]["parameters"] if p["name"].lower() == name)
        assert "anyOf" not in parameter["schema"], (path, name)  # a parameter is absent, never null
        return parameter["schema"]

    assert schema("/calculations", "post", "idempotency-key")["maxLength"] == 64
    assert schema("/calculations", "post", "prefer")["maxLength"] == 256
    assert schema("/calculations/{id}", "get", "id")["maxLength"] == 64
    assert schema("/calculations/{id}", "get", "if-none-match")["maxLength"] == 1024
    assert schema("/calculations", "get", "cursor")["maxLength"] == 4096
    limit = schema("/calculations", "get", "limit")
    assert [limit["type"], limit["format"], limit["minimum"], limit["maximum"]] == [
        "integer",
        "int32",
        1,
        100,
    ]
    body = spec["components"]["schemas"]["CalculationRequest"]["properties"]
    assert body["num1"]["type"] == body["num2"]["type"] == "number"


def test_a_long_execution_error_is_cut_to_its_documented_length(spec, call, table_stub):
    # Given a calculation whose execution failed with a 5000-character message
    table_stub.add_response(
        "get_item",
        found(table_item("calc-1", "FAILED", error_type="E" * 300, error_message="x" * 5000)),
        get_item_params(name_of("calc-1")),
    )

    # When it is read
    response = call("GET", "/calculations/calc-1")

    # Then the type and message are cut to the lengths the spec gives them
    error = spec["components"]["schemas"]["ExecutionError"]["properties"]
    assert [error["type"]["maxLength"], error["message"]["maxLength"]] == [256, 1024]
    assert response.json["error"] == {"type": "E" * 256, "message": "x" * 1024}


def test_a_problem_about_a_very_long_path_cuts_its_detail_and_leaves_the_path_out(call, stubs):
    response = call("GET", "/nowhere/" + "a" * 3000)

    assert response.status == 404
    assert response.json["detail"] == ("there is no resource at /nowhere/" + "a" * 3000)[:1024]
    assert "instance" not in response.json


def test_a_history_answers_at_most_100_operations():
    # Given Lambda's history of an execution with 150 steps
    events = [
        {"EventType": "StepStarted", "Id": f"op-{number}", "Name": "Add", "EventTimestamp": None}
        for number in range(150)
    ]

    # Then the history holds the first 100, as the spec says
    assert [operation.id for operation in views.history("calc-1", events, True).operations] == [
        f"op-{number}" for number in range(100)
    ]


# What a typed client generated from the spec needs to compile ordinary code under strict checks.

OPERATION_NAMES = ["Add", "Subtract", "Multiply", "Division"]


def _nodes(node):
    """Every object in a JSON document, at any depth."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _nodes(value)
    elif isinstance(node, list):
        for value in node:
            yield from _nodes(value)


def test_results_and_input_are_named_numbers(spec):
    schemas = spec["components"]["schemas"]
    calculation = schemas["Calculation"]["properties"]

    assert calculation["result"]["$ref"] == "#/components/schemas/OperationResults"
    assert calculation["partialResults"]["$ref"] == "#/components/schemas/PartialResults"
    assert calculation["input"]["$ref"] == "#/components/schemas/CalculationInput"
    for name, required in (
        ("OperationResults", OPERATION_NAMES),
        ("PartialResults", None),
        ("CalculationInput", ["num1", "num2"]),
    ):
        schema = schemas[name]
        assert schema.get("required") == required, name
        assert {key: value["type"] for key, value in schema["properties"].items()} == dict.fromkeys(
            required or OPERATION_NAMES, "number"
        ), name


def test_no_answer_has_a_null_branch_since_absent_fields_are_left_out(spec, call, table_stub):
    # Given the spec of every answer
    # Then no property may be null: a field that has no value is left out, never sent as null
    assert {"type": "null"} not in list(_nodes(spec))
    assert all("null" not in str(node.get("type")) for node in _nodes(spec))

    # And a calculation that has none of its optional fields answers without them
    table_stub.add_response(
        "get_item", found(table_item("calc-1", "RUNNING")), get_item_params(name_of("calc-1"))
    )
    response = call("GET", "/calculations/calc-1")
    assert set(response.json) == {"id", "status", "input", "startedAt", "links"}


def test_a_request_number_with_a_default_is_optional_and_documented_in_words(spec):
    # Given openapi-typescript makes a property with a `default` required
    request = spec["components"]["schemas"]["CalculationRequest"]

    # Then neither number is required nor has a default, and the description says what one is
    assert "required" not in request
    for name in ("num1", "num2"):
        assert "default" not in request["properties"][name], name
        assert request["properties"][name]["description"].endswith("0 when left out"), name


def test_the_result_document_names_its_properties_and_allows_no_others(spec):
    schemas = spec["components"]["schemas"]
    document = schemas["ResultDocument"]
    errors = schemas["OperationErrors"]

    assert document["additionalProperties"] is False
    assert list(document["properties"]) == [*OPERATION_NAMES, "error_details", "errors"]
    assert document["properties"]["errors"]["$ref"] == "#/components/schemas/OperationErrors"
    assert list(errors["properties"]) == OPERATION_NAMES
    assert "additionalProperties" not in errors


def test_answers_without_a_body_declare_no_content(spec):
    declared = {
        (path, method, status): response
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        for status, response in operation["responses"].items()
        if status in ("204", "304")
    }

    assert sorted(declared) == [
        ("/calculations/{id}", "delete", "204"),
        ("/calculations/{id}", "get", "304"),
        ("/calculations/{id}/history", "get", "304"),
        ("/calculations/{id}/result", "get", "304"),
        ("/webhooks/{id}", "delete", "204"),
    ]
    for key, response in declared.items():
        assert "content" not in response, key


def test_a_422_answer_is_a_problem_whose_errors_are_required(spec, call, stubs):
    problem = spec["components"]["schemas"]["ValidationProblem"]

    refused = call("GET", "/calculations?limit=0")

    assert problem["required"] == ["title", "status", "errors"]
    assert problem["properties"]["errors"]["minItems"] == 1
    assert refused.status == 422
    assert refused.json["errors"][0]["field"] == "limit"


def test_property_titles_read_as_words(spec):
    titles = {
        (schema_name, name): field.get("title")
        for schema_name, schema in spec["components"]["schemas"].items()
        for name, field in schema.get("properties", {}).items()
    }

    assert titles[("Calculation", "startedAt")] == "Started at"
    assert titles[("CalculationPage", "nextCursor")] == "Next cursor"
    assert titles[("Operation", "parentId")] == "Parent id"
    assert titles[("ResultDocument", "error_details")] == "Error details"
    assert titles[("Links", "self")] == "Self"


def test_the_list_says_a_page_can_be_empty(spec):
    page = spec["components"]["schemas"]["CalculationPage"]

    assert "can be empty" in page["description"]
    assert "can be empty" in page["properties"]["nextCursor"]["description"]


def test_status_descriptions_use_rfc_9110_words_on_any_python(monkeypatch):
    # Given an interpreter whose status phrases are the ones RFC 9110 replaced (Python 3.12 and older)
    from http import HTTPStatus

    import openapi_docs

    monkeypatch.setattr(HTTPStatus.UNPROCESSABLE_ENTITY, "phrase", "Unprocessable Entity")
    monkeypatch.setattr(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "phrase", "Request Entity Too Large")

    # When a route's responses are declared there
    declared = openapi_docs.responses({}, 413, 422)

    # Then their descriptions say what the problem titles say
    assert declared[413]["description"] == "Content Too Large"
    assert declared[422]["description"] == "Unprocessable Content"


def test_the_webhooks_section_documents_every_event_and_its_signature_headers(spec):
    # Given the events a registered endpoint receives
    webhooks = spec["webhooks"]

    # Then each is a POST of its schema with the three Standard Webhooks headers
    assert sorted(webhooks) == [
        "calculation.failed",
        "calculation.stopped",
        "calculation.succeeded",
        "calculation.timed_out",
        "webhook.ping",
    ]
    succeeded = webhooks["calculation.succeeded"]["post"]
    assert succeeded["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/CalculationEvent"
    }
    assert [p["name"] for p in succeeded["parameters"]] == [
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
    ]
    assert spec["components"]["schemas"]["EventType"]["enum"] == [
        "calculation.succeeded",
        "calculation.failed",
        "calculation.stopped",
        "calculation.timed_out",
    ]
