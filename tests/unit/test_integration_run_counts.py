"""The integration suite's closing counts: what ran and what was skipped, and why."""

import importlib.util
from pathlib import Path
from types import SimpleNamespace

import pytest

RUN_COUNTS = Path(__file__).resolve().parents[1] / "integration" / "run_counts.py"
URL = "https://abcde12345.execute-api.us-east-1.amazonaws.com/v1"


@pytest.fixture(scope="module")
def run_counts():
    spec = importlib.util.spec_from_file_location("run_counts", RUN_COUNTS)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def passed(name: str) -> SimpleNamespace:
    return SimpleNamespace(nodeid=f"tests/integration/{name}", outcome="passed", when="call", longrepr=None)


def skipped(name: str, reason: str) -> SimpleNamespace:
    longrepr = (f"tests/integration/{name}", 1, f"Skipped: {reason}")
    return SimpleNamespace(
        nodeid=f"tests/integration/{name}", outcome="skipped", when="setup", longrepr=longrepr
    )


def test_against_a_deployed_stack_it_counts_what_ran_and_each_skip_reason(run_counts):
    # Given a run against a deployed stack: three tests ran, one failed, three skipped for two reasons
    reports = [
        passed("test_api_flows.py::test_a"),
        passed("test_api_flows.py::test_b"),
        SimpleNamespace(nodeid="tests/integration/test_c", outcome="failed", when="call", longrepr="boom"),
        SimpleNamespace(
            nodeid="tests/integration/test_d", outcome="failed", when="setup", longrepr="fixture"
        ),
        skipped("test_durability.py::test_e", "needs local control of the runtime"),
        skipped("test_durability.py::test_f", "needs local control of the runtime"),
        skipped("test_repair.py::test_g", "needs the local runtime's table"),
        SimpleNamespace(nodeid="tests/unit/test_template.py::test_h", outcome="passed", when="call"),
    ]

    # Then the summary says how many ran, how many were skipped, and why
    assert run_counts.summary_lines(reports, URL) == [
        f"against {URL}: 4 integration tests ran (1 errored, 1 failed, 2 passed), 3 skipped",
        "  2 skipped: needs local control of the runtime",
        "  1 skipped: needs the local runtime's table",
    ]


def test_a_local_run_counts_the_deployed_only_tests_it_skipped(run_counts):
    # Given a local run where two deployed-only tests and one other test skipped
    reports = [
        passed("test_api_flows.py::test_a"),
        skipped("test_api_flows.py::test_b[PUT]", "deployed only: needs CALCULATIONS_API_URL"),
        skipped("test_api_flows.py::test_b[PATCH]", "deployed only: needs CALCULATIONS_API_URL"),
        skipped("test_aws_cli.py::test_c", "aws is not installed"),
    ]

    assert run_counts.summary_lines(reports, "") == [
        "2 deployed-only integration tests skipped (CALCULATIONS_API_URL is not set)"
    ]
