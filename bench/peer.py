"""Side by side with the closest peer, the testing package's `dex-local-runner`, on one workload.

Each client Invokes `math-durable` (InvocationType `Event`) and polls `GetDurableExecution` every
5 ms until the execution has ended, through boto3 pointed at each side's endpoints: our Lambda
endpoint (`python -m local`, control-plane quotas off, since 5 ms polls are far above AWS's rate)
and the peer (`bench/peer_host.py`). Both sides run at once on fresh processes and are driven in
alternating rounds, 16 clients then 1, so a noisy neighbour on the machine hits both.
"""

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config

from bench import ROOT, peer_host, stack
from bench.measure import concurrent_load, expected_document, milliseconds, operands, percentile
from bench.process_cpu import CpuMeter
from local import hosted_function

POLL_INTERVAL_SECONDS = 0.005
RESULT_TIMEOUT_SECONDS = 60
READY_TIMEOUT_SECONDS = 60
ROUNDS = 3
CREDENTIALS = {"aws_access_key_id": "bench", "aws_secret_access_key": "bench"}


@dataclass(frozen=True)
class Side:
    """One side of the comparison: where to Invoke, where to poll, and the process to meter."""

    name: str
    invoke_url: str
    control_url: str
    pid: int


@contextmanager
def peer() -> Iterator[Side]:
    environment = (
        os.environ
        | {"AWS_DEFAULT_REGION": hosted_function.REGION}
        | {name.upper(): value for name, value in CREDENTIALS.items()}
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.peer_host"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        env=environment,
        text=True,
    )
    try:
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        line = ""
        while not line.startswith(peer_host.READY_PREFIX):
            line = process.stdout.readline() if process.stdout else ""
            if not line or time.monotonic() > deadline:
                raise RuntimeError(f"the peer did not become ready ({process.poll()})")
        control_url, lambda_url = line.split()[-2:]
        yield Side("peer", lambda_url, control_url, process.pid)
    finally:
        process.terminate()
        process.wait(timeout=20)


def client(url: str, connections: int) -> Any:
    return boto3.client(
        "lambda",
        endpoint_url=url,
        region_name=hosted_function.REGION,
        config=Config(max_pool_connections=connections, retries={"max_attempts": 1}),
        **CREDENTIALS,
    )


def invoke_then_poll(invoker: Any, control: Any, index: int) -> bool:
    """One calculation to its end; True when it succeeded with exactly the right numbers."""
    num1, num2 = operands(index)
    started = invoker.invoke(
        FunctionName=peer_host.FUNCTION_NAME,
        InvocationType="Event",
        Payload=json.dumps({"num1": num1, "num2": num2}),
    )
    deadline = time.monotonic() + RESULT_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        execution = control.get_durable_execution(DurableExecutionArn=started["DurableExecutionArn"])
        if execution["Status"] != "RUNNING":
            result = json.loads(execution.get("Result") or "null")
            return execution["Status"] == "SUCCEEDED" and _holds(result, expected_document(num1, num2))
        time.sleep(POLL_INTERVAL_SECONDS)
    raise TimeoutError(f"{started['DurableExecutionArn']} still running after {RESULT_TIMEOUT_SECONDS} s")


def _holds(result: Any, expected: dict[str, float]) -> bool:
    """The function's output carries each operation's answer under its name."""
    answers = result.get("results", result) if isinstance(result, dict) else None
    return isinstance(answers, dict) and all(answers.get(name) == value for name, value in expected.items())


def timed(call: Callable[[int], bool], seconds: list[float]) -> Callable[[int], bool]:
    def run(index: int) -> bool:
        started = time.perf_counter()
        ok = call(index)
        seconds.append(time.perf_counter() - started)
        return ok

    return run


def compare(total: int, sequential: int, clients: int) -> dict[str, Any]:
    """`total` calculations from `clients` clients and `sequential` from one, per side, over ROUNDS
    alternating rounds; latencies and throughput pooled over the rounds."""
    figures: dict[str, Any] = {
        "rounds": ROUNDS,
        "clients": clients,
        "poll_interval_ms": POLL_INTERVAL_SECONDS * 1000,
    }
    with stack.local_runtime("--no-control-plane-quotas") as ours, peer() as theirs:
        sides = [Side("ours", ours.lambda_url, ours.lambda_url, ours.pid), theirs]
        pools = {
            side.name: (client(side.invoke_url, clients), client(side.control_url, clients)) for side in sides
        }
        runs = {
            (side.name, width): {
                "seconds": [],
                "elapsed": 0.0,
                "cpu_ms": 0.0,
                "completed": 0,
                "wrong": 0,
                "lost": 0,
            }
            for side in sides
            for width in (clients, 1)
        }
        for side in sides:  # every client connection and lazy import, once, unmeasured
            concurrent_load(lambda i, s=side.name: invoke_then_poll(*pools[s], i), 2 * clients, clients)
        for _ in range(ROUNDS):
            for width, count in ((clients, max(1, total // ROUNDS)), (1, max(1, sequential // ROUNDS))):
                for side in sides:
                    run = runs[(side.name, width)]
                    meter = CpuMeter.begin(side.pid)
                    call = timed(lambda i, s=side.name: invoke_then_poll(*pools[s], i), run["seconds"])
                    load = concurrent_load(call, count, width)
                    run["cpu_ms"] += meter.per_calculation(1)["total"]
                    run["elapsed"] += load.elapsed_seconds
                    for outcome in ("completed", "wrong", "lost"):
                        run[outcome] += getattr(load, outcome)
    for (name, width), run in runs.items():
        seconds = run.pop("seconds")
        figures[f"{name}_{'concurrent' if width > 1 else 'one'}"] = {
            "per_second": round(run["completed"] / run["elapsed"], 1),
            "p50_ms": milliseconds(percentile(seconds, 50)),
            "p99_ms": milliseconds(percentile(seconds, 99)),
            "cpu_ms_per_calculation": round(run["cpu_ms"] / max(1, run["completed"]), 1),
            **{outcome: run[outcome] for outcome in ("completed", "wrong", "lost")},
        }
    return figures
