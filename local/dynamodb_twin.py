"""The calculations table's local twin: dynalite, a DynamoDB-compatible server on LevelDB.

dynalite 4.0.0 is pinned in package.json and installed by `make run` (`npm ci --omit=dev`).
The runtime starts it as a child process (`node node_modules/dynalite/cli.js`), waits until it
listens, creates the table if it is missing, and stops it when the runtime stops. Its data live
under `<data-dir>/dynamodb`: every acknowledged write is in LevelDB's log, in the operating
system's cache, so a killed runtime loses none. With `--store memory` it keeps them in memory.

The child never outlives the runtime: it has its own session (a Ctrl-C in the terminal reaches the
runtime, which stops it in order), and `parent_watch.cjs` ends it once its stdin closes, which
the kernel does when the runtime ends, by SIGKILL too.

dynalite answers `UnknownOperationException` to UpdateTimeToLive: locally items never expire.
"""

from __future__ import annotations

import logging
import re
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from local import hosted_function
from local.addresses import local_url
from local.hosted_function import TABLE_NAME

logger = logging.getLogger("local.dynamodb")

REPO_ROOT = Path(__file__).resolve().parent.parent
DYNALITE_CLI = REPO_ROOT / "node_modules" / "dynalite" / "cli.js"
PARENT_WATCH = Path(__file__).with_name("parent_watch.cjs")
DATA_FOLDER = "dynamodb"
START_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 5.0
PORT_ATTEMPTS = 5
_LISTENING = re.compile(r"Dynalite listening at: https?://[^:]+:(?P<port>\d+)")


def _free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


class TwinError(Exception):
    """dynalite cannot start: the message says why and what to do."""


def dynamodb_client(endpoint_url: str):
    """A low-level DynamoDB client for the twin, with the runtime's dummy credentials."""
    return boto3.client(
        "dynamodb",
        endpoint_url=endpoint_url,
        region_name=hosted_function.REGION,
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=2, read_timeout=10),
    )


class DynamoDBTwin:
    """One dynalite process on `host:port` (0: any free one), its data in `data_dir` (None: in memory)."""

    def __init__(self, host: str, port: int, data_dir: Path | None, key_schema: dict[str, Any]) -> None:
        """`key_schema`: the table's keys and indexes (calculation_records.KEY_SCHEMA, in the layer)."""
        self.host = host
        self.key_schema = key_schema
        self.port = port
        self.path = data_dir / DATA_FOLDER if data_dir is not None else None
        self.process: subprocess.Popen[str] | None = None
        self.url = ""
        self._listening = threading.Event()
        self._output: list[str] = []
        self.start_seconds = 0.0

    def start(self) -> str:
        """Start dynalite, wait until it listens and create the table if missing; returns its URL."""
        node = shutil.which("node")
        if node is None:
            raise TwinError("the DynamoDB twin needs Node.js 20 or newer on PATH (node not found).")
        if not DYNALITE_CLI.exists():
            raise TwinError(
                f"dynalite is not installed ({DYNALITE_CLI} is missing): run `make run`, "
                "or `npm ci --omit=dev` in the repository."
            )
        if self.path is not None:
            self.path.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        # dynalite reads `--port 0` as its default port: "any free one" is chosen here, and chosen
        # again in the rare case another process takes it before dynalite binds it.
        for _ in range(PORT_ATTEMPTS if self.port == 0 else 1):
            port = self.port or _free_port(self.host)
            if self._launch(node, port):
                break
        else:
            raise TwinError(self._start_failure(port))
        self.ensure_table()
        self.start_seconds = time.monotonic() - started
        logger.info("dynalite ready in %.2f s at %s", self.start_seconds, self.url)
        return self.url

    def _launch(self, node: str, port: int) -> bool:
        """Start dynalite on `port`; True once it listens, False if it exited or did not start in time."""
        command = [node, "--require", str(PARENT_WATCH), str(DYNALITE_CLI)]
        command += ["--host", self.host, "--port", str(port), "--createTableMs", "0"]
        if self.path is not None:
            command += ["--path", str(self.path)]
        self._output.clear()
        self._listening.clear()
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        threading.Thread(target=self._read_output, args=(self.process,), daemon=True).start()
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not self._listening.wait(0.05):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                return False
        return True

    def _read_output(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            line = line.rstrip()
            if not self._listening.is_set() and (match := _LISTENING.search(line)):
                self.port = int(match["port"])
                self.url = local_url((self.host, self.port))
                self._listening.set()
            elif line:
                self._output.append(line)
                logger.info("dynalite: %s", line)

    def _start_failure(self, port: int) -> str:
        output = "\n".join(self._output[-20:])
        if "EADDRINUSE" in output:
            return (
                f"port {port} on {self.host} is already in use, so the DynamoDB endpoint cannot start.\n"
                "Stop whatever holds it, or choose another port with --dynamodb-port."
            )
        return f"dynalite did not start within {START_TIMEOUT_SECONDS:.0f} s:\n{output}"

    def ensure_table(self) -> None:
        """Create the calculations table unless it exists, and wait until it is ACTIVE."""
        client = dynamodb_client(self.url)
        if TABLE_NAME not in client.list_tables()["TableNames"]:
            client.create_table(TableName=TABLE_NAME, BillingMode="PAY_PER_REQUEST", **self.key_schema)
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while client.describe_table(TableName=TABLE_NAME)["Table"]["TableStatus"] != "ACTIVE":
            if time.monotonic() > deadline:
                raise TwinError(f"the table {TABLE_NAME} did not become ACTIVE")
            time.sleep(0.05)

    def stop(self) -> None:
        """Close dynalite's stdin (it exits at once), then wait for it; kill it if it lingers."""
        if self.process is None:
            return
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
