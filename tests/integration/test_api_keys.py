"""API keys and the usage plan on the local API endpoint, as the deployed stage checks them.

The key tests run against the session's runtime (or a deployed stack); the throttle, quota and
keys-file tests start runtimes of their own, with their own data folders and usage plans.
"""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from runtime_process import REPO_ROOT, LocalRuntime

FORBIDDEN = '{"type": "about:blank", "title": "Forbidden", "status": 403, "detail": "Forbidden"}'
THROTTLED = (
    '{"type": "about:blank", "title": "Too Many Requests", "status": 429, "detail": "Too Many Requests"}'
)
QUOTA_EXCEEDED = (
    '{"type": "about:blank", "title": "Too Many Requests", "status": 429, "detail": "Limit Exceeded"}'
)
GATEWAY_BODIES = (FORBIDDEN, THROTTLED, QUOTA_EXCEEDED)
# API Gateway's message ($context.error.messageString) for each response type.
MESSAGES = {
    "INVALID_API_KEY": "Forbidden",
    "THROTTLED": "Too Many Requests",
    "QUOTA_EXCEEDED": "Limit Exceeded",
}

local_only = pytest.mark.skipif(
    bool(os.environ.get("CALCULATIONS_API_URL")), reason="starts local runtimes of its own"
)


def template_body(response_type: str) -> str:
    """The gateway response's body as template.yaml declares it, with API Gateway's message filled in."""
    template = (REPO_ROOT / "template.yaml").read_text(encoding="utf-8")
    declared = re.search(
        rf"\n {{8}}{response_type}:\n(?: {{10}}.*\n)*? {{12}}application/json: '(.*)'", template
    )
    assert declared, f"template.yaml declares no {response_type} gateway response"
    return declared[1].replace("$context.error.messageString", f'"{MESSAGES[response_type]}"')


def reaches_function(response: requests.Response) -> bool:
    """The gateway let the request through: the answer is the function's, whatever it is."""
    return response.text not in GATEWAY_BODIES


def assert_gateway_refusal(response: requests.Response, status: int, body: str) -> None:
    assert response.status_code == status
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.text == body


@pytest.fixture(scope="module")
def own_runtimes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[LocalRuntime]]:
    """Runtimes a test starts; each is stopped at the end of the module if still running."""
    started: list[LocalRuntime] = []
    yield started
    for runtime in started:
        if runtime.process is not None and runtime.process.poll() is None:
            runtime.stop()


def start(own_runtimes: list[LocalRuntime], data_dir: Path, *flags: str) -> LocalRuntime:
    runtime = LocalRuntime(data_dir, data_dir.parent / f"runtime-{len(own_runtimes)}.log", *flags)
    own_runtimes.append(runtime)
    return runtime.start()


@pytest.mark.parametrize("response_type", ["INVALID_API_KEY", "THROTTLED", "QUOTA_EXCEEDED"])
def test_the_bodies_checked_here_are_the_templates_gateway_responses(response_type):
    expected = {"INVALID_API_KEY": FORBIDDEN, "THROTTLED": THROTTLED, "QUOTA_EXCEEDED": QUOTA_EXCEEDED}

    assert template_body(response_type) == expected[response_type]


@pytest.mark.parametrize("headers", [{}, {"x-api-key": "an-api-key-nobody-was-ever-given-0123456789"}])
@pytest.mark.parametrize(("method", "path"), [("GET", "/calculations"), ("POST", "/calculations")])
def test_a_request_without_a_known_api_key_is_refused_with_the_templates_403(api_url, method, path, headers):
    # When a client sends no key, or a key the stage does not know
    response = requests.request(method, f"{api_url}{path}", json={"num1": 1}, headers=headers, timeout=30)

    # Then the gateway answers the template's INVALID_API_KEY problem document
    assert_gateway_refusal(response, 403, FORBIDDEN)


def test_the_swagger_page_needs_no_api_key(api_url):
    response = requests.get(f"{api_url}/swagger", timeout=30)

    assert response.status_code == 200


def test_a_cors_preflight_needs_no_api_key(api_url):
    response = requests.options(
        f"{api_url}/calculations",
        headers={
            "Origin": "https://app.example.com",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,x-api-key",
        },
        timeout=30,
    )

    assert response.status_code in (200, 204)
    assert response.headers["Access-Control-Allow-Origin"] in ("*", "https://app.example.com")


@local_only
def test_the_keys_file_is_made_on_first_run_readable_by_its_owner_only_and_shown_in_the_banner(
    own_runtimes, tmp_path
):
    # When the runtime starts on a new data folder
    runtime = start(own_runtimes, tmp_path / "data")

    # Then one key named "default" is in api-keys.json, mode 0600, with an API Gateway-like id
    keys_file = tmp_path / "data" / "api-keys.json"
    assert stat.S_IMODE(keys_file.stat().st_mode) == 0o600
    (key,) = json.loads(keys_file.read_text())["keys"]
    assert key["name"] == "default"
    assert re.fullmatch(r"[a-z0-9]{10}", key["id"])
    assert re.fullmatch(r"[A-Za-z0-9_-]{40}", key["value"])
    # And the banner shows its name and value
    assert re.search(rf"default\s+{re.escape(key['value'])}", runtime.run_output())
    # And the key opens the API
    assert reaches_function(
        requests.get(f"{runtime.api_url}/calculations", headers={"x-api-key": key["value"]}, timeout=30)
    )


@local_only
def test_a_restart_keeps_the_keys_and_add_api_key_adds_one(own_runtimes, tmp_path):
    # Given a runtime that made its keys file, stopped
    first = start(own_runtimes, tmp_path / "data")
    default_key = first.api_key()
    first.stop()

    # When it starts again on the same folder with --add-api-key
    second = start(own_runtimes, tmp_path / "data", "--add-api-key", "partner")

    # Then the default key is the same, a "partner" key is added, and both open the API
    assert second.api_key() == default_key
    partner_key = second.api_key("partner")
    assert partner_key != default_key
    for value in (default_key, partner_key):
        response = requests.get(f"{second.api_url}/calculations", headers={"x-api-key": value}, timeout=30)
        assert reaches_function(response), response.text
    assert re.search(rf"partner\s+{re.escape(partner_key)}", second.run_output())


@local_only
def test_a_keys_file_that_is_not_json_stops_start_up_and_is_left_as_it_is(tmp_path):
    # Given a keys file a person broke
    (tmp_path / "data").mkdir()
    keys_file = tmp_path / "data" / "api-keys.json"
    keys_file.write_text('{"keys": [')

    # When the runtime starts on it
    runtime = LocalRuntime(tmp_path / "data", tmp_path / "runtime.log")
    with pytest.raises(RuntimeError, match="the local runtime exited"):
        runtime.start()

    # Then it says which file and why, and the file is untouched
    assert f"{keys_file} is not valid JSON" in runtime.run_output()
    assert keys_file.read_text() == '{"keys": ['


@local_only
def test_over_the_throttle_the_gateway_answers_429_with_retry_after_1(own_runtimes, tmp_path):
    # Given a usage plan with a burst of 2 that refills one request per 100 s
    runtime = start(
        own_runtimes, tmp_path / "data", "--api-rate", "0.01", "--api-burst", "2", "--add-api-key", "other"
    )
    key = {"x-api-key": runtime.api_key()}

    # When a key sends three requests
    answers = [requests.get(f"{runtime.api_url}/calculations", headers=key, timeout=30) for _ in range(3)]

    # Then two reach the function and the third is the template's THROTTLED answer
    assert [reaches_function(answer) for answer in answers] == [True, True, False]
    assert_gateway_refusal(answers[2], 429, THROTTLED)
    assert answers[2].headers["Retry-After"] == "1"
    # And another key has its own bucket
    other = requests.get(
        f"{runtime.api_url}/calculations", headers={"x-api-key": runtime.api_key("other")}, timeout=30
    )
    assert reaches_function(other)


@local_only
def test_over_the_quota_the_gateway_answers_429_with_retry_after_3600(own_runtimes, tmp_path):
    # Given a usage plan of 3 requests a day per key, set by environment variable
    runtime = LocalRuntime(tmp_path / "data", tmp_path / "runtime.log", environment={"LOCAL_API_QUOTA": "3"})
    own_runtimes.append(runtime)
    runtime.start()
    key = {"x-api-key": runtime.api_key()}

    # When a key sends four requests
    answers = [requests.get(f"{runtime.api_url}/calculations", headers=key, timeout=30) for _ in range(4)]

    # Then three reach the function and the fourth is the template's QUOTA_EXCEEDED answer
    assert [reaches_function(answer) for answer in answers] == [True, True, True, False]
    assert_gateway_refusal(answers[3], 429, QUOTA_EXCEEDED)
    assert answers[3].headers["Retry-After"] == "3600"
