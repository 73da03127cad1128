"""Completion webhooks on the local runtime: how soon the first attempt follows a calculation's
end, and what a SIGKILL during a retry wait loses. A receiver on 127.0.0.1 records each request."""

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from bench import ROOT
from bench.measure import percentile
from bench.stack import FREE_PORTS, UNLIMITED, Client, wait_for_banner
from local.api_keys import DEFAULT_KEY_NAME, KEYS_FILE, read_keys
from local.banner import endpoint_urls

RECEIPT_TIMEOUT_SECONDS = 30
# The wait before the second attempt in the SIGKILL run: long enough to kill the runtime during it.
KILL_SCHEDULE = "0,4"
POLL_SECONDS = 1  # how often a polling client asks, as the API's Retry-After says
SLOW_CALCULATION_SECONDS = 3


class Receiver:
    """Records (wall time, webhook-id, body) of every POST; answers 200."""

    def __init__(self, port: int = 0) -> None:
        self.received: list[tuple[float, str, dict[str, Any]]] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with receiver.lock:
                    receiver.received.append((time.time(), self.headers["webhook-id"], body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def wait_for(self, count: int) -> None:
        deadline = time.monotonic() + RECEIPT_TIMEOUT_SECONDS
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.005)


class Runtime:
    """`python -m local` that can be killed and started again on the same ports and data."""

    def __init__(self, folder: Path, schedule: str | None) -> None:
        self.data_dir, self.log_path = folder / "data", folder / "runtime.log"
        self.environment = {
            name: value for name, value in os.environ.items() if not name.startswith("LOCAL_")
        }
        if schedule:
            self.environment["WEBHOOK_RETRY_SCHEDULE"] = schedule
        self.ports = list(FREE_PORTS)
        self.process: subprocess.Popen[bytes] | None = None
        self.api: Client | None = None

    def start(self) -> "Runtime":
        self.log_path.write_bytes(b"")
        command = [sys.executable, "-m", "local", *self.ports, "--data-dir", str(self.data_dir), *UNLIMITED]
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=self.environment
            )
        urls = endpoint_urls(wait_for_banner(self.process, self.log_path))
        self.ports = [
            "--api-port", urls["API"].rsplit(":", 1)[1],
            "--lambda-port", urls["Lambda"].rsplit(":", 1)[1],
            "--dynamodb-port", urls["DynamoDB"].rsplit(":", 1)[1],
        ]  # fmt: skip
        key = next(key for key in read_keys(self.data_dir / KEYS_FILE) if key.name == DEFAULT_KEY_NAME)
        self.api = Client(urls["API"], key.value)
        return self

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=20)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)


@contextmanager
def runtime(schedule: str | None = None) -> Iterator[Runtime]:
    with tempfile.TemporaryDirectory(prefix="bench-webhooks-") as folder:
        started = Runtime(Path(folder), schedule).start()
        try:
            yield started
        finally:
            started.stop()


def register(api: Client, port: int) -> str:
    status, _, endpoint = api.request("POST", "/webhooks", {"url": f"http://127.0.0.1:{port}/"})
    assert status == 201, endpoint
    return endpoint["id"]


def first_attempt_latency(n: int) -> dict[str, Any]:
    """Seconds from each calculation's end (its endedAt) to its event at the receiver, one at a time."""
    receiver = Receiver()
    try:
        with runtime() as local:
            assert local.api is not None
            register(local.api, receiver.port)
            latencies = []
            for index in range(n):
                status, _, _ = local.api.request("POST", "/calculations", {"num1": index, "num2": 1})
                assert status in (200, 202)
                receiver.wait_for(index + 1)
                arrived, _, event = receiver.received[index]
                ended = datetime.fromisoformat(event["data"]["endedAt"].replace("Z", "+00:00"))
                latencies.append((arrived - ended.timestamp()) * 1000)
    finally:
        receiver.close()
    return {
        "n": n,
        "received": len(receiver.received),
        "p50_ms": round(percentile(latencies, 50), 1),
        "p99_ms": round(percentile(latencies, 99), 1),
        "requests_with_webhook": 1,
        "requests_polling": 1 + SLOW_CALCULATION_SECONDS // POLL_SECONDS,
    }


def sigkill_during_wait(n: int) -> dict[str, Any]:
    """n deliveries refused once, the runtime SIGKILLed during their wait, the receiver up, a restart."""
    probe = Receiver()  # a free port, closed again at once: the first attempts are refused
    port = probe.port
    probe.close()
    with runtime(KILL_SCHEDULE) as local:
        assert local.api is not None
        endpoint = register(local.api, port)
        for index in range(n):
            local.api.request("POST", "/calculations", {"num1": index, "num2": 1})
        deadline = time.monotonic() + RECEIPT_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            _, _, page = local.api.request("GET", f"/webhooks/{endpoint}/deliveries")
            if len([d for d in page["items"] if d["attempts"]]) >= n:
                break
            time.sleep(0.05)
        local.kill()
        receiver = Receiver(port)
        try:
            local.start()
            receiver.wait_for(n)
            time.sleep(KILL_SCHEDULE.count(",") + 2)  # any duplicate would come within this
            ids = [message_id for _, message_id, _ in receiver.received]
        finally:
            receiver.close()
    return {
        "n": n,
        "delivered": len(set(ids)),
        "lost": n - len(set(ids)),
        "duplicates": len(ids) - len(set(ids)),
    }
