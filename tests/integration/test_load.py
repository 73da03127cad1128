"""200 calculations started at once from 16 threads: every one ends right, none lost, none duplicated."""

from __future__ import annotations

import json
import statistics
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from api_helpers import post, url

CALCULATIONS = 200
THREADS = 16


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def expected(n: int) -> dict:
    return {"Add": n + 3, "Subtract": n - 3, "Multiply": n * 3, "Division": n / 3}


def figures(kind: str, latencies: list[float], elapsed: float) -> str:
    return (
        f"load ({kind}): {len(latencies)} calculations from {THREADS} threads, all SUCCEEDED and right; "
        f"POST to result median {statistics.median(latencies) * 1000:.0f} ms, "
        f"p99 {percentile(latencies, 0.99) * 1000:.0f} ms; {len(latencies) / elapsed:.1f} calculations/s"
    )


def test_two_hundred_calculations_from_16_threads_through_the_api_all_end_right(api, report):
    run = uuid.uuid4().hex[:8]
    barrier = threading.Barrier(THREADS)

    def calculate(n: int) -> tuple[str, float]:
        if n < THREADS:
            barrier.wait()
        started = time.monotonic()
        response = post(api, {"num1": n, "num2": 3}, **{"Idempotency-Key": f"load-{run}-{n}"})
        assert response.status_code == 202, response.text
        calculation_id = response.json()["id"]
        while (
            result := api.get(url(api, f"/calculations/{calculation_id}/result"), timeout=30)
        ).status_code == 202:
            time.sleep(0.02)
        assert result.status_code == 200, result.text
        assert result.json() == expected(n)
        return calculation_id, time.monotonic() - started

    began = time.monotonic()
    with ThreadPoolExecutor(THREADS) as pool:
        outcomes = list(pool.map(calculate, range(CALCULATIONS)))
    elapsed = time.monotonic() - began

    ids = [calculation_id for calculation_id, _ in outcomes]
    assert len(set(ids)) == CALCULATIONS
    succeeded: set[str] = set()
    cursor = None
    while True:
        params = {"status": "SUCCEEDED", "limit": 100, **({"cursor": cursor} if cursor else {})}
        page = api.get(url(api, "/calculations"), params=params, timeout=30).json()
        succeeded |= {item["id"] for item in page["items"] if item["id"].startswith(f"load-{run}-")}
        cursor = page.get("nextCursor")
        if not cursor:
            break
    assert succeeded == set(ids)
    report("load-api", figures("API", [latency for _, latency in outcomes], elapsed))


def test_two_hundred_invocations_from_16_threads_on_the_lambda_endpoint_all_end_right(lambda_client, report):
    run = uuid.uuid4().hex[:8]

    def calculate(n: int) -> tuple[str, float]:
        started = time.monotonic()
        response = lambda_client.invoke(
            FunctionName="math-durable:live",
            InvocationType="Event",
            DurableExecutionName=f"load-{run}-{n}",
            Payload=json.dumps({"num1": n, "num2": 3}),
        )
        arn = response["DurableExecutionArn"]
        while (execution := lambda_client.get_durable_execution(DurableExecutionArn=arn))[
            "Status"
        ] == "RUNNING":
            time.sleep(0.02)
        assert execution["Status"] == "SUCCEEDED"
        assert json.loads(execution["Result"]) == expected(n)
        return arn, time.monotonic() - started

    began = time.monotonic()
    with ThreadPoolExecutor(THREADS) as pool:
        outcomes = list(pool.map(calculate, range(CALCULATIONS)))
    elapsed = time.monotonic() - began

    arns = {arn for arn, _ in outcomes}
    assert len(arns) == CALCULATIONS
    listed = lambda_client.list_durable_executions_by_function(
        FunctionName="math-durable", Qualifier="live", Statuses=["SUCCEEDED"], MaxItems=1000
    )["DurableExecutions"]
    mine = [e for e in listed if e["DurableExecutionName"].startswith(f"load-{run}-")]
    assert len(mine) == CALCULATIONS
    assert {e["DurableExecutionArn"] for e in mine} == arns
    report("load-lambda", figures("Lambda endpoint", [latency for _, latency in outcomes], elapsed))
