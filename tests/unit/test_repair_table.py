"""`make repair` (scripts/repair_table.py) without AWS: which items it mends, and how fast it calls Lambda.

Its pacing is measured on a fake clock: the script's sleeps move the clock, and each Lambda
call is stamped with the time it was made. The rates are powers of two, so the spacing is exact.
"""

from __future__ import annotations

import importlib.util
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from calculation_records import Record

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "repair_table.py"


@pytest.fixture(scope="module")
def repair_table() -> ModuleType:
    spec = importlib.util.spec_from_file_location("repair_table", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class FakeClock:
    """time.monotonic and time.sleep: sleeping moves the clock, nothing else does."""

    def __init__(self) -> None:
        self.now = 100.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


class FakeLambda:
    """A durable function with `pages` pages of `per_page` executions, none of them known to the table."""

    def __init__(self, clock: FakeClock, pages: int, per_page: int) -> None:
        self.clock = clock
        self.pages = pages
        self.per_page = per_page
        self.calls: list[tuple[str, float]] = []

    def list_durable_executions_by_function(self, **params: Any) -> dict[str, Any]:
        self.calls.append(("List", self.clock.now))
        page = int(params.get("Marker", "0"))
        executions = [
            {
                "DurableExecutionName": f"outside-{page}-{n}",
                "DurableExecutionArn": f"arn-{page}-{n}",
                "Status": "SUCCEEDED",
            }
            for n in range(self.per_page)
        ]
        return {
            "DurableExecutions": executions,
            **({"NextMarker": str(page + 1)} if page + 1 < self.pages else {}),
        }

    def get_durable_execution(self, **params: Any) -> dict[str, Any]:
        self.calls.append(("Get", self.clock.now))
        # Started outside the API (no owner in its input): read, counted and left out.
        return {
            "DurableExecutionName": "outside",
            "DurableExecutionArn": params["DurableExecutionArn"],
            "Status": "SUCCEEDED",
            "StartTimestamp": datetime(2026, 1, 1, tzinfo=UTC),
            "InputPayload": "{}",
        }


class EmptyTable:
    def get_item(self, **params: Any) -> dict[str, Any]:
        return {}


def calls_per_second(calls: list[tuple[str, float]], operation: str) -> list[int]:
    """How many `operation` calls fell in each whole second from the first call on."""
    times = [at for name, at in calls if name == operation]
    seconds = Counter(int((at - times[0]) // 1) for at in times)
    return [seconds[second] for second in range(max(seconds) + 1)]


def run_repair(repair_table, monkeypatch, lambda_client, *args: str) -> None:
    clients = {"lambda": lambda_client, "dynamodb": EmptyTable()}
    monkeypatch.setattr(repair_table.boto3, "client", lambda service: clients[service])
    assert repair_table.main(["--function-name", "math-durable", "--table", "calculations", *args]) == 0


def test_get_calls_are_paced_at_the_get_rate(repair_table, monkeypatch):
    # Given 20 executions the table does not know, listed in one page, on a fake clock
    clock = FakeClock()
    monkeypatch.setattr(time, "monotonic", clock.monotonic)
    monkeypatch.setattr(time, "sleep", clock.sleep)
    lambda_client = FakeLambda(clock, pages=1, per_page=20)

    # When the repair reads each of them at 8 calls a second
    run_repair(repair_table, monkeypatch, lambda_client, "--get-rate", "8")

    # Then each second holds 8 Get calls, the last the 4 left
    assert calls_per_second(lambda_client.calls, "Get") == [8, 8, 4]


def test_list_calls_are_paced_at_the_list_rate(repair_table, monkeypatch):
    # Given 10 pages of one execution each, on a fake clock
    clock = FakeClock()
    monkeypatch.setattr(time, "monotonic", clock.monotonic)
    monkeypatch.setattr(time, "sleep", clock.sleep)
    lambda_client = FakeLambda(clock, pages=10, per_page=1)

    # When a dry run lists them at 4 calls a second
    run_repair(repair_table, monkeypatch, lambda_client, "--list-rate", "4", "--dry-run")

    # Then each second holds 4 List calls, the last the 2 left
    assert calls_per_second(lambda_client.calls, "List") == [4, 4, 2]


@pytest.mark.parametrize(
    ("item", "lambda_status", "needed"),
    [
        (None, "RUNNING", True),
        (Record("calc-1", "RUNNING"), "SUCCEEDED", True),
        (Record("calc-1", "SUCCEEDED"), "SUCCEEDED", True),
        (Record("calc-1", "SUCCEEDED", result={}), "SUCCEEDED", False),
        (Record("calc-1", "RUNNING"), "RUNNING", False),
        (Record("calc-1", "STOPPED"), "STOPPED", False),
    ],
    ids=["missing", "end-lost", "succeeded-without-result", "up-to-date", "still-running", "stopped"],
)
def test_an_item_needs_repair_when_lambda_knows_more(repair_table, item, lambda_status, needed):
    assert repair_table.needs_repair(item, lambda_status) is needed
