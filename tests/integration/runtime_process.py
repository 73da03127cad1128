"""Start and stop `python -m local` (the entry point `make run` uses) as a real subprocess."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import boto3
import requests
from botocore.config import Config

REPO_ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT_SECONDS = 60


def local_lambda_client(url: str, read_timeout: int = 60):
    """boto3's Lambda client, as the API function uses it, pointed at a local Lambda endpoint.

    One attempt only, so that no retry hides an error the test should see.
    """
    return boto3.client(
        "lambda",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=Config(
            retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=2, read_timeout=read_timeout
        ),
    )


def child_environment() -> dict[str, str]:
    """This environment without the developer's LOCAL_* settings: the flags alone configure the runtime."""
    return {name: value for name, value in os.environ.items() if not name.startswith("LOCAL_")}


def raw_request(
    url: str, method: str, path: str, headers: dict[str, str], body: bytes = b""
) -> tuple[int, http.client.HTTPMessage, bytes]:
    """Send exactly these headers, which HTTP clients would correct (a negative Content-Length, say).

    Returns the answer's status, headers and body.
    """
    connection = http.client.HTTPConnection(urlsplit(url).netloc, timeout=10)
    try:
        connection.putrequest(method, path, skip_accept_encoding=True)
        for name, value in headers.items():
            connection.putheader(name, value)
        connection.endheaders(body)
        response = connection.getresponse()
        return response.status, response.headers, response.read()
    finally:
        connection.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class LocalRuntime:
    """One `python -m local` process on free ports and a given data folder; its output goes to a log."""

    def __init__(self, data_dir: Path, log_path: Path, *extra_args: str) -> None:
        self.data_dir = data_dir
        self.log_path = log_path
        self.extra_args = extra_args
        self.api_port = free_port()
        self.lambda_port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self._log_start = 0  # where this run's output begins in the log (earlier runs come before)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def lambda_url(self) -> str:
        return f"http://127.0.0.1:{self.lambda_port}"

    def start(self) -> LocalRuntime:
        command = [
            sys.executable,
            "-m",
            "local",
            "--api-port",
            str(self.api_port),
            "--lambda-port",
            str(self.lambda_port),
            "--data-dir",
            str(self.data_dir),
            *self.extra_args,
        ]
        with self.log_path.open("ab") as log:
            self._log_start = log.tell()
            self.process = subprocess.Popen(
                command, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT, env=child_environment()
            )
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        probe = f"{self.lambda_url}/2025-12-01/functions/math-durable/durable-executions?MaxItems=1"
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(
                    f"the local runtime exited ({self.process.returncode}):\n{self.run_output()}"
                )
            try:
                if requests.get(probe, timeout=2).status_code == 200 and "Ctrl-C" in self.run_output():
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"the local runtime did not become ready:\n{self.run_output()}")

    def output(self) -> str:
        """Everything in the log: the output of every start so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def run_output(self) -> str:
        """The output of the latest start only."""
        if not self.log_path.exists():
            return ""
        with self.log_path.open("rb") as log:
            log.seek(self._log_start)
            return log.read().decode(errors="replace")

    def stop(self) -> int:
        """SIGTERM, as Ctrl-C or a service manager would; returns the exit code."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as when a machine loses power."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=20)
