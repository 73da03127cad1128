"""The calculations table's local twin: dynalite, a DynamoDB-compatible server on LevelDB.

dynalite 4.0.0 is pinned in package.json and installed by `make run` (`npm ci --omit=dev`).
The runtime starts it as a child process (`node node_modules/dynalite/cli.js`), waits until it
listens, creates the table if it is missing, and stops it when the runtime stops. Its data live
under `<data-dir>/dynamodb`: every acknowledged write is in LevelDB's log, in the operating
system's cache, so a killed runtime loses none. With `--store memory` it keeps them in memory.

The twin is supervised: when dynalite exits while the runtime runs (a crash, a SIGKILL), the
runtime logs it and starts it again, after a growing pause, on the same data folder and the same
port, so the URL the functions were given stays valid and the API recovers by itself; meanwhile
the API's calls fail fast and it answers 503 with Retry-After. After RESTART_ATTEMPTS failures in
a row (or a start that LevelDB refuses as corrupt) it gives up and the runtime exits with one line.
A dynalite ended by a signal from outside (a kill, the OOM killer) did not fail: however often it
happens, the count starts again and it is restarted.
Before every start the LevelDB folder is checked (local/damaged_state.py); a dynalite that exits
on LevelDB's `Corruption` is not restarted (it would meet the same file): the runtime exits with a
line naming the folder. dynalite runs under umask 077: its files are the user's only.

The child never outlives the runtime: it has its own session (a Ctrl-C in the terminal reaches the
runtime, which stops it in order), and `parent_watch.cjs` ends it once its stdin closes, which
the kernel does when the runtime ends, by SIGKILL too.

`dynalite_fixes.cjs`, preloaded the same way, makes dynalite close the LevelDB iterator of every
Query, Scan and ListTables once it is read: left open, they kept LevelDB from reclaiming the
versions and table files compaction replaced, and the folder grew with every write.

dynalite answers `UnknownOperationException` to UpdateTimeToLive: locally items never expire.
"""

from __future__ import annotations

import contextlib
import logging
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from local import hosted_function
from local.addresses import local_url
from local.damaged_state import DamagedStateError, check_table_folder, leveldb_corruption, table_damaged
from local.environment import starting_process
from local.hosted_function import TABLE_NAME

logger = logging.getLogger("local.dynamodb")

REPO_ROOT = Path(__file__).resolve().parent.parent
DYNALITE_CLI = REPO_ROOT / "node_modules" / "dynalite" / "cli.js"
PARENT_WATCH = Path(__file__).with_name("parent_watch.cjs")
DYNALITE_FIXES = Path(__file__).with_name("dynalite_fixes.cjs")
DATA_FOLDER = "dynamodb"
START_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 5.0
PORT_ATTEMPTS = 5
RESTART_ATTEMPTS = 5  # in a row: pauses of 0.5, 1, 2, 4 and 8 s, about 15 s down before giving up
FIRST_RESTART_SECONDS = 0.5
STABLE_SECONDS = 30.0  # a dynalite that ran this long before it exited starts the count again
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

    def __init__(
        self,
        host: str,
        port: int,
        data_dir: Path | None,
        tables: dict[str, dict[str, Any]],
        on_give_up: Callable[[], None] = lambda: None,
    ) -> None:
        """`tables`: each table's name and its keys and indexes (calculation_records.KEY_SCHEMA and
        webhook_records.KEY_SCHEMA, in the layer), created at each start when missing.

        `on_give_up()` is called once dynalite cannot be restarted; `failure` then says why.
        """
        self.host = host
        self.tables = tables
        self.port = port
        self.path = data_dir / DATA_FOLDER if data_dir is not None else None
        self.process: subprocess.Popen[str] | None = None
        self.url = ""
        self._listening = threading.Event()
        self._output: list[str] = []
        self.start_seconds = 0.0
        self.failure = ""
        self._on_give_up = on_give_up
        self._stopping = threading.Event()
        self._process_lock = threading.Lock()  # a restart and the stop take turns on the process
        self._node = ""
        self._reader: threading.Thread | None = None  # reads the output of the latest dynalite
        self._killed_while_starting = False  # the last start failed because a signal ended it

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
        self._node = node
        if self.path is not None:
            self.path.mkdir(mode=0o700, parents=True, exist_ok=True)
        started = time.monotonic()
        try:
            check_table_folder(self.path) if self.path is not None else None
            # dynalite reads `--port 0` as its default port: "any free one" is chosen here, and
            # chosen again in the rare case another process takes it before dynalite binds it.
            for _ in range(PORT_ATTEMPTS if self.port == 0 else 1):
                port = self.port or _free_port(self.host)
                if self._launch(port):
                    break
            else:
                raise TwinError(self._start_failure(port))
            self._ready()
        except DamagedStateError as error:
            raise TwinError(str(error)) from error
        self.start_seconds = time.monotonic() - started
        logger.info("dynalite ready in %.2f s at %s", self.start_seconds, self.url)
        threading.Thread(target=self._supervise, name="dynalite-supervisor", daemon=True).start()
        return self.url

    def _ready(self) -> None:
        """Create the table if missing; a corruption LevelDB reported meanwhile raises DamagedStateError."""
        try:
            self.ensure_tables()
        except (BotoCoreError, ClientError) as error:
            # A dynalite that met a damaged file exits: its last lines say so.
            if self._reader is not None:
                self._reader.join(timeout=STOP_TIMEOUT_SECONDS)
            self._raise_if_corrupt()
            raise TwinError(f"dynalite failed as it started: {error}") from error
        self._raise_if_corrupt()

    def _raise_if_corrupt(self) -> None:
        if self.path is not None and (line := leveldb_corruption(self._output)):
            self._end_process()
            raise table_damaged(self.path, f"LevelDB: {line}")

    def holds_items(self) -> bool:
        """Whether the table holds any item."""
        page = dynamodb_client(self.url).scan(TableName=TABLE_NAME, Select="COUNT", Limit=1)
        return page["Count"] > 0

    def _supervise(self) -> None:
        """Wait for dynalite to exit; unless the runtime is stopping, start it again on the same port."""
        failures = 0
        while True:
            process = self.process
            assert process is not None
            launched = time.monotonic()
            code = process.wait()
            if self._stopping.is_set():
                return
            if self._reader is not None:
                self._reader.join(timeout=STOP_TIMEOUT_SECONDS)
            if self.path is not None and (line := leveldb_corruption(self._output)):
                # Restarting would meet the same damaged file: stop, and say which folder it is in.
                self._give_up(str(table_damaged(self.path, f"LevelDB: {line}")))
                return
            stable = time.monotonic() - launched >= STABLE_SECONDS
            failures = 1 if stable or _by_signal(code) else failures + 1
            logger.error("dynalite %s; the API answers 503 until it is back", _ending(code))
            while True:
                if failures > RESTART_ATTEMPTS:
                    self._give_up(
                        f"dynalite exited and could not be restarted in {RESTART_ATTEMPTS} attempts"
                        f"{self._restart_failure()}. The table's data are kept in {self.path or 'memory'}."
                    )
                    return
                delay = FIRST_RESTART_SECONDS * 2 ** (failures - 1)
                logger.warning(
                    "restarting dynalite in %.1f s (attempt %d of %d)", delay, failures, RESTART_ATTEMPTS
                )
                if self._stopping.wait(delay):
                    return
                try:
                    if self._restart():
                        break
                except DamagedStateError as error:
                    self._give_up(str(error))
                    return
                failures = 1 if self._killed_while_starting else failures + 1
            logger.warning("dynalite restarted at %s", self.url)

    def _restart(self) -> bool:
        """One restart on the same data and port; True once it serves the table again."""
        if self.path is not None:
            check_table_folder(self.path)
        with self._process_lock:
            if self._stopping.is_set() or not self._launch(self.port):
                return False
        try:
            self._ready()
        except TwinError as error:
            logger.warning("%s", error)
            self._killed_while_starting = self.process is not None and _by_signal(self.process.poll())
            self._end_process()
            return False
        if self.path is None:
            logger.warning("dynalite kept the table in memory: it starts again empty")
        return True

    def _restart_failure(self) -> str:
        """Why the last restart failed, as a clause, when it is known (its output is logged)."""
        if any("EADDRINUSE" in line for line in self._output):
            return f": port {self.port} on {self.host} is taken by another process"
        return ""

    def _give_up(self, reason: str) -> None:
        self.failure = reason
        logger.error("%s", reason)
        self._on_give_up()

    def _launch(self, port: int) -> bool:
        """Start dynalite on `port`; True once it listens, False if it exited or did not start in time."""
        command = [self._node, "--require", str(PARENT_WATCH), "--require", str(DYNALITE_FIXES)]
        command += [str(DYNALITE_CLI), "--host", self.host, "--port", str(port), "--createTableMs", "0"]
        if self.path is not None:
            command += ["--path", str(self.path)]
        self._output.clear()
        self._listening.clear()
        with starting_process():
            self.process = subprocess.Popen(
                command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                start_new_session=True,
                umask=0o077,
            )
        self._reader = threading.Thread(target=self._read_output, args=(self.process,), daemon=True)
        self._reader.start()
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        self._killed_while_starting = False
        while not self._listening.wait(0.05):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self._killed_while_starting = _by_signal(self.process.returncode)
                self._end_process()
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

    def ensure_tables(self) -> None:
        """Create each table unless it exists, and wait until they are ACTIVE."""
        client = dynamodb_client(self.url)
        existing = client.list_tables()["TableNames"]
        for name, schema in self.tables.items():
            if name not in existing:
                client.create_table(TableName=name, BillingMode="PAY_PER_REQUEST", **schema)
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        for name in self.tables:
            while client.describe_table(TableName=name)["Table"]["TableStatus"] != "ACTIVE":
                if time.monotonic() > deadline:
                    raise TwinError(f"the table {name} did not become ACTIVE")
                time.sleep(0.05)

    def stop(self) -> None:
        """Stop supervising and end dynalite."""
        self._stopping.set()
        with self._process_lock:
            self._end_process()

    def _end_process(self) -> None:
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


def _by_signal(code: int | None) -> bool:
    """Whether a process that ended with `code` was ended by a signal (Popen's negative codes)."""
    return code is not None and code < 0


def _ending(code: int) -> str:
    """How dynalite ended, for the log."""
    if _by_signal(code):
        with contextlib.suppress(ValueError):
            return f"was ended by {signal.Signals(-code).name}"
        return f"was ended by signal {-code}"
    return f"exited (code {code})"
