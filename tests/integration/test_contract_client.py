"""A Python client generated from openapi.yaml by openapi-python-client, run through a full flow.

The client is generated into a temporary folder at test time, not committed: what users generate
from the committed spec is what gets tested, so it cannot drift from the spec, and the repository
carries no second copy of the contract to keep in step. clients/python/flow.py, a program written
against the generated package as a user would, passes `mypy --strict` and runs against the API.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests

from api_helpers import follow, url
from runtime_process import REPO_ROOT
from system_tools import missing_requirement

PACKAGE = "durable_calculations_client"
GENERATOR = Path(sys.executable).parent / "openapi-python-client"
FLOW = REPO_ROOT / "clients" / "python" / "flow.py"


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    """Generate the client from openapi.yaml and import it; the modules a user would import."""
    folder = tmp_path_factory.mktemp("generated-client")
    config = folder / "config.yaml"
    # No post hooks: formatting the generated code is the user's business, not the contract's.
    config.write_text("post_hooks: []\n", encoding="utf-8")
    result = subprocess.run(
        [
            str(GENERATOR),
            "generate",
            "--path",
            str(REPO_ROOT / "openapi.yaml"),
            "--meta",
            "none",
            "--output-path",
            str(folder / PACKAGE),
            "--config",
            str(config),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Warning" not in result.stdout + result.stderr, result.stdout + result.stderr
    sys.path.insert(0, str(folder))
    try:
        names = ["client", "api.calculations", "models", "types"]
        modules = {name: importlib.import_module(f"{PACKAGE}.{name}") for name in names}
        calculations = modules["api.calculations"]
        yield SimpleNamespace(
            folder=folder,
            AuthenticatedClient=modules["client"].AuthenticatedClient,
            models=modules["models"],
            UNSET=modules["types"].UNSET,
            **{
                operation: importlib.import_module(f"{calculations.__name__}.{operation}")
                for operation in (
                    "start_calculation",
                    "get_calculation",
                    "get_result",
                    "get_history",
                    "list_calculations",
                    "stop_calculation",
                    "delete_calculation",
                )
            },
        )
    finally:
        sys.path.remove(str(folder))
        for name in [name for name in sys.modules if name.split(".")[0] == PACKAGE]:
            del sys.modules[name]


@pytest.fixture
def client(generated: SimpleNamespace, api_url: str, api: requests.Session):
    """The generated AuthenticatedClient on the API under test, sending the first consumer's API key.

    The spec's apiKey scheme is a header, not a bearer token: no prefix, the header's own name.
    """
    with generated.AuthenticatedClient(
        base_url=api_url,
        token=api.headers["x-api-key"],
        prefix="",
        auth_header_name="x-api-key",
        timeout=30,
        raise_on_unexpected_status=True,
    ) as generated_client:
        yield generated_client


def poll_result(generated: SimpleNamespace, client, calculation_id: str, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while True:
        response = generated.get_result.sync_detailed(calculation_id, client=client)
        if response.status_code != 202:
            return response
        assert isinstance(response.parsed, generated.models.Calculation)
        assert int(response.headers["retry-after"]) >= 0
        assert time.monotonic() < deadline, f"{calculation_id} still running after {timeout} s"
        time.sleep(0.1)


def test_generated_client_follows_a_calculation_from_start_to_history(generated, client, api):
    models = generated.models

    started = generated.start_calculation.sync_detailed(
        client=client, body=models.CalculationRequest(num1=10, num2=5)
    )
    calculation = started.parsed
    result = poll_result(generated, client, calculation.id)
    status = generated.get_calculation.sync(calculation.id, client=client)
    history = generated.get_history.sync(calculation.id, client=client)
    page = generated.list_calculations.sync(client=client, limit=100)

    assert started.status_code == 202
    assert isinstance(calculation, models.Calculation)
    assert calculation.status == models.CalculationStatus.RUNNING
    # Location and links resolve against the API's URL, deployed (stage in the path) and locally
    assert follow(api, started.headers["location"]) == url(api, f"/calculations/{calculation.id}")
    assert result.status_code == 200
    assert isinstance(result.parsed, models.ResultDocument)
    assert result.parsed.to_dict() == {"Add": 15, "Subtract": 5, "Multiply": 50, "Division": 2.0}
    assert status.status == models.CalculationStatus.SUCCEEDED
    assert status.result.to_dict() == {"Add": 15, "Subtract": 5, "Multiply": 50, "Division": 2.0}
    assert follow(api, status.links.result) == url(api, f"/calculations/{calculation.id}/result")
    assert api.get(follow(api, started.headers["location"]), timeout=30).json()["id"] == calculation.id
    steps = {operation.name: operation for operation in history.operations if operation.type_ == "STEP"}
    assert sorted(steps) == ["Add", "Division", "Multiply", "Record", "Subtract"]
    assert {step.status for step in steps.values()} == {models.OperationStatus.SUCCEEDED}
    assert history.ended is True
    assert calculation.id in {item.id for item in page.items}


def test_generated_client_reads_a_failed_operation(generated, client):
    models = generated.models
    started = generated.start_calculation.sync(client=client, body=models.CalculationRequest(num1=10, num2=0))

    result = poll_result(generated, client, started.id)
    status = generated.get_calculation.sync(started.id, client=client)

    assert result.parsed.error_details == "One or more operations failed"
    assert result.parsed.errors.to_dict() == {"Division": "division by zero"}
    assert status.status == models.CalculationStatus.FAILED
    assert [(f.operation, f.message) for f in status.failed_operations] == [("Division", "division by zero")]


def test_generated_client_replays_an_ended_start_with_200_and_refuses_another_body(generated, client):
    models = generated.models
    key = f"client-{uuid.uuid4().hex}"

    first = generated.start_calculation.sync_detailed(
        client=client, body=models.CalculationRequest(num1=3, num2=4), idempotency_key=key
    )
    poll_result(generated, client, key)

    again = generated.start_calculation.sync_detailed(
        client=client, body=models.CalculationRequest(num1=3, num2=4), idempotency_key=key
    )
    other = generated.start_calculation.sync_detailed(
        client=client, body=models.CalculationRequest(num1=3, num2=5), idempotency_key=key
    )

    assert first.parsed.id == again.parsed.id == key
    assert again.status_code == 200
    assert other.status_code == 409
    assert isinstance(other.parsed, models.Problem)


def test_generated_client_gets_a_422_problem_for_an_invalid_field(generated, client):
    models = generated.models

    response = generated.start_calculation.sync_detailed(
        client=client, body=models.CalculationRequest(num1=1, num2=2), idempotency_key="not a key!"
    )

    assert response.status_code == 422
    assert isinstance(response.parsed, models.ValidationProblem)
    assert response.parsed.status == 422
    assert [(error.field, error.message) for error in response.parsed.errors] == [
        ("Idempotency-Key", "must be 1-64 of A-Z a-z 0-9 - _")
    ]


def test_generated_client_gets_a_404_problem_for_an_unknown_id(generated, client):
    response = generated.get_calculation.sync_detailed(f"unknown-{uuid.uuid4().hex}", client=client)

    assert response.status_code == 404
    assert isinstance(response.parsed, generated.models.Problem)
    assert response.parsed.title == "Not Found"
    assert response.headers["content-type"].startswith("application/problem+json")


def test_generated_client_deletes_an_ended_calculation(generated, client):
    # Given an ended calculation
    started = generated.start_calculation.sync(
        client=client, body=generated.models.CalculationRequest(num1=2, num2=1)
    )
    poll_result(generated, client, started.id)

    # When it is deleted
    deleted = generated.delete_calculation.sync_detailed(started.id, client=client)

    # Then the answer is 204, and the calculation is then unknown
    assert deleted.status_code == 204
    assert generated.get_calculation.sync_detailed(started.id, client=client).status_code == 404


def test_the_typed_flow_passes_mypy_strict_and_runs(generated, api_url: str, api, tmp_path, report):
    # Given flow.py checked by mypy --strict against the generated package; the package's own
    # modules are read for their types, and only the flow's errors are reported
    if importlib.util.find_spec("mypy") is None:
        missing_requirement("mypy is not installed (requirements-dev.txt)")
    checked = subprocess.run(
        [
            *(sys.executable, "-m", "mypy", "--strict", "--follow-imports=silent"),
            *("--cache-dir", str(tmp_path / "mypy-cache"), str(FLOW)),
        ],
        env={**os.environ, "MYPYPATH": str(generated.folder)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    errors = [line for line in checked.stdout.splitlines() if ": error:" in line]
    report("python_strict_errors", f"Python flow: {len(errors)} strict type errors")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert errors == []

    # When it runs against the API with the consumer's key
    result = subprocess.run(
        [sys.executable, str(FLOW)],
        env={
            **os.environ,
            "PYTHONPATH": str(generated.folder),
            "CALCULATIONS_API_URL": api_url,
            "CALCULATIONS_API_KEY": api.headers["x-api-key"],
        },
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    # Then every step held
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("flow passed: ")
