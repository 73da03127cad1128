"""Integration fixtures: the local runtime as a subprocess, or a deployed stack when one is named.

CALCULATIONS_API_URL names a deployed API (with CALCULATIONS_API_KEY sent as `x-api-key`); then
the API tests run against it and tests that need local control (restarts, the local Lambda
endpoint) skip.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from runtime_process import LocalRuntime, local_lambda_client

DEPLOYED_API_URL = os.environ.get("CALCULATIONS_API_URL", "").rstrip("/")
DEPLOYED_API_KEY = os.environ.get("CALCULATIONS_API_KEY")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def local_runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRuntime | None]:
    """The runtime `make run` starts, on free ports and a throw-away data folder (None when deployed)."""
    if DEPLOYED_API_URL:
        yield None
        return
    folder = tmp_path_factory.mktemp("local-runtime")
    runtime = LocalRuntime(folder / "data", folder / "runtime.log").start()
    yield runtime
    runtime.stop()


@pytest.fixture(scope="session")
def lambda_url(local_runtime: LocalRuntime | None) -> str:
    if local_runtime is None:
        pytest.skip("needs the local Lambda endpoint (CALCULATIONS_API_URL names a deployed stack)")
    return local_runtime.lambda_url


@pytest.fixture(scope="session")
def lambda_client(lambda_url: str):
    return local_lambda_client(lambda_url)


@pytest.fixture(scope="session")
def api_url(local_runtime: LocalRuntime | None) -> str:
    if DEPLOYED_API_URL:
        return DEPLOYED_API_URL
    assert local_runtime is not None
    return local_runtime.api_url


@pytest.fixture(scope="session")
def api(api_url: str) -> requests.Session:
    """A session that sends the API key when a deployed stack needs one.

    `api.base_url` is the API's URL; `api_helpers.url(api, path)` builds URLs from it.
    """
    session = requests.Session()
    if DEPLOYED_API_KEY:
        session.headers["x-api-key"] = DEPLOYED_API_KEY
    session.base_url = api_url  # type: ignore[attr-defined]
    return session


@pytest.fixture
def needs_local(local_runtime: LocalRuntime | None) -> LocalRuntime:
    if local_runtime is None:
        pytest.skip("needs local control of the runtime (CALCULATIONS_API_URL names a deployed stack)")
    return local_runtime


REPORTS: list[str] = []


@pytest.fixture
def report(record_property):
    """Record a figure: in the JUnit properties and in the terminal summary, with or without -s."""

    def add(name: str, line: str) -> None:
        record_property(name, line)
        REPORTS.append(line)

    return add


def pytest_terminal_summary(terminalreporter) -> None:
    if REPORTS:
        terminalreporter.section("integration figures")
        for line in REPORTS:
            terminalreporter.write_line(line)
