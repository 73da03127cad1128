"""Status-change events: the local bus's delivery rules; the projector under duplicates and disorder."""

from __future__ import annotations

import importlib
import json
import logging
import os
import signal
import sqlite3
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest

from calculation_records import new_item
from conftest import HERE, start_runtime
from local.runtime import DATABASE_FILE, DurableRuntime
from local.status_events import StatusEventBus, projector_context, status_event
from local.store import WriteThroughStore
from runtime_process import REPO_ROOT, local_lambda_client
from test_local_table import dynalite_processes, wait_until
from test_runtime_internals import started_execution

TABLE = "calculations"
STARTED = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
# A durable function that ends at once and writes nothing to the table (tableless_durable.py).
TABLELESS_HANDLER = ("--durable-handler", "tableless_durable:lambda_handler", "--durable-path", str(HERE))


def event(name: str, status: str, ended: datetime | None = None) -> dict:
    """A status-change event as Lambda sends it, for an execution started at STARTED."""
    execution = started_execution(name, "{}", started=STARTED)
    if ended is not None:
        execution.complete_stopped(error=None, now=ended)
    return status_event(execution, status)


class Target:
    """A projector stand-in that fails its first `failures` deliveries."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls = 0
        self.delivered = threading.Event()

    def __call__(self, event: dict, context) -> None:
        self.calls += 1
        if self.calls <= self.failures:
            raise RuntimeError("table unavailable")
        self.delivered.set()


def test_a_failed_delivery_is_retried_until_the_projector_takes_it():
    # Given a bus whose target fails twice
    target = Target(failures=2)
    bus = StatusEventBus(target, attempts=6, first_retry_seconds=0.01)

    # When one event is published
    bus.publish(event("retried", "RUNNING"))

    # Then the third attempt delivers it
    assert target.delivered.wait(timeout=5)
    bus.close()
    assert (target.calls, bus.delivered, bus.dropped) == (3, 1, 0)


def test_an_event_that_keeps_failing_is_dropped_after_the_last_attempt_and_logged(caplog):
    # Given a bus of three attempts whose target always fails
    target = Target(failures=100)
    bus = StatusEventBus(target, attempts=3, first_retry_seconds=0.01)

    # When one event is published and the bus has done what it can
    with caplog.at_level(logging.ERROR, logger="local.events"):
        bus.publish(event("doomed", "SUCCEEDED"))
        assert bus.wait_idle(timeout=5)
        bus.close()

    # Then it was tried three times, then dropped with a log line naming the execution
    assert (target.calls, bus.delivered, bus.dropped) == (3, 0, 1)
    assert "status event dropped after 3 attempts: doomed SUCCEEDED" in caplog.text


def outbox_rows(database) -> list[tuple[str, str]]:
    """(execution name, status) of each event in the store's outbox, read by another connection."""
    with sqlite3.connect(database) as connection:
        rows = connection.execute("SELECT event FROM status_outbox ORDER BY rowid").fetchall()
    return [
        (detail["durableExecutionName"], detail["status"])
        for detail in (json.loads(event)["detail"] for (event,) in rows)
    ]


def test_the_save_that_starts_or_ends_an_execution_commits_its_event_with_it(tmp_path):
    # Given the runtime's store on a database
    store = WriteThroughStore(tmp_path / DATABASE_FILE)
    execution = started_execution("outboxed", "{}", started=STARTED)

    # When an execution is saved new, saved again running, then saved ended, twice
    store.save(execution)
    after_start = outbox_rows(tmp_path / DATABASE_FILE)
    store.save(execution)
    execution.complete_success(result="{}", now=STARTED + timedelta(seconds=2))
    store.save(execution)
    store.save(execution)
    store.close()

    # Then the first save committed RUNNING, the first save as ended its end, and nothing else
    assert after_start == [("outboxed", "RUNNING")]
    assert outbox_rows(tmp_path / DATABASE_FILE) == [("outboxed", "RUNNING"), ("outboxed", "SUCCEEDED")]


def test_events_left_in_the_outbox_are_delivered_by_the_next_runtime_and_then_taken_out(tmp_path):
    # Given a store that kept two events no bus delivered (the runtime was killed), then closed
    first = WriteThroughStore(tmp_path / DATABASE_FILE)
    execution = started_execution("left-over", "{}", started=STARTED)
    first.save(execution)
    execution.complete_success(result="{}", now=STARTED + timedelta(seconds=2))
    first.save(execution)
    first.close()
    delivered: list[tuple[str, str]] = []

    # When the next runtime opens the store and its bus starts
    second = WriteThroughStore(tmp_path / DATABASE_FILE)
    bus = StatusEventBus(
        lambda event, context: delivered.append(
            (event["detail"]["durableExecutionName"], event["detail"]["status"])
        ),
        second,
    )
    assert bus.wait_idle(timeout=5)
    bus.close()
    second.close()

    # Then both events reach the projector, and the outbox is empty
    assert sorted(delivered) == [("left-over", "RUNNING"), ("left-over", "SUCCEEDED")]
    assert outbox_rows(tmp_path / DATABASE_FILE) == []


def test_an_event_the_projector_keeps_refusing_stays_in_the_outbox_for_the_next_start(tmp_path, caplog):
    # Given a bus of two attempts on a store, whose projector always fails
    store = WriteThroughStore(tmp_path / DATABASE_FILE)
    target = Target(failures=100)
    bus = StatusEventBus(target, store, attempts=2, first_retry_seconds=0.01)

    # When an execution starts and the bus has done what it can
    with caplog.at_level(logging.ERROR, logger="local.events"):
        store.save(started_execution("refused", "{}", started=STARTED))
        assert bus.wait_idle(timeout=5)
        bus.close()
    store.close()

    # Then the event was dropped with a log line, and is still in the outbox
    assert (target.calls, bus.dropped) == (2, 1)
    assert "refused RUNNING" in caplog.text
    assert "stays in the outbox" in caplog.text
    assert outbox_rows(tmp_path / DATABASE_FILE) == [("refused", "RUNNING")]


def test_executions_resumed_at_start_up_publish_running_again(tmp_path):
    from durable_math import lambda_handler

    # Given an execution a killed runtime left RUNNING in its store, its RUNNING already delivered
    execution = started_execution("resumed", '{"num1": 8, "num2": 2}')
    store = WriteThroughStore(tmp_path / DATABASE_FILE)
    store.save(execution)
    for event in store.pending_events():
        store.event_delivered(event["id"])
    store.close()
    told: list[tuple[str, str]] = []

    # When a runtime opens the data folder, a bus on its store, and the execution ends
    runtime = DurableRuntime(lambda_handler, tmp_path)
    bus = StatusEventBus(
        lambda event, context: told.append(
            (event["detail"]["durableExecutionName"], event["detail"]["status"])
        ),
        runtime.store,
    )
    try:
        runtime.open()
        assert runtime.wait(execution.durable_execution_arn, timeout=30) is not None
        assert bus.wait_idle(timeout=5)
    finally:
        bus.close()
        runtime.close()

    # Then the projector heard RUNNING again, then its end
    assert sorted(told) == [("resumed", "RUNNING"), ("resumed", "SUCCEEDED")]


@pytest.fixture
def projector(local_runtime, monkeypatch):
    """The status projector's handler, in this process, writing to the local runtime's table."""
    if local_runtime is None:
        pytest.skip("needs the local runtime's table")
    for variable, value in {
        "CALCULATIONS_TABLE_NAME": TABLE,
        "RETENTION_PERIOD_DAYS": "7",
        "AWS_ENDPOINT_URL_DYNAMODB": local_runtime.urls["DynamoDB"],
        "AWS_ENDPOINT_URL_LAMBDA": local_runtime.lambda_url,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
    }.items():
        monkeypatch.setenv(variable, value)
    for folder in ("status_projector", "shared"):
        monkeypatch.syspath_prepend(str(REPO_ROOT / "functions" / folder))
    module = importlib.import_module("status_projector")
    # Settings and clients are made once per container: this test's environment is a new container.
    for cached in (module.get_settings, module.dynamodb_client, module.lambda_client):
        cached.cache_clear()
    yield lambda event: module.lambda_handler(event, projector_context())
    for cached in (module.get_settings, module.dynamodb_client, module.lambda_client):
        cached.cache_clear()
    sys.modules.pop("status_projector")


def table_client(local_runtime):
    return boto3.client(
        "dynamodb",
        endpoint_url=local_runtime.urls["DynamoDB"],
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


def item(local_runtime, name: str) -> dict | None:
    key = {"executionName": {"S": name}}
    return table_client(local_runtime).get_item(TableName=TABLE, Key=key, ConsistentRead=True).get("Item")


def started_by_the_api(local_runtime, name: str) -> dict:
    """The item the API puts before it starts the execution (started now: the reconciler leaves it be)."""
    started = new_item(name, "key:status-events", name, {"num1": 1, "num2": 2}, datetime.now(UTC))
    table_client(local_runtime).put_item(TableName=TABLE, Item=started)
    return started


def test_a_duplicate_terminal_event_leaves_the_item_as_the_first_left_it(projector, local_runtime):
    # Given a calculation's item, and its execution's RUNNING and STOPPED events, delivered in order
    started_by_the_api(local_runtime, "duplicated")
    execution = started_execution("duplicated", "{}", started=STARTED)
    running = status_event(execution, "RUNNING")
    execution.complete_stopped(error=None, now=STARTED + timedelta(seconds=3))
    stopped = status_event(execution, "STOPPED")
    projector(running)
    projector(stopped)
    first = item(local_runtime, "duplicated")

    # When EventBridge delivers the STOPPED event again
    projector(stopped)

    # Then the item is unchanged: STOPPED, with the first delivery's end time
    assert item(local_runtime, "duplicated") == first
    assert first["status"] == {"S": "STOPPED"}
    assert first["endedAt"] == {"S": "2026-11-29T12:00:03.000000Z"}


def test_a_running_event_that_arrives_after_the_end_does_not_move_the_item_back(projector, local_runtime):
    # Given a calculation whose execution's STOPPED event arrives first
    started = started_by_the_api(local_runtime, "reversed")
    projector(event("reversed", "STOPPED", ended=STARTED + timedelta(seconds=2)))

    # When its RUNNING event arrives afterwards
    projector(event("reversed", "RUNNING"))

    # Then the item stays STOPPED, with the start the API wrote and the end the event carries
    ended = item(local_runtime, "reversed")
    assert ended["status"] == {"S": "STOPPED"}
    assert ended["startedAt"] == started["startedAt"]
    assert ended["endedAt"] == {"S": "2026-11-29T12:00:02.000000Z"}


def test_a_later_terminal_event_with_other_values_does_not_overwrite_the_end(projector, local_runtime):
    # Given a calculation recorded STOPPED at 12:00:02
    started_by_the_api(local_runtime, "ended-once")
    projector(event("ended-once", "STOPPED", ended=STARTED + timedelta(seconds=2)))
    first = item(local_runtime, "ended-once")

    # When another terminal event arrives later, with another status and another end time
    projector(event("ended-once", "TIMED_OUT", ended=STARTED + timedelta(minutes=15)))

    # Then the item is exactly as the first end left it
    assert item(local_runtime, "ended-once") == first
    assert first["status"] == {"S": "STOPPED"}
    assert first["endedAt"] == {"S": "2026-11-29T12:00:02.000000Z"}


def test_late_events_of_a_deleted_calculation_bring_nothing_back(projector, local_runtime):
    # Given a calculation its consumer deleted: no item
    assert item(local_runtime, "deleted-then-late") is None

    # When its execution's events arrive late, in any order (EventBridge retries for up to a day)
    projector(event("deleted-then-late", "STOPPED", ended=STARTED + timedelta(seconds=2)))
    projector(event("deleted-then-late", "RUNNING"))

    # Then neither raises (nothing to retry) and no item is made
    assert item(local_runtime, "deleted-then-late") is None


def test_events_pending_when_the_runtime_is_killed_reach_the_table_after_the_restart(
    needs_local, tmp_path_factory
):
    # Given a runtime hosting a function that never touches the table, with the reconciler off (only
    # the outbox may bring the ends to the table), each calculation's item put as the API puts it
    # before it starts the execution, and dynalite then frozen, so that the projector takes no event
    runtime = start_runtime(tmp_path_factory, "outbox-kill", *TABLELESS_HANDLER, "--reconcile-every", "0")
    lambda_client = local_lambda_client(runtime.lambda_url, read_timeout=30)
    names = [f"outbox-{n}" for n in range(5)]
    for name in names:
        started_by_the_api(runtime, name)
    frozen = dynalite_processes(runtime.data_dir)[0]
    os.kill(frozen, signal.SIGSTOP)
    for name in names:
        lambda_client.invoke(FunctionName="math-durable:live", DurableExecutionName=name, Payload=b"{}")

    # When the runtime is killed with their events undelivered, and started again
    runtime.kill()
    os.kill(frozen, signal.SIGKILL)
    pending = outbox_rows(runtime.data_dir / DATABASE_FILE)
    runtime.start()

    # Then the killed runtime had kept both events of each execution, and the next one delivers
    # them: each item says SUCCEEDED, and the outbox empties
    assert sorted(pending) == sorted((name, status) for name in names for status in ("RUNNING", "SUCCEEDED"))
    try:
        assert wait_until(lambda: outbox_rows(runtime.data_dir / DATABASE_FILE) == [], timeout=30)
        assert {name: item(runtime, name)["status"]["S"] for name in names} == dict.fromkeys(
            names, "SUCCEEDED"
        )
    finally:
        runtime.stop()


def projector_processes(runtime) -> list[int]:
    """The status projector's worker processes (named `projector`), children of the runtime."""
    tasks = Path(f"/proc/{runtime.process.pid}/task").glob("*/children")
    children = [int(pid) for path in tasks for pid in path.read_text().split()]
    return [pid for pid in children if process_name(pid) == "projector"]


def process_name(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:  # gone meanwhile
        return None


def test_a_killed_projector_process_loses_no_event_and_is_replaced(needs_local, tmp_path_factory):
    # Given a runtime hosting a function that never touches the table, with the reconciler off (only
    # the projector brings the ends to the table), and calculations started while one of the
    # projector's processes is killed
    runtime = start_runtime(tmp_path_factory, "projector-kill", *TABLELESS_HANDLER, "--reconcile-every", "0")
    lambda_client = local_lambda_client(runtime.lambda_url, read_timeout=30)
    names = [f"projected-{n}" for n in range(30)]
    try:
        assert wait_until(lambda: len(projector_processes(runtime)) == 2)
        killed = projector_processes(runtime)[0]
        for n, name in enumerate(names):
            started_by_the_api(runtime, name)
            lambda_client.invoke(
                FunctionName="math-durable:live",
                InvocationType="Event",
                DurableExecutionName=name,
                Payload=b"{}",
            )
            if n == 10:
                os.kill(killed, signal.SIGKILL)

        # Then every item says SUCCEEDED (the events the killed process held were delivered again),
        # the outbox empties, and the pool has started another process in its place
        assert wait_until(
            lambda: all((item(runtime, name) or {}).get("status") == {"S": "SUCCEEDED"} for name in names),
            timeout=30,
        )
        assert wait_until(lambda: outbox_rows(runtime.data_dir / DATABASE_FILE) == [], timeout=30)
        assert killed not in projector_processes(runtime)
        assert projector_processes(runtime)
    finally:
        runtime.stop()
