"""Where the runtime keeps executions: in memory for every read, written through to SQLite.

The testing package's `SQLiteExecutionStore` opens a connection, sets the journal mode and
parses the whole execution on every load, and the executor loads an execution some twenty times
per calculation. This store answers loads, lists and queries from memory, without a lock, and
`save` returns only once the execution is committed to SQLite, one save at a time on one
connection: a process killed at any moment loses nothing it had acknowledged. It keeps the
package's schema, so a data folder either store wrote opens in the other, and it reads every
execution back at start-up, which is what the resume needs.

The store is also the status-change events' outbox. A save that creates an execution puts its
RUNNING event in the `status_outbox` table, and the save that ends it puts its end, in the same
transaction as the execution's row: an execution's state is never committed without the event it
causes. The bus (local/status_events.py) takes an event out only once the projector accepted it,
and the next runtime delivers whatever is left (a process killed before delivery loses nothing).

(Measured on 2 cores: committing concurrent saves in groups, from a writer thread or by the
first waiting save, ran no faster over HTTP than this, and slowed clients that poll.)

WAL with `synchronous=NORMAL`: every commit is in the write-ahead log, in the operating system's
cache, before `save` returns, so a killed process loses nothing; only a crash of the machine
itself can undo the last commits (the database stays consistent). That is durable enough for a
runtime on a developer's machine, and it saves an fsync per commit.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aws_durable_execution_sdk_python_testing.exceptions import ResourceNotFoundException
from aws_durable_execution_sdk_python_testing.execution import Execution
from aws_durable_execution_sdk_python_testing.stores.base import BaseExecutionStore
from aws_durable_execution_sdk_python_testing.stores.sqlite import SQLiteExecutionStore

from local.damaged_state import check_store_file, store_damaged
from local.status_events import status_event

logger = logging.getLogger("local.store")

# An update in place: `INSERT OR REPLACE` would delete the row and rewrite every index entry, 3x slower.
_UPSERT = (
    "INSERT INTO executions (durable_execution_arn, function_name, execution_name, status,"
    " start_timestamp, end_timestamp, data) VALUES (?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (durable_execution_arn) DO UPDATE SET status = excluded.status,"
    " start_timestamp = excluded.start_timestamp, end_timestamp = excluded.end_timestamp,"
    " data = excluded.data"
)

_OUTBOX_TABLE = "CREATE TABLE IF NOT EXISTS status_outbox (id TEXT PRIMARY KEY, event TEXT NOT NULL)"
_OUTBOX_PUT = "INSERT INTO status_outbox (id, event) VALUES (?, ?)"

Event = dict[str, Any]
EventListener = Callable[[Event], None]


class StoreClosedError(RuntimeError):
    """A save after `close`: the runtime is stopping and the database is no longer written."""


def _row(execution: Execution) -> tuple[object, ...]:
    """The package's columns for one execution."""
    started = execution.operations[0] if execution.operations else None
    start_timestamp = started.start_timestamp if started else None
    end_timestamp = started.end_timestamp if started else None
    return (
        execution.durable_execution_arn,
        execution.start_input.function_name,
        execution.start_input.execution_name,
        execution.current_status().value,
        start_timestamp.timestamp() if start_timestamp else None,
        end_timestamp.timestamp() if end_timestamp else None,
        json.dumps(execution.to_json_dict()),
    )


def announced_status(ended_before: bool | None, execution: Execution) -> str | None:
    """The status a save of `execution` announces, if any: RUNNING when it is new, its end when it ends.

    `ended_before`: whether the execution was ended at its previous save (None: never saved).
    """
    if execution.is_complete:
        return None if ended_before else execution.current_status().value
    return "RUNNING" if ended_before is None else None


class WriteThroughStore(BaseExecutionStore):
    """Executions by ARN in memory; with a database, every save is committed there before it returns.

    Loads hand out the stored object itself, as the package's in-memory store does: the executor
    runs each execution's operations one at a time on its own lane, and `Execution` guards its
    state with its own lock. Reads take no lock: a dict read is atomic.
    """

    def __init__(self, database: Path | None = None, *, status_events: bool = True) -> None:
        """`database` None keeps executions in memory only (lost when the process ends); without
        `status_events`, its saves put no event in the outbox."""
        self._status_events = status_events
        self._executions: dict[str, Execution] = {}
        self._by_name: dict[tuple[str, str | None], str] = {}
        # Whether each execution was ended at its last save: what the next save announces.
        self._ended: dict[str, bool] = {}
        self._outbox: dict[str, Event] = {}  # events not yet delivered, by id, oldest first
        self._listener: EventListener | None = None
        self._connection: sqlite3.Connection | None = None
        self._write_lock = threading.Lock()  # saves take turns on the connection and the outbox
        self._closed = False
        if database is not None:
            self._open(database)

    def _open(self, database: Path) -> None:
        """Open (or create) the database; a damaged one raises DamagedStateError, changed in nothing."""
        check_store_file(database)
        if not database.exists():
            # The user's only; SQLite gives its -wal and -shm files the same mode.
            os.close(os.open(database, os.O_CREAT | os.O_WRONLY, 0o600))
        try:
            # Used by one thread at a time, under the write lock.
            self._connection = sqlite3.connect(database, timeout=30.0, check_same_thread=False)
            self._connection.execute("PRAGMA journal_mode=WAL")
            self._connection.execute("PRAGMA synchronous=NORMAL")
            # Reads every page's structure once (not each row's contents): a truncated file fails here.
            problems = [row[0] for row in self._connection.execute("PRAGMA quick_check")]
        except sqlite3.DatabaseError as error:
            raise store_damaged(database, str(error)) from error
        if problems != ["ok"]:
            # Each problem is a few lines, the first naming the database: one line, naming the pages.
            lines = [
                line for problem in problems for line in problem.splitlines() if not line.startswith("***")
            ]
            raise store_damaged(database, "; ".join(lines[:3]))
        # The package's own initialisation creates its table and indexes if they are missing.
        SQLiteExecutionStore.create_and_initialize(database)
        with self._connection:
            self._connection.execute(_OUTBOX_TABLE)
        self._load_all()

    def _load_all(self) -> None:
        assert self._connection is not None
        rows = self._connection.execute(
            "SELECT durable_execution_arn, data FROM executions ORDER BY start_timestamp, rowid"
        ).fetchall()
        for arn, data in rows:
            try:
                execution = Execution.from_json_dict(json.loads(data))
            except (ValueError, KeyError, TypeError) as error:
                logger.warning("skipping unreadable execution %s: %s", arn, error)
                continue
            self._remember(execution)
        for event_id, event in self._connection.execute("SELECT id, event FROM status_outbox ORDER BY rowid"):
            self._outbox[event_id] = json.loads(event)

    def _remember(self, execution: Execution) -> None:
        self._executions[execution.durable_execution_arn] = execution
        self._ended[execution.durable_execution_arn] = execution.is_complete
        key = (execution.start_input.function_name, execution.start_input.execution_name)
        self._by_name[key] = execution.durable_execution_arn

    def save(self, execution: Execution) -> None:
        """Keep `execution` and the status event it causes; with a database, return once both are in it."""
        arn = execution.durable_execution_arn
        with self._write_lock:
            status = announced_status(self._ended.get(arn), execution) if self._status_events else None
            event = status_event(execution, status) if status is not None else None
            if self._connection is not None:
                if self._closed:
                    raise StoreClosedError(f"the store is closed: {arn} not saved")
                try:
                    row = _row(execution)
                    with self._connection:  # one transaction, committed on leaving
                        self._connection.execute(_UPSERT, row)
                        if event is not None:
                            self._connection.execute(_OUTBOX_PUT, (event["id"], json.dumps(event)))
                except sqlite3.Error as error:
                    raise RuntimeError(f"Failed to save execution {arn}: {error}") from error
            self._remember(execution)
            if event is not None:
                self._outbox[event["id"]] = event
        if event is not None:
            self._tell(event)

    # The outbox.

    def subscribe(self, listener: EventListener) -> None:
        """Tell `listener(event)` of every event put in the outbox from now on, after its commit."""
        self._listener = listener

    def pending_events(self) -> list[Event]:
        """The events not yet delivered, oldest first: a new runtime's bus delivers these first."""
        with self._write_lock:
            return list(self._outbox.values())

    def announce(self, execution: Execution, status: str) -> None:
        """Put an event saying `execution` is `status` in the outbox, without a change of state."""
        if not self._status_events:
            return
        event = status_event(execution, status)
        with self._write_lock:
            if self._connection is not None:
                if self._closed:
                    raise StoreClosedError(f"the store is closed: {status} event not kept")
                with self._connection:
                    self._connection.execute(_OUTBOX_PUT, (event["id"], json.dumps(event)))
            self._outbox[event["id"]] = event
        self._tell(event)

    def event_delivered(self, event_id: str) -> None:
        """Take a delivered event out of the outbox; once closed, it stays there for the next runtime."""
        with self._write_lock:
            if self._connection is not None:
                if self._closed:
                    return
                with self._connection:
                    self._connection.execute("DELETE FROM status_outbox WHERE id = ?", (event_id,))
            self._outbox.pop(event_id, None)

    def _tell(self, event: Event) -> None:
        if self._listener is not None:
            self._listener(event)

    def update(self, execution: Execution) -> None:
        self.save(execution)

    def load(self, execution_arn: str) -> Execution:
        execution = self._executions.get(execution_arn)
        if execution is None:
            raise ResourceNotFoundException("Durable Execution does not exist")
        return execution

    def find(self, function_name: str, execution_name: str) -> Execution | None:
        """The execution of `function_name` with that name, if there is one."""
        arn = self._by_name.get((function_name, execution_name))
        return self._executions[arn] if arn is not None else None

    def delete(self, execution_arn: str) -> None:
        """Forget an execution; with a database, return once the deletion is committed there."""
        execution = self.load(execution_arn)
        key = (execution.start_input.function_name, execution.start_input.execution_name)
        if self._connection is not None:
            with self._write_lock:
                if self._closed:
                    raise StoreClosedError(f"the store is closed: {execution_arn} not deleted")
                with self._connection:
                    self._connection.execute(
                        "DELETE FROM executions WHERE durable_execution_arn = ?", (execution_arn,)
                    )
        self._executions.pop(execution_arn, None)
        self._ended.pop(execution_arn, None)
        if self._by_name.get(key) == execution_arn:
            del self._by_name[key]

    def list_all(self) -> list[Execution]:
        return list(self._executions.values())

    def close(self) -> None:
        """Close the database once the save under way is committed; later saves raise."""
        if self._connection is None:
            return
        with self._write_lock:
            self._closed = True
            self._connection.close()
