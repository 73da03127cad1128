"""Start and stop `python -m local` (the entry point `make run` uses) as a real subprocess."""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path
from urllib.parse import urlsplit

import boto3
from botocore.config import Config

from local.api_keys import KEYS_FILE, ApiKey, read_keys
from local.banner import READY_LINE, endpoint_urls

REPO_ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT_SECONDS = 60
PORT_IN_USE = "is already in use"
# The endpoints the banner names (by the first word of their line) and the flag that sets each port.
PORT_FLAGS = {"API": "--api-port", "Lambda": "--lambda-port", "DynamoDB": "--dynamodb-port"}


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


def function_path() -> str:
    """The function folders as PYTHONPATH (pyproject's list), as `make` runs the scripts and the bench."""
    with (REPO_ROOT / "pyproject.toml").open("rb") as file:
        folders = tomllib.load(file)["tool"]["pytest"]["ini_options"]["pythonpath"]
    return os.pathsep.join(str(REPO_ROOT / folder) for folder in folders)


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


class PortTaken(RuntimeError):
    """Start-up stopped because a port this runtime asked for is held by another process."""


class LocalRuntime:
    """One `python -m local` process on a given data folder; its output goes to a log.

    The first start asks for port 0 everywhere, so the operating system picks free ports while
    binding them (no window in which another process can take a port chosen beforehand); the
    bound ports are read from the banner. Later starts ask for those same ports, so URLs held by
    clients stay valid across a restart. Between a stop and the next start another process can
    take one of them, or a child of the stopped runtime can still be letting go of its port: such
    a start is retried once, after a second, on the same ports, and then fails with the output.
    """

    def __init__(
        self, data_dir: Path, log_path: Path, *extra_args: str, environment: dict[str, str] | None = None
    ) -> None:
        self.data_dir = data_dir
        self.log_path = log_path
        self.extra_args = extra_args
        self.environment = environment or {}
        self.urls: dict[str, str] = {}
        self.process: subprocess.Popen[bytes] | None = None
        self._log_start = 0  # where this run's output begins in the log (earlier runs come before)

    @property
    def api_url(self) -> str:
        return self.urls["API"]

    @property
    def lambda_url(self) -> str:
        return self.urls["Lambda"]

    def api_key(self, name: str = "default") -> str:
        """The value of the API key called `name` in the data folder (created at start-up)."""
        return self.key(name).value

    def key(self, name: str = "default") -> ApiKey:
        """The API key called `name` in the data folder (created at start-up): its id and value."""
        keys = [key for key in read_keys(self.data_dir / KEYS_FILE) if key.name == name]
        assert keys, f"no API key named {name!r} in {self.data_dir / KEYS_FILE}"
        return keys[0]

    def start(self) -> LocalRuntime:
        try:
            self._launch()
        except PortTaken:
            time.sleep(1)
            self._launch()
        return self

    def _launch(self) -> None:
        ports = [
            argument
            for label, flag in PORT_FLAGS.items()
            for argument in (flag, str(urlsplit(self.urls[label]).port) if label in self.urls else "0")
        ]
        command = [
            sys.executable,
            "-m",
            "local",
            *ports,
            "--data-dir",
            str(self.data_dir),
            *self.extra_args,
        ]
        with self.log_path.open("ab") as log:
            self._log_start = log.tell()
            self.process = subprocess.Popen(
                command,
                cwd=REPO_ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=child_environment() | self.environment,
            )
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            output = self.run_output()
            if READY_LINE in output:
                self.urls = self.urls or endpoint_urls(output)
                return
            if self.process is not None and self.process.poll() is not None:
                failure = PortTaken if PORT_IN_USE in output else RuntimeError
                raise failure(f"the local runtime exited ({self.process.returncode}):\n{output}")
            time.sleep(0.05)
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
