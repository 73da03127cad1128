"""What a new container loads: no X-Ray SDK unless traces are recorded, no OpenAPI models before the spec.

Each test runs in a fresh interpreter, as a cold start does: a module loaded once stays loaded.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

from events import API_ENVIRONMENT

REPO = Path(__file__).resolve().parents[2]
IMPORT_PATH = [REPO / "functions" / "api", REPO / "functions" / "shared", REPO / "tests" / "unit"]
XRAY_SDK = "aws_xray_sdk.core"
OPENAPI_MODELS = "aws_lambda_powertools.event_handler.openapi.models"

REPORT_LOADED = f"""
import json, sys
def loaded():
    return {{"xray": {XRAY_SDK!r} in sys.modules, "openapi_models": {OPENAPI_MODELS!r} in sys.modules}}
def clients():
    import dynamodb_adapter, lambda_adapter
    caches = (dynamodb_adapter.dynamodb_client, lambda_adapter.lambda_client, lambda_adapter.attach_client)
    return sum(cache.cache_info().currsize for cache in caches)
"""


def run_fresh(code: str, **environment: str) -> dict:
    """Run `code` in a new interpreter with the API's settings; it prints one JSON line."""
    env = {
        "PATH": os.defpath,
        "PYTHONPATH": os.pathsep.join(map(str, IMPORT_PATH)),
        **API_ENVIRONMENT,
        **environment,
    }
    completed = subprocess.run(
        [sys.executable, "-c", REPORT_LOADED + code],
        env={name: value for name, value in env.items() if value},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout.strip().splitlines()[-1])


def test_cold_request_with_tracing_off_loads_neither_the_xray_sdk_nor_the_openapi_models():
    # Given a new container with tracing off, as in the tests and the local runtime
    # When it imports the handler and answers a request that goes through validation
    outcome = run_fresh(
        """
from app import lambda_handler, tracer
from events import FakeLambdaContext, rest_event
status = lambda_handler(rest_event("GET", "/calculations/not%20an%20id"), FakeLambdaContext())["statusCode"]
print(json.dumps({"status": status, "disabled": tracer.disabled,
                  "provider": type(tracer.provider).__name__, "clients": clients(), **loaded()}))
"""
    )

    # Then the request was answered by a disabled Tracer that never loaded the X-Ray SDK,
    # and no AWS client was created for a request that needed none
    assert outcome == {
        "status": 422,
        "disabled": True,
        "provider": "UnrecordedTraces",
        "clients": 0,
        "xray": False,
        "openapi_models": False,
    }


def test_swagger_loads_the_openapi_models_on_first_use():
    # Given a new container
    # When the first request asks for the spec
    outcome = run_fresh(
        """
from app import lambda_handler
from events import FakeLambdaContext, rest_event
before = loaded()
response = lambda_handler(rest_event("GET", "/swagger?format=json"), FakeLambdaContext())
print(json.dumps({"before": before, "after": loaded(), "status": response["statusCode"],
                  "title": json.loads(response["body"])["info"]["title"]}))
"""
    )

    # Then the models load then, and the spec is served
    assert outcome["before"]["openapi_models"] is False
    assert outcome["after"]["openapi_models"] is True
    assert outcome["status"] == 200
    assert outcome["title"] == "Durable Calculations API"


def test_in_lambda_with_tracing_on_the_tracer_records_with_xray():
    # Given a container in Lambda (LAMBDA_TASK_ROOT is set) with tracing on
    # When the handler module is imported
    outcome = run_fresh(
        """
from app import tracer
from aws_xray_sdk.core import xray_recorder
print(json.dumps({"disabled": tracer.disabled, "xray_recorder": tracer.provider is xray_recorder}))
""",
        LAMBDA_TASK_ROOT=str(REPO / "functions" / "api"),
        POWERTOOLS_TRACE_DISABLED="",
    )

    # Then its Tracer is Powertools' X-Ray Tracer, enabled
    assert outcome == {"disabled": False, "xray_recorder": True}
