"""Integration fixtures: the local runtime as a subprocess, or a deployed stack when one is named.

Locally the runtime is started with two API keys, "default" and "second": two consumers. With
CALCULATIONS_API_URL naming a deployed API, CALCULATIONS_API_KEY is the first consumer's key and
CALCULATIONS_API_KEY_2 the second's (another key in the usage plan); the API tests run against
it, and tests that need local control (restarts, the local Lambda endpoint, the slow function,
the throttle) skip: a deployed stack has none, so those skips never fail. A second key that is
missing skips the isolation tests, and fails them under CI (system_tools.missing_requirement).
Tests marked `deployed_only` check what only a deployed stage does, and skip locally. Every run
ends with how many integration tests ran and how many were skipped, and why (run_counts.py).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from api_helpers import consumer
from run_counts import DEPLOYED_ONLY, summary_lines
from runtime_process import LocalRuntime, local_lambda_client
from system_tools import missing_requirement

HERE = Path(__file__).parent
DEPLOYED_API_URL = os.environ.get("CALCULATIONS_API_URL", "").rstrip("/")
DEPLOYED_API_KEY = os.environ.get("CALCULATIONS_API_KEY")
DEPLOYED_SECOND_API_KEY = os.environ.get("CALCULATIONS_API_KEY_2")
SECOND_CONSUMER = "second"
# The suite sends far more than the usage plan's 25 requests/s (burst 50, 10000 a day) from one
# key, and polls the Lambda endpoint faster than AWS's default control-plane rates. The session
# runtime lifts both; test_consumers.py checks the throttle, and the Lambda endpoint's tests the
# control-plane rates, each on a runtime of its own.
UNLIMITED = ("--api-rate", "100000", "--api-burst", "100000", "--api-quota", "100000000")
NO_CONTROL_PLANE_QUOTAS = "--no-control-plane-quotas"
# A durable function that waits 30 s before the real math: calculations that are still running.
SLOW_HANDLER = ("--durable-handler", "slow_durable:lambda_handler", "--durable-path", str(HERE))
DEPLOYED = "CALCULATIONS_API_URL names a deployed stack"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.integration)
            if item.get_closest_marker("deployed_only") and not DEPLOYED_API_URL:
                item.add_marker(pytest.mark.skip(reason=f"{DEPLOYED_ONLY}: needs CALCULATIONS_API_URL"))


def start_runtime(factory: pytest.TempPathFactory, name: str, *extra_args: str, **options) -> LocalRuntime:
    """A runtime with the two consumers' keys, on its own throw-away data folder."""
    folder = factory.mktemp(name)
    args = ("--add-api-key", SECOND_CONSUMER, *extra_args)
    return LocalRuntime(folder / "data", folder / "runtime.log", *args, **options).start()


@pytest.fixture(scope="session")
def local_runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRuntime | None]:
    """The runtime `make run` starts, on free ports and a throw-away data folder (None when deployed)."""
    if DEPLOYED_API_URL:
        yield None
        return
    runtime = start_runtime(tmp_path_factory, "local-runtime", *UNLIMITED, NO_CONTROL_PLANE_QUOTAS)
    yield runtime
    runtime.stop()


@pytest.fixture(scope="session")
def lambda_url(local_runtime: LocalRuntime | None) -> str:
    if local_runtime is None:
        pytest.skip(f"needs the local Lambda endpoint, and {DEPLOYED}")
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
def api(api_url: str, local_runtime: LocalRuntime | None) -> requests.Session:
    """The first consumer: a session that sends its API key with every request.

    `api.base_url` is the API's URL; `api_helpers.url(api, path)` builds URLs from it.
    """
    if local_runtime is not None:
        return consumer(api_url, local_runtime.api_key())
    if not DEPLOYED_API_KEY:
        pytest.fail(
            "CALCULATIONS_API_URL is set without CALCULATIONS_API_KEY: every route but /swagger needs one"
        )
    return consumer(api_url, DEPLOYED_API_KEY)


@pytest.fixture(scope="session")
def other_api(api_url: str, local_runtime: LocalRuntime | None) -> requests.Session:
    """A second consumer, with its own API key: it must never see the first one's calculations."""
    if local_runtime is not None:
        return consumer(api_url, local_runtime.api_key(SECOND_CONSUMER))
    if not DEPLOYED_SECOND_API_KEY:
        missing_requirement(
            "CALCULATIONS_API_KEY_2 is not set: the isolation tests need a second consumer's API key "
            "(another key in the deployed usage plan)"
        )
    return consumer(api_url, DEPLOYED_SECOND_API_KEY)


@pytest.fixture
def needs_local(local_runtime: LocalRuntime | None) -> LocalRuntime:
    if local_runtime is None:
        pytest.skip(f"needs local control of the runtime, and {DEPLOYED}")
    return local_runtime


@pytest.fixture(scope="session")
def slow_runtime(
    local_runtime: LocalRuntime | None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalRuntime]:
    """A runtime of its own whose durable function is slow_durable.py: its calculations stay RUNNING."""
    if local_runtime is None:
        pytest.skip(f"needs a local runtime hosting slow_durable.py, and {DEPLOYED}")
    runtime = start_runtime(tmp_path_factory, "slow-runtime", *SLOW_HANDLER)
    yield runtime
    runtime.stop()


@pytest.fixture(scope="session")
def slow_api(slow_runtime: LocalRuntime) -> requests.Session:
    """The first consumer, on the slow runtime."""
    return consumer(slow_runtime.api_url, slow_runtime.api_key())


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
    reports = [report for outcome in terminalreporter.stats.values() for report in outcome]
    if any(getattr(report, "nodeid", "").startswith("tests/integration/") for report in reports):
        terminalreporter.section("integration tests run and skipped")
        for line in summary_lines((r for r in reports if hasattr(r, "outcome")), DEPLOYED_API_URL):
            terminalreporter.write_line(line)
