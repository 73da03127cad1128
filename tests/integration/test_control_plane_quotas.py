"""The API under AWS's default control-plane rates, which the local Lambda endpoint enforces unless
told not to: reads served by the calculations table never meet them; a read that needs Lambda's
control plane (history, 15 calls/s per account) is throttled, and says so as a 429 problem."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from api_helpers import assert_problem, consumer, url
from conftest import DEPLOYED, UNLIMITED, start_runtime
from runtime_process import LocalRuntime

CLIENTS = 16


@pytest.fixture(scope="module")
def rated_runtime(
    local_runtime: LocalRuntime | None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalRuntime]:
    """A runtime with AWS's default control-plane rates on (the usage plan lifted)."""
    if local_runtime is None:
        pytest.skip(f"needs a local runtime with its control-plane rates, and {DEPLOYED}")
    runtime = start_runtime(tmp_path_factory, "rated-runtime", *UNLIMITED)
    yield runtime
    runtime.stop()


def finished_calculations(runtime: LocalRuntime, count: int) -> list[str]:
    """`count` calculations started and ended (Prefer: wait), their ids."""
    api = consumer(runtime.api_url, runtime.api_key())

    def start(index: int) -> str:
        response = api.post(
            url(api, "/calculations"),
            json={"num1": index, "num2": 5},
            headers={"Prefer": "wait=10"},
            timeout=30,
        )
        assert response.status_code == 200, response.text
        return response.json()["id"]

    with ThreadPoolExecutor(CLIENTS) as pool:
        return list(pool.map(start, range(count)))


def get_all(runtime: LocalRuntime, paths: list[str]) -> list[requests.Response]:
    """GET every path at once from CLIENTS clients, each with its own connection."""

    def get(path: str) -> requests.Response:
        api = consumer(runtime.api_url, runtime.api_key())
        return api.get(url(api, path), timeout=30)

    with ThreadPoolExecutor(CLIENTS) as pool:
        return list(pool.map(get, paths))


def test_status_result_and_list_reads_are_never_throttled_by_the_control_plane_rates(rated_runtime):
    # Given ended calculations, on a runtime enforcing 30 GetDurableExecution calls per second
    ids = finished_calculations(rated_runtime, 20)

    # When 200 reads of their status, result and the list arrive at once (well over 30 per second)
    paths = [f"/calculations/{ids[i % 20]}" for i in range(80)]
    paths += [f"/calculations/{ids[i % 20]}/result" for i in range(80)]
    paths += ["/calculations?limit=20"] * 40
    answers = get_all(rated_runtime, paths)

    # Then every one is answered from the table: none is throttled
    assert [answer.status_code for answer in answers] == [200] * 200


def test_history_reads_beyond_the_control_plane_rate_are_answered_429_with_retry_after(rated_runtime):
    # Given 60 ended calculations, whose histories no API container holds yet
    ids = finished_calculations(rated_runtime, 60)

    # When their 60 histories are asked for at once (GetDurableExecutionHistory: 15 per second)
    answers = get_all(rated_runtime, [f"/calculations/{calculation_id}/history" for calculation_id in ids])

    # Then those past the rate (after botocore's own retry) are 429 problems that say when to retry,
    # and the others are the histories
    throttled = [answer for answer in answers if answer.status_code == 429]
    assert throttled, "60 history reads at once should exceed 15 per second"
    assert_problem(throttled[0], 429)
    assert throttled[0].headers["Retry-After"] == "1"
    assert {answer.status_code for answer in answers} == {200, 429}
