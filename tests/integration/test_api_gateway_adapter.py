"""The local API endpoint's API Gateway emulation, checked with a tiny echo function of our own.

The endpoint runs with one API key (ECHO_KEY) and a usage plan that never refuses; the key and
usage plan answers over a whole runtime are in test_api_keys.py.
"""

from __future__ import annotations

import base64
import http.client
import json
import subprocess
import sys
import threading
import time
from urllib.parse import urlsplit

import pytest
import requests

from local.api_gateway import MAX_BODY_BYTES, ApiServer, FunctionPool
from local.api_keys import ApiKey
from local.key_gate import KeyGate
from local.usage_plan import UsagePlan
from runtime_process import REPO_ROOT, raw_request

ECHO_KEY = ApiKey("echokey001", "echo", "echo-key-value-0123456789-abcdefghijkl")
WITH_KEY = {"x-api-key": ECHO_KEY.value}

ECHO_FUNCTION = """
import base64, json, os

def handler(event, context):
    if event["path"] == "/binary":
        return {"statusCode": 200, "headers": {"Content-Type": "application/octet-stream"},
                "body": base64.b64encode(bytes(range(256))).decode(), "isBase64Encoded": True}
    if event["path"] == "/boom":
        raise RuntimeError("boom")
    if event["path"] == "/malformed":
        return {"body": "no status"}
    if event["path"].startswith("/status/"):
        return {"statusCode": int(event["path"].rsplit("/", 1)[1]), "body": ""}
    return {
        "statusCode": 201,
        "headers": {"Content-Type": "application/json", "X-Single": "one"},
        "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]},
        "body": json.dumps({"event": event, "remaining": context.get_remaining_time_in_millis(),
                            "request_id": context.aws_request_id, "env": os.environ.get("ECHO_SETTING")}),
    }
"""


@pytest.fixture(scope="module")
def echo_url(tmp_path_factory):
    code = tmp_path_factory.mktemp("echo")
    (code / "echo_function.py").write_text(ECHO_FUNCTION)
    pool = FunctionPool("echo_function:handler", code, {"ECHO_SETTING": "set-by-runner"}, max_workers=2)
    gate = KeyGate([ECHO_KEY], UsagePlan(rate=10_000, burst=10_000, quota=1_000_000))
    server = ApiServer(("127.0.0.1", 0), pool, gate)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    pool.close()


def echo(response: requests.Response) -> dict:
    assert response.status_code == 201, response.text
    return response.json()


def test_a_request_becomes_a_rest_proxy_event_with_resource_and_path_parameters(echo_url):
    response = requests.post(
        f"{echo_url}/calculations/abc-1/stop?x=1&x=2&y=",
        data=b'{"num1": 1}',
        headers={"Content-Type": "application/json", "X-Api-Key": ECHO_KEY.value},
        timeout=30,
    )

    body = echo(response)
    event = body["event"]
    assert event["httpMethod"] == "POST"
    assert event["path"] == "/calculations/abc-1/stop"
    assert event["resource"] == "/calculations/{id}/stop"
    assert event["pathParameters"] == {"id": "abc-1"}
    assert event["queryStringParameters"] == {"x": "2", "y": ""}
    assert event["multiValueQueryStringParameters"] == {"x": ["1", "2"], "y": [""]}
    assert event["headers"]["Content-Type"] == "application/json"
    assert event["multiValueHeaders"]["X-Api-Key"] == [ECHO_KEY.value]
    assert event["body"] == '{"num1": 1}'
    assert event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert context["requestId"] == response.headers["x-amzn-RequestId"] == body["request_id"]
    assert context["identity"]["sourceIp"] == "127.0.0.1"
    assert context["identity"]["apiKey"] == ECHO_KEY.value
    assert context["identity"]["apiKeyId"] == "echokey001"
    assert context["resourcePath"] == "/calculations/{id}/stop"
    assert context["stage"]
    # Local URLs carry no stage, so links the API builds from this path resolve locally
    assert context["path"] == "/calculations/abc-1/stop"
    assert abs(context["requestTimeEpoch"] / 1000 - time.time()) < 60
    assert 0 < body["remaining"] <= 29_000
    assert body["env"] == "set-by-runner"


def test_the_path_stays_percent_encoded_and_the_path_parameters_are_decoded(echo_url):
    # When an id holds an encoded slash and an encoded space
    url = f"{echo_url}/calculations/a%2Fb%20c/result"
    event = echo(requests.get(url, headers=WITH_KEY, timeout=30))["event"]

    # Then, as a REST API sends it, the path is as the client wrote it: one id, not a path
    assert event["path"] == event["requestContext"]["path"] == "/calculations/a%2Fb%20c/result"
    assert event["resource"] == "/calculations/{id}/result"
    assert event["pathParameters"] == {"id": "a/b c"}


def test_a_get_without_body_or_query_has_nulls_as_api_gateway_sends(echo_url):
    event = echo(requests.get(f"{echo_url}/calculations", headers=WITH_KEY, timeout=30))["event"]

    assert event["resource"] == "/calculations"
    assert event["pathParameters"] is None
    assert event["queryStringParameters"] is None
    assert event["body"] is None


def test_a_path_outside_the_resources_still_reaches_the_function_as_a_proxy_resource(echo_url):
    event = echo(requests.get(f"{echo_url}/nowhere/at/all", headers=WITH_KEY, timeout=30))["event"]

    assert event["resource"] == "/{proxy+}"
    assert event["pathParameters"] == {"proxy": "nowhere/at/all"}


def test_a_binary_body_is_sent_base64_encoded(echo_url):
    response = requests.put(f"{echo_url}/swagger", data=b"\xff\xfe\x00", headers=WITH_KEY, timeout=30)

    event = echo(response)["event"]

    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == b"\xff\xfe\x00"


def test_the_answer_keeps_status_single_and_multi_value_headers(echo_url):
    response = requests.get(f"{echo_url}/calculations/x", headers=WITH_KEY, timeout=30)

    assert response.status_code == 201
    assert response.headers["X-Single"] == "one"
    assert response.raw.headers.getlist("Set-Cookie") == ["a=1", "b=2"]


def test_a_base64_answer_is_decoded(echo_url):
    response = requests.get(f"{echo_url}/binary", headers=WITH_KEY, timeout=30)

    assert response.content == bytes(range(256))


@pytest.mark.parametrize("path", ["/boom", "/malformed"])
def test_a_function_error_or_malformed_answer_is_api_gateways_502(echo_url, path):
    response = requests.get(f"{echo_url}{path}", headers=WITH_KEY, timeout=30)

    assert response.status_code == 502
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json() == {
        "type": "about:blank",
        "title": "Bad Gateway",
        "status": 502,
        "detail": "Internal server error",
    }


@pytest.mark.parametrize("headers", [{}, {"x-api-key": "not-a-key-of-this-endpoint-at-all"}])
def test_without_a_known_key_the_gateway_answers_the_templates_403_and_the_function_never_runs(
    echo_url, headers
):
    # When a request comes with no key or a key the endpoint does not know
    response = requests.post(f"{echo_url}/calculations", json={"num1": 1}, headers=headers, timeout=30)

    # Then the gateway answers it with the template's INVALID_API_KEY response, not the echo's 201
    assert response.status_code == 403
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert (
        response.text == '{"type": "about:blank", "title": "Forbidden", "status": 403, "detail": "Forbidden"}'
    )


@pytest.mark.parametrize(("status", "length"), [(204, None), (304, None), (200, "0")])
def test_an_answer_without_content_has_no_content_length(echo_url, status, length):
    # When the function answers with an empty body
    address = urlsplit(echo_url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
    connection.request("GET", f"/status/{status}", headers=WITH_KEY)
    response = connection.getresponse()
    response.read()

    # Then a 204 and a 304 carry no Content-Length (RFC 9110 8.6); a 200 says its body is empty
    assert response.status == status
    assert response.getheader("Content-Length") == length
    # And the connection serves the next request
    connection.request("GET", "/status/200", headers=WITH_KEY)
    assert connection.getresponse().status == 200
    connection.close()


def get_with_headers(echo_url: str, headers: list[tuple[str, str]]) -> tuple[int, dict]:
    """GET /calculations with these header lines as given (repeated names too): status and body."""
    address = urlsplit(echo_url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
    try:
        connection.putrequest("GET", "/calculations")
        for name, value in headers:
            connection.putheader(name, value)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def test_a_header_sent_twice_in_two_cases_is_one_header_with_two_values(echo_url):
    # When a header is sent twice, spelled in two cases (names are case-insensitive)
    headers = [("x-api-key", ECHO_KEY.value), ("Idempotency-Key", "first"), ("idempotency-key", "second")]
    event = get_with_headers(echo_url, headers)[1]["event"]

    # Then the function sees one header, under its first spelling, with both values in order
    assert event["multiValueHeaders"]["Idempotency-Key"] == ["first", "second"]
    assert "idempotency-key" not in event["multiValueHeaders"]
    assert event["headers"]["Idempotency-Key"] == "second"


def test_a_request_with_two_api_keys_is_refused_even_when_one_is_known(echo_url):
    # When a request carries the known key and then another (two keys could be two consumers)
    headers = [("x-api-key", ECHO_KEY.value), ("X-Api-Key", "another-key-value-0123456789-abcdefghijk")]
    status, body = get_with_headers(echo_url, headers)

    # Then the gateway takes neither, and the function never runs
    assert status == 403
    assert body["detail"] == "Forbidden"


def test_the_swagger_page_reaches_the_function_without_a_key_and_with_no_key_identity(echo_url):
    event = echo(requests.get(f"{echo_url}/swagger", timeout=30))["event"]

    assert event["resource"] == "/swagger"
    assert event["requestContext"]["identity"]["apiKey"] is None
    assert event["requestContext"]["identity"]["apiKeyId"] is None


@pytest.mark.parametrize("path", ["/calculations", "/calculations/abc/result", "/swagger"])
def test_a_cors_preflight_reaches_the_function_without_a_key(echo_url, path):
    response = requests.options(
        f"{echo_url}{path}",
        headers={"Origin": "https://app.example.com", "Access-Control-Request-Method": "POST"},
        timeout=30,
    )

    assert echo(response)["event"]["httpMethod"] == "OPTIONS"


def test_a_swagger_request_other_than_get_needs_a_key(echo_url):
    response = requests.post(f"{echo_url}/swagger", timeout=30)

    assert response.status_code == 403


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"Content-Length": "-5"}, 400),
        ({"Content-Length": "abc"}, 400),
        ({"Content-Length": str(MAX_BODY_BYTES + 1)}, 413),
        ({"Transfer-Encoding": "chunked"}, 411),
    ],
)
def test_a_body_that_cannot_be_read_is_refused_before_the_function_runs(echo_url, headers, status):
    # When a request arrives with a Content-Length that is not a size, too large, or a chunked body
    answer_status, answer_headers, body = raw_request(
        echo_url,
        "POST",
        "/calculations",
        {"Content-Type": "application/json", **headers},
        b"3\r\n{}\n\r\n0\r\n\r\n" if "Transfer-Encoding" in headers else b"",
    )

    # Then the gateway's own problem document answers it and the connection closes
    assert answer_status == status
    assert answer_headers["Content-Type"] == "application/problem+json"
    assert json.loads(body)["status"] == status
    assert "event" not in json.loads(body)
    assert answer_headers["Connection"] == "close"


def test_the_event_builder_imports_nothing_beyond_the_standard_library():
    # Given a fresh interpreter, as the bench's cold-start probe starts
    script = (
        "import sys; before = set(sys.modules); import local.api_gateway, local.function_worker; "
        "new = {name.split('.')[0] for name in set(sys.modules) - before if not name.startswith('__')}; "
        "print(' '.join(sorted(new - set(sys.stdlib_module_names))))"
    )

    # When it imports the event builder and the Lambda context
    completed = subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True, text=True)

    # Then only the standard library and the local package are loaded: no boto3, SDK or Powertools
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.split() == ["local"]
