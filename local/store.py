"""Where the runtime keeps executions: in SQLite, with those in flight and a few recent ones in memory.

The testing package's `SQLiteExecutionStore` opens a connection, sets the journal mode and
parses the whole execution on every load, and the executor loads an execution some twenty times
per calculation. This store holds every execution in flight in memory, and the last
`RECENT_ENDED` ended ones, and answers their loads without a lock; an older one is read from
SQLite when asked for (the API reads the table, not these). So its memory is bounded by the
executions in flight, not by every execution ever run. Lists and name look-ups are SQL queries.

`save` returns only once the execution is committed to SQLite, one save at a time on one
connection: a process killed at any moment loses nothing it had acknowledged. It keeps the
package's `executions` table, so a data folder the package's store wrote opens here. An ended
execution is stored compact (`compact_form`): what its history, result and description read, not
the checkpoint bookkeeping only a running execution needs, and that JSON compressed
(`compressed`): about 0.4 KB instead of 8.4 for a calculation, since ended executions are what
piles up until retention removes them. A running execution's JSON (6 to 14 KB, rewritten at every
checkpoint) lives beside its row, in `running_data`, until it ends: in `executions` it would leave
each page it passed through mostly empty once the row shrank (3 KB of file per calculation, for
0.4 KB of row). Without a data folder the database is in memory (lost when the process ends).

The store is also the status-change events' outbox. A save that creates an execution puts its
RUNNING event in the `status_outbox` table, and the save that ends it puts its end, in the same
transaction as the execution's row: an execution's state is never committed without the event it
causes. The bus (local/status_events.py) takes an event out only once the projector accepted it,
and the next runtime delivers whatever is left (a process killed before delivery loses nothing).

The executor also saves an execution when it hands it to the handler and when the handler's
invocation returns, before it applies the outcome. Those saves (`deferred`) acknowledge nothing
to anyone, and a killed process that lost one resumes the execution the same way, so while
the execution runs on they only update memory: the next checkpoint or the end writes the whole
execution (two of the ten writes a calculation made).

(Measured on 2 cores: committing concurrent saves in groups, from a writer thread or by the
first waiting save, ran no faster over HTTP than this, and slowed clients that poll.)

WAL with `synchronous=NORMAL`: every commit is in the write-ahead log, in the operating system's
cache, before `save` returns, so a killed process loses nothing; only a crash of the machine
itself can undo the last commits (the database stays consistent). That is durable enough for a
runtime on a developer's machine, and it saves an fsync per commit.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
import threading
import zlib
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from aws_durable_execution_sdk_python_testing.exceptions import ResourceNotFoundException
from aws_durable_execution_sdk_python_testing.execution import Execution
from aws_durable_execution_sdk_python_testing.stores.base import BaseExecutionStore
from aws_durable_execution_sdk_python_testing.stores.sqlite import SQLiteExecutionStore

from local.damaged_state import check_store_file, store_damaged
from local.status_events import status_event

logger = logging.getLogger("local.store")

# Ended executions kept in memory besides those in flight: a waiter or a describe right after the
# end finds them there. About 15 KB each.
RECENT_ENDED = 256

# zlib's default: level 1 is barely faster here and stores about 10% more.
COMPRESSION_LEVEL = 6
# zlib's preset dictionary for the rows: one calculation's compact row, as stored. Operation ids are
# derived from the function's structure, so every calculation repeats them, and the keys are the
# same: with it a calculation's row compresses to about 0.4 KB instead of 1.7. A compressed row
# names its dictionary (zlib writes the dictionary's Adler-32 in the stream's header): to change the
# dictionary, add the new one and keep the old ones here, or older rows can no longer be read.
DICTIONARY = Path(__file__).with_name("store_dictionary.json").read_bytes().strip()
DICTIONARIES = {zlib.adler32(DICTIONARY): DICTIONARY}
_ZLIB_PRESET_DICTIONARY = 0x20  # FDICT, in the header's second byte (RFC 1950)

# An update in place: `INSERT OR REPLACE` would delete the row and rewrite every index entry, 3x slower.
_UPSERT = (
    "INSERT INTO executions (durable_execution_arn, function_name, execution_name, status,"
    " start_timestamp, end_timestamp, data) VALUES (?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (durable_execution_arn) DO UPDATE SET status = excluded.status,"
    " start_timestamp = excluded.start_timestamp, end_timestamp = excluded.end_timestamp,"
    " data = excluded.data"
)
# The package's table (stores/sqlite.py), for the database in memory the package cannot create.
_EXECUTIONS_TABLE = (
    "CREATE TABLE IF NOT EXISTS executions (durable_execution_arn TEXT PRIMARY KEY,"
    " function_name TEXT NOT NULL, execution_name TEXT, status TEXT NOT NULL,"
    " start_timestamp REAL, end_timestamp REAL, data TEXT NOT NULL)"
)
# `find` by name and the retention's sweep by end; indexes the package's store ignores.
_INDEXES = (
    "CREATE INDEX IF NOT EXISTS idx_execution_name ON executions(function_name, execution_name)",
    "CREATE INDEX IF NOT EXISTS idx_end_timestamp ON executions(end_timestamp)",
)
_OUTBOX_TABLE = "CREATE TABLE IF NOT EXISTS status_outbox (id TEXT PRIMARY KEY, event TEXT NOT NULL)"
# A running execution's JSON; its `executions` row holds '' meanwhile.
_RUNNING_TABLE = (
    "CREATE TABLE IF NOT EXISTS running_data (durable_execution_arn TEXT PRIMARY KEY, data TEXT NOT NULL)"
)
_RUNNING_PUT = (
    "INSERT INTO running_data (durable_execution_arn, data) VALUES (?, ?)"
    " ON CONFLICT (durable_execution_arn) DO UPDATE SET data = excluded.data"
)
_RUNNING_DELETE = "DELETE FROM running_data WHERE durable_execution_arn = ?"
# An execution's data, wherever it is (a folder the package wrote has it all in `executions`).
_DATA = (
    "SELECT e.durable_execution_arn, COALESCE(r.data, e.data) FROM executions AS e"
    " LEFT JOIN running_data AS r USING (durable_execution_arn)"
)
_OUTBOX_PUT = "INSERT INTO status_outbox (id, event) VALUES (?, ?)"

# The updates GetDurableExecutionHistory reads whole: a failed or retried step's error, a chained
# invoke's options. Of every other update it reads only the operation's id, type and action.
_HISTORY_READS_WHOLE = {"RETRY", "FAIL"}

Event = dict[str, Any]
EventListener = Callable[[Event], None]


class StoreClosedError(RuntimeError):
    """A save after `close`: the runtime is stopping and the database is no longer written."""


def compact_form(execution: Execution) -> dict[str, Any]:
    """The execution as stored: whole while it runs; once ended, without the checkpoint bookkeeping.

    The last checkpoint (kept to answer a retried checkpoint), the per-operation sequence numbers
    and sizes, and the payloads and options of the updates serve only a running execution. What
    history, result, description and the resume read stays, so each answers the same.
    """
    data = execution.to_json_dict()
    if not execution.is_complete:
        return data
    data["Updates"] = [
        update
        if update["Action"] in _HISTORY_READS_WHOLE
        or (update["Action"] == "START" and update["Type"] == "CHAINED_INVOKE")
        else {"Id": update["Id"], "Type": update["Type"], "Action": update["Action"]}
        for update in data["Updates"]
    ]
    data.update(
        LastCheckpoint=None, UpdatedOperationIds=[], OperationLastTouchedSeq={}, OperationSizeBytes={}
    )
    return data


def stored_data(execution: Execution) -> str | bytes:
    """The `data` column: the package's JSON while the execution runs; once ended, compact and compressed."""
    text = json.dumps(compact_form(execution), separators=(",", ":"))
    return compressed(text.encode()) if execution.is_complete else text


def compressed(data: bytes) -> bytes:
    compressor = zlib.compressobj(COMPRESSION_LEVEL, zdict=DICTIONARY)
    return compressor.compress(data) + compressor.flush()


def decompressed(data: bytes) -> bytes:
    """A compressed row's JSON, whichever dictionary (or none) compressed it; zlib.error if unreadable."""
    if len(data) < 6 or not data[1] & _ZLIB_PRESET_DICTIONARY:
        return zlib.decompress(data)
    dictionary = DICTIONARIES.get(int.from_bytes(data[2:6], "big"))
    if dictionary is None:
        raise zlib.error("compressed with a dictionary this version does not have")
    decompressor = zlib.decompressobj(zdict=dictionary)
    return decompressor.decompress(data) + decompressor.flush()


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
        stored_data(execution),
    )


def announced_status(ended_before: bool | None, execution: Execution) -> str | None:
    """The status a save of `execution` announces, if any: RUNNING when it is new, its end when it ends.

    `ended_before`: whether the execution was ended at its previous save (None: never saved).
    """
    if execution.is_complete:
        return None if ended_before else execution.current_status().value
    return "RUNNING" if ended_before is None else None


class WriteThroughStore(BaseExecutionStore):
    """Executions by ARN in SQLite; those in flight and the recently ended also in memory.

    Loads hand out the object in memory, as the package's in-memory store does: the executor
    runs each execution's operations one at a time on its own lane, and `Execution` guards its
    state with its own lock. Loads from memory take no lock: a dict read is atomic.
    """

    def __init__(
        self, database: Path | None = None, recent_ended: int = RECENT_ENDED, *, status_events: bool = True
    ) -> None:
        """`database` None keeps executions in a database in memory (lost when the process ends);
        without `status_events`, its saves put no event in the outbox."""
        self._status_events = status_events
        self._in_flight: dict[str, Execution] = {}
        self._recent: OrderedDict[str, Execution] = OrderedDict()  # ended, the latest last
        self._recent_limit = recent_ended
        self._by_name: dict[tuple[str, str | None], str] = {}  # of those in memory
        self._outbox: dict[str, Event] = {}  # events not yet delivered, by id, oldest first
        self._listener: EventListener | None = None
        # Used by one thread at a time, under the lock: saves, and the reads that miss memory.
        self._lock = threading.Lock()
        self._deferring = threading.local()
        self._unwritten: set[str] = set()  # running executions whose last saves were deferred
        self._closed = False
        self._connection = self._open(database) if database is not None else self._open_in_memory()

    def _open(self, database: Path) -> sqlite3.Connection:
        """Open (or create) the database; a damaged one raises DamagedStateError, changed in nothing."""
        check_store_file(database)
        if not database.exists():
            # The user's only; SQLite gives its -wal and -shm files the same mode.
            os.close(os.open(database, os.O_CREAT | os.O_WRONLY, 0o600))
        try:
            connection = sqlite3.connect(database, timeout=30.0, check_same_thread=False)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            # Reads every page's structure once (not each row's contents): a truncated file fails here.
            problems = [row[0] for row in connection.execute("PRAGMA quick_check")]
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
        self._initialise(connection)
        return connection

    def _open_in_memory(self) -> sqlite3.Connection:
        connection = sqlite3.connect(":memory:", check_same_thread=False)
        with connection:
            connection.execute(_EXECUTIONS_TABLE)
        self._initialise(connection)
        return connection

    def _initialise(self, connection: sqlite3.Connection) -> None:
        with connection:
            for index in _INDEXES:
                connection.execute(index)
            connection.execute(_OUTBOX_TABLE)
            connection.execute(_RUNNING_TABLE)
        # Only what a resume needs: the executions a previous process left running.
        for arn, data in connection.execute(
            f"{_DATA} WHERE e.status = 'RUNNING' ORDER BY e.start_timestamp, e.rowid"
        ):
            if (execution := _parsed(arn, data)) is not None:
                self._remember(execution)
        for event_id, event in connection.execute("SELECT id, event FROM status_outbox ORDER BY rowid"):
            self._outbox[event_id] = json.loads(event)

    def _remember(self, execution: Execution) -> None:
        """Hold `execution` in memory: in flight, or among the recently ended (the oldest forgotten)."""
        arn = execution.durable_execution_arn
        self._by_name[(execution.start_input.function_name, execution.start_input.execution_name)] = arn
        if not execution.is_complete:
            self._in_flight[arn] = execution
            return
        # Into the recent ones first: a lock-free load never finds it in neither.
        self._recent[arn] = execution
        self._recent.move_to_end(arn)
        self._in_flight.pop(arn, None)
        while len(self._recent) > self._recent_limit:
            _, forgotten = self._recent.popitem(last=False)
            self._forget_name(forgotten)

    def _forget_name(self, execution: Execution) -> None:
        key = (execution.start_input.function_name, execution.start_input.execution_name)
        if self._by_name.get(key) == execution.durable_execution_arn:
            del self._by_name[key]

    def _ended_before(self, arn: str) -> bool | None:
        """Whether the execution was ended at its last save; None if it was never saved."""
        if arn in self._in_flight:
            return False
        if arn in self._recent:
            return True
        row = self._connection.execute(
            "SELECT status FROM executions WHERE durable_execution_arn = ?", (arn,)
        ).fetchone()
        return None if row is None else row[0] != "RUNNING"

    @contextlib.contextmanager
    def deferred(self) -> Iterator[None]:
        """Saves made by this thread meanwhile may stay in memory while the execution runs on."""
        self._deferring.active = True
        try:
            yield
        finally:
            self._deferring.active = False

    def save(self, execution: Execution) -> None:
        """Keep `execution` and the status event it causes; return once both are committed
        (a deferred save of a running execution that was saved before: once it is in memory)."""
        arn = execution.durable_execution_arn
        with self._lock:
            if self._closed:
                raise StoreClosedError(f"the store is closed: {arn} not saved")
            ended_before = self._ended_before(arn)
            if (
                getattr(self._deferring, "active", False)
                and ended_before is False
                and not execution.is_complete
            ):
                self._unwritten.add(arn)
                self._remember(execution)
                return
            status = announced_status(ended_before, execution) if self._status_events else None
            event = status_event(execution, status) if status is not None else None
            try:
                with self._connection:  # one transaction, committed on leaving
                    self._write(execution)
                    if event is not None:
                        self._connection.execute(_OUTBOX_PUT, (event["id"], json.dumps(event)))
            except sqlite3.Error as error:
                raise RuntimeError(f"Failed to save execution {arn}: {error}") from error
            self._unwritten.discard(arn)
            self._remember(execution)
            if event is not None:
                self._outbox[event["id"]] = event
        if event is not None:
            self._tell(event)

    def _write(self, execution: Execution) -> None:
        """The execution's rows, in the transaction under way."""
        row = _row(execution)
        if execution.is_complete:
            self._connection.execute(_UPSERT, row)
            self._connection.execute(_RUNNING_DELETE, row[:1])
        else:
            self._connection.execute(_UPSERT, (*row[:-1], ""))
            self._connection.execute(_RUNNING_PUT, (row[0], row[-1]))

    # The outbox.

    def subscribe(self, listener: EventListener) -> None:
        """Tell `listener(event)` of every event put in the outbox from now on, after its commit."""
        self._listener = listener

    def pending_events(self) -> list[Event]:
        """The events not yet delivered, oldest first: a new runtime's bus delivers these first."""
        with self._lock:
            return list(self._outbox.values())

    def announce(self, execution: Execution, status: str) -> None:
        """Put an event saying `execution` is `status` in the outbox, without a change of state."""
        if not self._status_events:
            return
        event = status_event(execution, status)
        with self._lock:
            if self._closed:
                raise StoreClosedError(f"the store is closed: {status} event not kept")
            with self._connection:
                self._connection.execute(_OUTBOX_PUT, (event["id"], json.dumps(event)))
            self._outbox[event["id"]] = event
        self._tell(event)

    def event_delivered(self, event_id: str) -> None:
        """Take a delivered event out of the outbox; once closed, it stays there for the next runtime."""
        with self._lock:
            if self._closed:
                return
            with self._connection:
                self._connection.execute("DELETE FROM status_outbox WHERE id = ?", (event_id,))
            self._outbox.pop(event_id, None)

    def _tell(self, event: Event) -> None:
        if self._listener is not None:
            self._listener(event)

    # Reads.

    def update(self, execution: Execution) -> None:
        self.save(execution)

    def load(self, execution_arn: str) -> Execution:
        execution = self._in_flight.get(execution_arn) or self._recent.get(execution_arn)
        if execution is None:
            execution = self._read(execution_arn)
        if execution is None:
            raise ResourceNotFoundException("Durable Execution does not exist")
        return execution

    def _read(self, execution_arn: str) -> Execution | None:
        """An execution no longer in memory, read from the database and held among the recent ones."""
        with self._lock:
            # Another thread may have read it, or a save brought it back, while this one waited.
            if found := self._in_flight.get(execution_arn) or self._recent.get(execution_arn):
                return found
            if self._closed:
                return None
            row = self._connection.execute(
                f"{_DATA} WHERE e.durable_execution_arn = ?", (execution_arn,)
            ).fetchone()
            execution = _parsed(execution_arn, row[1]) if row is not None else None
            if execution is not None:
                self._remember(execution)
            return execution

    def find(self, function_name: str, execution_name: str) -> Execution | None:
        """The execution of `function_name` with that name, if there is one."""
        arn = self._by_name.get((function_name, execution_name))
        if arn is None:
            with self._lock:
                if self._closed:
                    return None
                row = self._connection.execute(
                    "SELECT durable_execution_arn FROM executions WHERE function_name = ?"
                    " AND execution_name = ? ORDER BY rowid DESC LIMIT 1",
                    (function_name, execution_name),
                ).fetchone()
            if row is None:
                return None
            arn = row[0]
        try:
            return self.load(arn)
        except ResourceNotFoundException:  # deleted meanwhile
            return None

    def in_flight(self) -> list[Execution]:
        """The executions not yet ended, oldest first."""
        return [execution for execution in list(self._in_flight.values()) if not execution.is_complete]

    def count(self) -> int:
        with self._lock:
            return self._connection.execute("SELECT COUNT(*) FROM executions").fetchone()[0]

    def page(
        self,
        function_name: str,
        *,
        execution_name: str | None,
        arn_prefix: str | None,
        statuses: Iterable[str],
        started_after: datetime | None,
        started_before: datetime | None,
        oldest_first: bool,
        offset: int,
        limit: int,
    ) -> tuple[list[Execution], bool]:
        """One page of a function's executions, newest first unless `oldest_first`; and whether more follow.

        Of two started at the same time, the one first saved later counts as the newer.
        """
        where = ["function_name = ?"]
        parameters: list[object] = [function_name]
        if execution_name is not None:
            where.append("execution_name = ?")
            parameters.append(execution_name)
        if arn_prefix is not None:
            # The ARN's function and version part holds no LIKE wildcard; `:` and `$` are literal.
            where.append("substr(durable_execution_arn, 1, ?) = ?")
            parameters += [len(arn_prefix), arn_prefix]
        if wanted := sorted(set(statuses)):
            where.append(f"status IN ({', '.join('?' * len(wanted))})")
            parameters += wanted
        if started_after is not None:
            where.append("start_timestamp >= ?")
            parameters.append(started_after.timestamp())
        if started_before is not None:
            where.append("start_timestamp <= ?")
            parameters.append(started_before.timestamp())
        order = "ASC" if oldest_first else "DESC"
        query = (
            f"SELECT durable_execution_arn FROM executions WHERE {' AND '.join(where)}"
            f" ORDER BY start_timestamp {order}, rowid {order} LIMIT ? OFFSET ?"
        )
        with self._lock:
            if self._closed:
                return [], False
            arns = [row[0] for row in self._connection.execute(query, (*parameters, limit + 1, offset))]
        page = []
        for arn in arns[:limit]:
            try:
                page.append(self.load(arn))
            except ResourceNotFoundException:  # deleted since the query
                continue
        return page, len(arns) > limit

    def ended_before(self, moment: datetime, limit: int) -> list[tuple[str, str | None]]:
        """(ARN, name) of up to `limit` executions that ended before `moment`, the earliest first."""
        with self._lock:
            if self._closed:
                return []
            return self._connection.execute(
                "SELECT durable_execution_arn, execution_name FROM executions WHERE status != 'RUNNING'"
                " AND end_timestamp < ? ORDER BY end_timestamp LIMIT ?",
                (moment.timestamp(), limit),
            ).fetchall()

    def delete(self, execution_arn: str) -> None:
        """Forget an execution; return once the deletion is committed."""
        execution = self.load(execution_arn)
        with self._lock:
            if self._closed:
                raise StoreClosedError(f"the store is closed: {execution_arn} not deleted")
            with self._connection:
                self._connection.execute(
                    "DELETE FROM executions WHERE durable_execution_arn = ?", (execution_arn,)
                )
                self._connection.execute(_RUNNING_DELETE, (execution_arn,))
            self._in_flight.pop(execution_arn, None)
            self._recent.pop(execution_arn, None)
            self._unwritten.discard(execution_arn)
            self._forget_name(execution)

    def list_all(self) -> list[Execution]:
        """Every execution, read from the database (the package's interface; the runtime pages)."""
        with self._lock:
            rows = self._connection.execute("SELECT durable_execution_arn FROM executions").fetchall()
        arns = [row[0] for row in rows]
        return [execution for arn in arns if (execution := self._load_if_kept(arn)) is not None]

    def _load_if_kept(self, arn: str) -> Execution | None:
        try:
            return self.load(arn)
        except ResourceNotFoundException:
            return None

    def held_in_memory(self) -> int:
        """How many executions are in memory: those in flight and the recently ended."""
        return len(self._in_flight) + len(self._recent)

    def close(self) -> None:
        """Write what deferred saves left in memory, close the database; later saves raise."""
        with self._lock:
            if not self._closed:
                self._closed = True
                with contextlib.suppress(sqlite3.Error), self._connection:
                    for arn in self._unwritten & self._in_flight.keys():
                        self._write(self._in_flight[arn])
                self._connection.close()


def _parsed(arn: str, data: str | bytes) -> Execution | None:
    try:
        return Execution.from_json_dict(json.loads(decompressed(data) if isinstance(data, bytes) else data))
    except (ValueError, KeyError, TypeError, zlib.error) as error:
        logger.warning("skipping unreadable execution %s: %s", arn, error)
        return None
