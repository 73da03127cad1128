"""The runtime in-process: what leans on the testing package's non-public members
(local/executor_internals.py) and its SQLite schema (local/store.py)."""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
import zlib
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aws_durable_execution_sdk_python_testing.execution import Execution
from aws_durable_execution_sdk_python_testing.model import StartDurableExecutionInput
from aws_durable_execution_sdk_python_testing.stores.sqlite import SQLiteExecutionStore

from local.hosted_function import ACCOUNT_ID, FUNCTION_NAME, execution_arn_prefix, resolve
from local.runtime import DATABASE_FILE, DurableRuntime
from local.store import StoreClosedError, WriteThroughStore, decompressed

LIVE = resolve("math-durable:live")
ANY_VERSION = resolve("math-durable", default_latest=False)


def started_execution(name: str, payload: str, started: datetime | None = None) -> Execution:
    """An execution as the runtime creates it, started but never invoked."""
    invocation_id = str(uuid.uuid4())
    execution = Execution(
        durable_execution_arn=f"{execution_arn_prefix('1')}{name}/{invocation_id}",
        start_input=StartDurableExecutionInput(
            account_id=ACCOUNT_ID,
            function_name=FUNCTION_NAME,
            function_qualifier="1",
            execution_name=name,
            execution_timeout_seconds=900,
            execution_retention_period_days=7,
            invocation_id=invocation_id,
            input=payload,
        ),
        operations=[],
    )
    execution.start(now=started)
    return execution


@pytest.fixture(params=["sqlite", "memory"])
def runtime(request, tmp_path):
    from durable_math import lambda_handler

    runtime = DurableRuntime(lambda_handler, tmp_path if request.param == "sqlite" else None)
    runtime.open()
    yield runtime
    runtime.close()


def test_an_execution_gets_a_lambda_style_arn_and_its_waiter_is_told_when_it_ends(runtime):
    arn = runtime.start(LIVE, '{"num1": 10, "num2": 5}', "named")

    execution = runtime.wait(arn, timeout=30)

    assert arn.startswith(f"{execution_arn_prefix('1')}named/")
    assert execution is not None
    assert json.loads(execution.result.result) == {"Add": 15, "Subtract": 5, "Multiply": 50, "Division": 2.0}
    assert runtime.wait(arn, timeout=1) is not None  # an ended one answers at once


def collection_sizes(runtime: DurableRuntime) -> dict[str, int]:
    """The size of every collection the runtime itself holds."""
    return {name: len(value) for name, value in vars(runtime).items() if isinstance(value, dict | list | set)}


def test_waiting_for_executions_leaves_nothing_behind_in_the_runtime(runtime):
    # Given a runtime, and the size of what it holds before any wait
    before = collection_sizes(runtime)

    # When five executions are started and waited for, then waited for again once ended
    arns = [runtime.start(LIVE, f'{{"num1": {n}, "num2": 1}}', f"waited-{n}") for n in range(5)]
    ended = [runtime.wait(arn, timeout=30) for arn in arns]
    again = [runtime.wait(arn, timeout=1) for arn in arns]

    # Then every wait answered, and the runtime holds no more than before
    assert all(execution is not None for execution in ended + again)
    assert collection_sizes(runtime) == before


def test_listing_filters_statuses_and_versions_newest_first_in_both_stores(runtime):
    ok = runtime.start(LIVE, "{}", "ok")
    bad = runtime.start(LIVE, '{"num1": "x"}', "bad")
    latest = runtime.start(resolve("math-durable"), "{}", "latest")
    for arn in (ok, bad, latest):
        runtime.wait(arn, timeout=30)

    def names(**filters) -> list[str]:
        page = runtime.list(filters.pop("function", ANY_VERSION), **filters)
        return [item["DurableExecutionName"] for item in page["DurableExecutions"]]

    assert names() == ["latest", "bad", "ok"]
    assert names(reverse_order=True) == ["ok", "bad", "latest"]
    assert names(statuses=["FAILED"]) == ["bad"]
    assert names(statuses=["FAILED", "SUCCEEDED"], function=LIVE) == ["bad", "ok"]
    assert names(execution_name="ok") == ["ok"]
    assert names(started_after=datetime.now(UTC) + timedelta(minutes=1)) == []
    first = runtime.list(ANY_VERSION, max_items=2)
    assert first["NextMarker"] == "2"
    assert [
        e["DurableExecutionName"] for e in runtime.list(ANY_VERSION, marker="2")["DurableExecutions"]
    ] == ["ok"]


def test_a_running_execution_left_in_the_store_is_resumed_by_the_next_runtime(tmp_path):
    from durable_math import lambda_handler

    # Given an execution saved as RUNNING but never invoked, as a killed process leaves one
    execution = started_execution("left-behind", '{"num1": 8, "num2": 2}')
    arn = execution.durable_execution_arn
    first = WriteThroughStore(tmp_path / DATABASE_FILE)
    first.save(execution)
    first.close()

    # When a runtime opens the same data folder
    second = DurableRuntime(lambda_handler, tmp_path)
    try:
        resumed = second.open()
        ended = second.wait(arn, timeout=30)
    finally:
        second.close()

    # Then it resumes it and it ends with the right result
    assert resumed == (1, 0)
    assert ended is not None
    assert json.loads(ended.result.result) == {"Add": 10, "Subtract": 6, "Multiply": 16, "Division": 4.0}


def test_a_running_execution_whose_timeout_passed_while_stopped_is_timed_out_not_resumed(tmp_path):
    from durable_math import lambda_handler

    # Given an execution left RUNNING that started longer ago than its 900 s timeout
    execution = started_execution("overdue", "{}", started=datetime.now(UTC) - timedelta(seconds=901))
    store = WriteThroughStore(tmp_path / DATABASE_FILE)
    store.save(execution)
    store.close()

    # When a runtime opens the data folder
    runtime = DurableRuntime(lambda_handler, tmp_path)
    try:
        reopened = runtime.open()
        status = runtime.describe(execution.durable_execution_arn)["Status"]
    finally:
        runtime.close()

    # Then it is counted as timed out, not as resumed, and is TIMED_OUT
    assert (reopened.resumed, reopened.timed_out) == (0, 1)
    assert status == "TIMED_OUT"


def test_the_executor_defers_the_saves_around_each_handler_invocation(tmp_path, monkeypatch):
    from durable_math import lambda_handler

    # Given a runtime whose store counts the saves made while deferring
    runtime = DurableRuntime(lambda_handler, tmp_path)
    deferred_saves = []
    save = runtime.store.save

    def counting_save(execution):
        deferred_saves.append(getattr(runtime.store._deferring, "active", False))
        save(execution)

    monkeypatch.setattr(runtime.store, "save", counting_save)
    runtime.open()
    try:
        # When one calculation runs to its end
        arn = runtime.start(LIVE, '{"num1": 9, "num2": 3}', "deferring")
        assert runtime.wait(arn, timeout=30) is not None
    finally:
        runtime.close()

    # Then the package's executor still calls the two hooks that defer (its private members: a
    # version that renames them would write every save again, silently)
    assert deferred_saves.count(True) >= 2


def test_every_execution_is_in_sqlite_when_it_ends(tmp_path):
    from durable_math import lambda_handler

    # Given a runtime on a data folder, with one calculation run to its end
    runtime = DurableRuntime(lambda_handler, tmp_path)
    runtime.open()
    try:
        arn = runtime.start(LIVE, '{"num1": 9, "num2": 3}', "persisted")
        assert runtime.wait(arn, timeout=30) is not None

        # When another store reads the same file from SQLite, the runtime still running
        stored = WriteThroughStore(tmp_path / DATABASE_FILE, recent_ended=0).load(arn)
    finally:
        runtime.close()

    # Then the execution is there, ended, with its result
    assert stored.current_status().value == "SUCCEEDED"
    assert json.loads(stored.result.result) == {"Add": 12, "Subtract": 6, "Multiply": 27, "Division": 3.0}


def test_a_data_folder_the_package_store_wrote_opens_with_its_executions_listed(tmp_path):
    from durable_math import lambda_handler

    # Given a finished execution saved by the testing package's SQLite store
    execution = started_execution("from-package", "{}")
    arn = execution.durable_execution_arn
    execution.complete_success(result='{"Add": 0}')
    SQLiteExecutionStore.create_and_initialize(tmp_path / DATABASE_FILE).save(execution)

    # When the runtime opens the folder
    runtime = DurableRuntime(lambda_handler, tmp_path)
    try:
        resumed = runtime.open()
        listed = runtime.list(ANY_VERSION, execution_name="from-package")["DurableExecutions"]
        described = runtime.describe(arn)
    finally:
        runtime.close()

    # Then nothing is resumed, and the execution is listed and described as it ended
    assert resumed == (0, 0)
    assert [item["DurableExecutionArn"] for item in listed] == [arn]
    assert described["Status"] == "SUCCEEDED"
    assert described["Result"] == '{"Add": 0}'


def test_saves_from_many_threads_at_once_are_all_committed_before_they_return(tmp_path):
    # Given the runtime's store on a database, and forty executions saved from forty threads at once
    store = WriteThroughStore(tmp_path / DATABASE_FILE)
    executions = [started_execution(f"concurrent-{n}", "{}") for n in range(40)]
    barrier = threading.Barrier(len(executions))
    found: list[str] = []

    def save(execution: Execution) -> None:
        barrier.wait()
        store.save(execution)
        # When each save has returned, another connection reads the database
        found.append(
            stored_row(tmp_path / DATABASE_FILE, execution.durable_execution_arn)["StartInput"][
                "ExecutionName"
            ]
        )

    with ThreadPoolExecutor(len(executions)) as pool:
        list(pool.map(save, executions))
    store.close()

    # Then every execution was there the moment its save returned, and a save after close is refused
    assert sorted(found) == sorted(e.start_input.execution_name for e in executions)
    with pytest.raises(StoreClosedError):
        store.save(executions[0])


def stored_row(database, arn: str) -> dict:
    """The execution as committed, read by another connection: running, or ended and compressed."""
    with sqlite3.connect(database) as connection:
        (data,) = connection.execute(
            "SELECT COALESCE((SELECT data FROM running_data WHERE durable_execution_arn = ?),"
            " (SELECT data FROM executions WHERE durable_execution_arn = ?))",
            (arn, arn),
        ).fetchone()
    return json.loads(decompressed(data) if isinstance(data, bytes) else data)


def saved_running(tmp_path, name: str) -> tuple[Path, WriteThroughStore, Execution]:
    """A store on a database, and an execution it has saved running."""
    database = tmp_path / DATABASE_FILE
    store = WriteThroughStore(database)
    execution = started_execution(name, "{}")
    store.save(execution)
    return database, store, execution


def test_a_running_execution_is_kept_beside_its_row_until_it_ends(tmp_path):
    # Given a store, and an execution saved running
    database, store, execution = saved_running(tmp_path, "beside")
    arn = execution.durable_execution_arn
    running = rows(database, arn)

    # When it is saved ended
    execution.complete_success(result="{}")
    store.save(execution)
    store.close()

    # Then while it ran its JSON was in running_data and its row held none; once ended, the
    # compressed row holds it and running_data nothing
    assert running[0] == ""
    assert json.loads(running[1])["IsComplete"] is False
    ended = rows(database, arn)
    assert isinstance(ended[0], bytes)
    assert ended[1] is None


def rows(database, arn: str) -> tuple[object, object]:
    """(`executions.data`, `running_data.data`) of one execution."""
    with sqlite3.connect(database) as connection:
        return connection.execute(
            "SELECT e.data, r.data FROM executions AS e LEFT JOIN running_data AS r"
            " USING (durable_execution_arn) WHERE e.durable_execution_arn = ?",
            (arn,),
        ).fetchone()


def test_a_deferred_save_of_a_running_execution_is_written_by_the_next_save_or_at_close(tmp_path):
    # Given a store, and an execution it has saved running
    database, store, execution = saved_running(tmp_path, "deferred")
    arn = execution.durable_execution_arn

    # When a change is saved deferred (as the executor does when it hands the execution to its handler)
    execution.needs_reinvoke = True
    with store.deferred():
        store.save(execution)

    # Then memory has it and the database not yet; the next save writes it
    assert store.load(arn).needs_reinvoke is True
    assert stored_row(database, arn)["NeedsReinvoke"] is False
    store.save(execution)
    assert stored_row(database, arn)["NeedsReinvoke"] is True

    # And a deferred change left in memory is written when the store closes
    execution.needs_reinvoke = False
    with store.deferred():
        store.save(execution)
    store.close()
    assert stored_row(database, arn)["NeedsReinvoke"] is False


def test_a_deferred_save_that_starts_or_ends_an_execution_is_written_at_once(tmp_path):
    # Given a store and a new execution
    database = tmp_path / DATABASE_FILE
    store = WriteThroughStore(database)
    execution = started_execution("deferred-ends", "{}")
    arn = execution.durable_execution_arn

    # When it is saved new, then ended, both deferred
    with store.deferred():
        store.save(execution)
        written_new = stored_row(database, arn)["IsComplete"]
        execution.complete_success(result="{}")
        store.save(execution)
    store.close()

    # Then each save was written with its event: a deferred save never holds back a status change
    with sqlite3.connect(database) as connection:
        events = connection.execute("SELECT COUNT(*) FROM status_outbox").fetchone()[0]
    assert written_new is False
    assert stored_row(database, arn)["IsComplete"] is True
    assert events == 2


def compressed_with_another_dictionary(data: bytes) -> bytes:
    compressor = zlib.compressobj(zdict=b'{"Operations":[]}')
    return compressor.compress(data) + compressor.flush()


@pytest.mark.parametrize(
    ("compress", "readable"),
    [(zlib.compress, True), (compressed_with_another_dictionary, False)],
    ids=["without-dictionary", "unknown-dictionary"],
)
def test_a_compressed_row_is_read_with_the_dictionary_it_names(tmp_path, compress, readable, caplog):
    # Given an ended execution whose row was compressed without a dictionary, or with one this
    # version does not have
    database = tmp_path / DATABASE_FILE
    execution = started_execution("compressed", "{}")
    execution.complete_success(result="{}")
    WriteThroughStore(database).close()
    data = json.dumps(execution.to_json_dict()).encode()
    with sqlite3.connect(database) as connection:
        connection.execute(
            "INSERT INTO executions VALUES (?, ?, ?, 'SUCCEEDED', 0, 1, ?)",
            (execution.durable_execution_arn, FUNCTION_NAME, "compressed", compress(data)),
        )

    # When a store reads it
    store = WriteThroughStore(database)
    found = store.find(FUNCTION_NAME, "compressed")
    store.close()

    # Then the first is read; the other is skipped with a line naming it, not read as garbage
    assert (found is not None) is readable
    assert ("skipping unreadable execution" in caplog.text) is not readable


def test_an_ended_execution_is_stored_compact_and_answers_history_and_describe_the_same(tmp_path):
    from durable_math import lambda_handler

    # Given a calculation run to its end, also saved whole by the package's own store elsewhere
    runtime = DurableRuntime(lambda_handler, tmp_path / "compact")
    runtime.open()
    try:
        arn = runtime.start(LIVE, '{"num1": 9, "num2": 3}', "compact")
        assert runtime.wait(arn, timeout=30) is not None
        (tmp_path / "whole").mkdir()
        SQLiteExecutionStore.create_and_initialize(tmp_path / "whole" / DATABASE_FILE).save(
            runtime.store.load(arn)
        )
    finally:
        runtime.close()

    # When a runtime reads each back from SQLite
    answers = {}
    for folder in ("compact", "whole"):
        reader = DurableRuntime(lambda_handler, tmp_path / folder)
        try:
            answers[folder] = (reader.history(arn), reader.describe(arn))
        finally:
            reader.close()
    stored = WriteThroughStore(tmp_path / "compact" / DATABASE_FILE, recent_ended=0).load(arn)
    with sqlite3.connect(tmp_path / "compact" / DATABASE_FILE) as connection:
        (row,) = connection.execute("SELECT data FROM executions WHERE durable_execution_arn = ?", (arn,))
    with sqlite3.connect(tmp_path / "whole" / DATABASE_FILE) as connection:
        (whole,) = connection.execute("SELECT data FROM executions WHERE durable_execution_arn = ?", (arn,))

    # Then both answer the same, and the compact row keeps no checkpoint bookkeeping nor update
    # payloads, compressed to under a tenth of the package's JSON (the store's dictionary serves it)
    assert answers["compact"] == answers["whole"]
    assert isinstance(row[0], bytes)
    assert len(row[0]) < len(whole[0]) / 10
    assert stored.last_checkpoint is None
    assert stored.operation_size_bytes == {}
    assert stored.operation_last_touched_seq == {}
    assert all(update.payload is None for update in stored.updates)


def test_memory_holds_the_executions_in_flight_and_only_the_latest_ended(tmp_path):
    # Given a store that keeps two ended executions in memory, one running and five ended saved
    store = WriteThroughStore(tmp_path / DATABASE_FILE, recent_ended=2)
    running = started_execution("running", "{}")
    store.save(running)
    ended = [started_execution(f"ended-{n}", "{}") for n in range(5)]
    for execution in ended:
        execution.complete_success(result="{}")
        store.save(execution)

    # When the earliest ended one is asked for by ARN and by name
    loaded = store.load(ended[0].durable_execution_arn)
    found = store.find(FUNCTION_NAME, "ended-1")
    held = store.held_in_memory()
    store.close()

    # Then it is read from SQLite, and memory holds the running one and two ended ones
    assert loaded.start_input.execution_name == "ended-0"
    assert loaded.is_complete
    assert found is not None
    assert found.durable_execution_arn == ended[1].durable_execution_arn
    assert held == 3


class RecordingTable:
    """A DynamoDB client that records conditional deletes."""

    class exceptions:  # botocore's spelling
        ConditionalCheckFailedException = type("ConditionalCheckFailedException", (Exception,), {})

    def __init__(self) -> None:
        self.deleted: list[tuple[str, str]] = []

    def delete_item(self, **request) -> None:
        arn = request["ExpressionAttributeValues"][":arn"]["S"]
        self.deleted.append((request["Key"]["executionName"]["S"], arn))


def test_the_retention_sweep_forgets_ended_executions_and_their_items_once_the_period_passed(tmp_path):
    from durable_math import lambda_handler
    from local.retention import RetentionSweeper

    # Given a runtime with one ended and one running execution, and a retention of one hour
    runtime = DurableRuntime(lambda_handler, tmp_path)
    runtime.open()
    table = RecordingTable()
    sweeper = RetentionSweeper(runtime, 3600, table_client=table)
    try:
        ended = runtime.start(LIVE, '{"num1": 1, "num2": 1}', "old")
        assert runtime.wait(ended, timeout=30) is not None
        running = started_execution("still-running", "{}")
        runtime.store.save(running)

        # When it sweeps now, and again as if two hours had passed
        early = sweeper.sweep()
        late = sweeper.sweep(now=datetime.now(UTC) + timedelta(hours=2))
        listed = [e["DurableExecutionName"] for e in runtime.list(ANY_VERSION)["DurableExecutions"]]
    finally:
        runtime.close()

    # Then only the late sweep forgets the ended one, its item deleted while it held its ARN
    assert (early, late) == (0, 1)
    assert table.deleted == [("old", ended)]
    assert listed == ["still-running"]


def test_a_runtime_runs_as_many_handler_invocations_at_once_as_it_is_given():
    from aws_durable_execution_sdk_python.execution import durable_execution
    from aws_durable_execution_sdk_python_testing.threads import default_max_workers

    # Given a runtime allowed more invocations at once than the package's default, and a handler
    # that waits until every one of them is running
    wanted = default_max_workers() + 4
    running = threading.Semaphore(0)
    everyone_in = threading.Event()

    @durable_execution
    def waiting_handler(event, context):
        running.release()
        everyone_in.wait(30)
        return "done"

    runtime = DurableRuntime(waiting_handler, None, concurrent_invocations=wanted)
    runtime.open()
    try:
        # When that many executions start
        arns = [runtime.start(LIVE, "{}", f"concurrent-{n}") for n in range(wanted)]

        # Then all their handlers run at once, and each ends
        started = sum(running.acquire(timeout=10) for _ in range(wanted))
        everyone_in.set()
        ended = [runtime.wait(arn, timeout=30) for arn in arns]
    finally:
        everyone_in.set()
        runtime.close()
    assert started == wanted
    assert [json.loads(execution.result.result) for execution in ended if execution and execution.result] == [
        "done"
    ] * wanted
