"""The product as users run it: `python -m local`, spoken to over HTTP like any client would."""

import http.client
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench import ROOT
from bench.cold import probe
from bench.measure import (
    concurrent_load,
    expected_document,
    latencies,
    milliseconds,
    operands,
    percentile,
)
from bench.probe import ENDPOINTS
from bench.process_cpu import CpuMeter
from local.api_keys import DEFAULT_KEY_NAME, KEYS_FILE, read_keys
from local.banner import READY_LINE, endpoint_urls

POLL_INTERVAL_SECONDS = 0.005
# The throughput of the POST → poll → result flow: clients polling every 100 ms, ten times faster
# than the Retry-After (1 s) the API asks for. At 5 ms the 16 clients' polls, not the
# calculations, fill this 2-core machine (about 25 requests per calculation).
FLOW_POLL_INTERVAL_SECONDS = 0.1
PREFER_WAIT_SECONDS = 10
RESULT_TIMEOUT_SECONDS = 30
READY_TIMEOUT_SECONDS = 60
# Every port 0: the system picks free ones while binding them; the banner names them.
FREE_PORTS = ("--api-port", "0", "--lambda-port", "0", "--dynamodb-port", "0")
# The bench measures the stack, not the usage plan: the local gateway's per-key throttle (25
# requests/s, burst 50, as deployed by default) would cap the throughput figure at 25 calc/s.
UNLIMITED = ("--api-rate", "100000", "--api-burst", "100000", "--api-quota", "100000000")


@dataclass(frozen=True)
class LocalRuntime:
    api_url: str
    lambda_url: str
    dynamodb_url: str
    api_key: str  # the "default" key the runtime created in its data folder
    api_key_id: str
    pid: int  # the runtime process: dynalite and the API workers are its children
    data_dir: Path


def wait_for_banner(process: subprocess.Popen[bytes], log_path: Path) -> str:
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        output = log_path.read_text(errors="replace")
        if READY_LINE in output:
            return output
        if process.poll() is not None:
            raise RuntimeError(f"the local runtime exited ({process.returncode})")
        time.sleep(0.05)
    raise RuntimeError("the local runtime did not become ready")


@contextmanager
def local_runtime(*flags: str) -> Iterator[LocalRuntime]:
    """`python -m local` on free ports with a throw-away data folder; only the flags configure it
    (`flags` adds to the bench's own)."""
    environment = {name: value for name, value in os.environ.items() if not name.startswith("LOCAL_")}
    with tempfile.TemporaryDirectory(prefix="bench-local-") as folder:
        data_dir, log_path = Path(folder) / "data", Path(folder) / "runtime.log"
        command = [sys.executable, "-m", "local", *FREE_PORTS, "--data-dir", str(data_dir), *UNLIMITED]
        command += flags
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=environment
            )
        try:
            urls = endpoint_urls(wait_for_banner(process, log_path))
            key = next(key for key in read_keys(data_dir / KEYS_FILE) if key.name == DEFAULT_KEY_NAME)
            yield LocalRuntime(
                urls["API"], urls["Lambda"], urls["DynamoDB"], key.value, key.id, process.pid, data_dir
            )
        except BaseException:
            print(log_path.read_text(errors="replace")[-4000:], file=sys.stderr)
            raise
        finally:
            process.terminate()
            process.wait(timeout=20)


class Client:
    """One HTTP client (one connection per thread), as a load-test client would be."""

    def __init__(self, base_url: str, api_key: str):
        parts = urlsplit(base_url)
        self.api_key = api_key
        self.host, self.port = parts.hostname, parts.port
        self.local = threading.local()

    def request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], Any]:
        connection = getattr(self.local, "connection", None)
        if connection is None:
            connection = self.local.connection = http.client.HTTPConnection(self.host, self.port, timeout=60)
        payload = None if body is None else json.dumps(body)
        headers = {"Content-Type": "application/json", "x-api-key": self.api_key, **(headers or {})}
        try:
            connection.request(method, path, payload, headers)
            response = connection.getresponse()
            text = response.read()
        except (http.client.HTTPException, ConnectionError):
            connection.close()
            if method != "GET":  # it may have been done: sending it again could start a second one
                raise
            # The server closed a kept-alive connection: a read is safe to send again.
            connection.request(method, path, payload, headers)
            response = connection.getresponse()
            text = response.read()
        if response.getheader("Connection", "").lower() == "close" or response.version == 10:
            connection.close()
        document = json.loads(text) if text else None
        return response.status, {k.lower(): v for k, v in response.getheaders()}, document


def finished_right(document: Any, index: int) -> bool:
    num1, num2 = operands(index)
    return (
        isinstance(document, dict)
        and document.get("status") == "SUCCEEDED"
        and document.get("result") == expected_document(num1, num2)
    )


def poll_until_done(client: Client, location: str) -> Any:
    deadline = time.monotonic() + RESULT_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        status, _, document = client.request("GET", location)
        if status == 200 and document.get("status") != "RUNNING":
            return document
        time.sleep(POLL_INTERVAL_SECONDS)
    raise TimeoutError(f"{location} still running after {RESULT_TIMEOUT_SECONDS} s")


def start(client: Client, index: int, headers: dict[str, str]) -> tuple[int, dict[str, str], Any]:
    """POST one calculation as most clients do: no Idempotency-Key, the API picks the id."""
    num1, num2 = operands(index)
    return client.request("POST", "/calculations", {"num1": num1, "num2": num2}, headers)


def post_then_poll(client: Client, index: int) -> bool:
    status, headers, document = start(client, index, {})
    if status != 202 or "location" not in headers:
        raise RuntimeError(f"POST /calculations answered {status}: {document}")
    return finished_right(poll_until_done(client, headers["location"]), index)


def post_poll_result(client: Client, index: int, throttled: list[int], interval: float) -> bool:
    """The usual flow without Prefer: POST, poll the status until it has ended, GET the result.
    Every 429 answer is counted in `throttled` (and the request sent again after Retry-After)."""
    num1, num2 = operands(index)
    deadline = time.monotonic() + RESULT_TIMEOUT_SECONDS

    def send(method: str, path: str, body: Any = None) -> tuple[int, dict[str, str], Any]:
        while True:
            status, headers, document = client.request(method, path, body)
            if status != 429:
                return status, headers, document
            throttled.append(1)
            if time.monotonic() > deadline:
                raise TimeoutError(f"{path} still throttled after {RESULT_TIMEOUT_SECONDS} s")
            time.sleep(float(headers.get("retry-after", "1")))

    status, headers, document = send("POST", "/calculations", {"num1": num1, "num2": num2})
    if status != 202:
        raise RuntimeError(f"POST /calculations answered {status}: {document}")
    location = headers["location"]
    while document.get("status") == "RUNNING":
        if time.monotonic() > deadline:
            raise TimeoutError(f"{location} still running after {RESULT_TIMEOUT_SECONDS} s")
        time.sleep(interval)
        status, _, document = send("GET", location)
    status, _, result = send("GET", f"{location}/result")
    return status == 200 and result == expected_document(num1, num2)


def post_and_wait(client: Client, index: int) -> bool:
    status, headers, document = start(client, index, {"Prefer": f"wait={PREFER_WAIT_SECONDS}"})
    if status == 202:  # not done within the wait: follow it like any client would
        document = poll_until_done(client, headers["location"])
    elif status != 200:
        raise RuntimeError(f"POST /calculations with Prefer: wait answered {status}: {document}")
    return finished_right(document, index)


def time_to_result(runtime: LocalRuntime, sequential: int) -> dict[str, Any]:
    client = Client(runtime.api_url, runtime.api_key)
    for index in range(10):  # every API worker process imports the API on its first event
        post_and_wait(client, index)
    figures: dict[str, Any] = {"sequential": sequential, "poll_interval_ms": POLL_INTERVAL_SECONDS * 1000}
    for label, call in (("poll", post_then_poll), ("prefer_wait", post_and_wait)):
        seconds, wrong = latencies(lambda i, call=call: call(client, i), sequential)
        figures[f"{label}_p50_ms"] = milliseconds(percentile(seconds, 50))
        figures[f"{label}_p99_ms"] = milliseconds(percentile(seconds, 99))
        figures[f"{label}_wrong"] = wrong
    return figures


def throughput(runtime: LocalRuntime, total: int, clients: int) -> dict[str, Any]:
    """Steady state: the local API starts one process per concurrent request (as Lambda starts an
    environment), so a first, unmeasured round at the same concurrency warms every one of them."""
    client = Client(runtime.api_url, runtime.api_key)
    warm_up = concurrent_load(lambda i: post_and_wait(client, i), 4 * clients, clients)
    meter = CpuMeter.begin(runtime.pid)
    load = concurrent_load(lambda i: post_and_wait(client, i), total, clients)
    return {
        "cpu_ms_per_calculation": meter.per_calculation(load.completed),
        "n": total,
        "clients": clients,
        "per_second": load.per_second,
        "completed": load.completed,
        "wrong": load.wrong,
        "lost": load.lost,
        "elapsed_s": round(load.elapsed_seconds, 2),
        "warm_up_lost_or_wrong": warm_up.lost + warm_up.wrong,
    }


def flow_throughput(runtime: LocalRuntime, total: int, clients: int) -> dict[str, Any]:
    """The POST → poll → result flow from many clients, with the runtime enforcing AWS's default
    control-plane rates (as it does unless told otherwise): any read that needed the control plane
    would be throttled here, and show as 429s."""
    client = Client(runtime.api_url, runtime.api_key)
    throttled: list[int] = []
    load = concurrent_load(
        lambda i: post_poll_result(client, i, throttled, FLOW_POLL_INTERVAL_SECONDS), total, clients
    )
    return {
        "n": total,
        "clients": clients,
        "poll_interval_ms": FLOW_POLL_INTERVAL_SECONDS * 1000,
        "per_second": load.per_second,
        "completed": load.completed,
        "wrong": load.wrong,
        "lost": load.lost,
        "throttled": len(throttled),
        "elapsed_s": round(load.elapsed_seconds, 2),
    }


def control_plane_calls(runtime: LocalRuntime) -> dict[str, dict[str, Any]]:
    """Lambda control-plane and DynamoDB calls per request, per endpoint, in a fresh API container
    (cold) and a warm one, and for the whole POST → poll → result flow in cold containers.

    Each is measured in its own fresh process running the API code against the runtime's
    endpoints, with a botocore hook counting every call; the reads are of a finished calculation.
    """
    client = Client(runtime.api_url, runtime.api_key)
    status, _, document = start(client, 0, {"Prefer": f"wait={PREFER_WAIT_SECONDS}"})
    if status != 200 or document.get("status") != "SUCCEEDED":
        raise RuntimeError(f"could not finish a calculation to read: {status} {document}")
    environment = {
        "AWS_ENDPOINT_URL_LAMBDA": runtime.lambda_url,
        "AWS_ENDPOINT_URL_DYNAMODB": runtime.dynamodb_url,
    }
    counts = {}
    for endpoint in ENDPOINTS:
        counts[endpoint] = probe(
            "calls", endpoint, document["id"], runtime.api_key_id, environment=environment
        )
    counts["flow"] = probe("flow", runtime.api_key_id, environment=environment)
    return counts
