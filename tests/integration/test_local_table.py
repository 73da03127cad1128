"""The calculations table's local twin (dynalite), as `python -m local` starts, fills and stops it."""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator

import boto3
import pytest
from botocore.config import Config

from calculation_records import KEY_SCHEMA
from conftest import DEPLOYED, DEPLOYED_API_URL
from leveldb_manifest import manifest_files, table_files
from local.dynamodb_twin import DynamoDBTwin
from runtime_process import REPO_ROOT, LocalRuntime, child_environment

TABLE = "calculations"
INDEX = "byOwner"
# 32 KiB an item: a few hundred writes fill LevelDB's 4 MiB write buffer and make it flush.
PADDING = "0123456789abcdef" * 2048


def dynamodb(url: str):
    return boto3.client(
        "dynamodb",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=Config(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=2, read_timeout=10),
    )


def dynalite_processes(data_dir) -> list[int]:
    """The pids of dynalite processes serving `data_dir`'s table."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                arguments = cmdline.read().split(b"\0")
        except OSError:
            continue
        if any(b"dynalite" in a for a in arguments) and str(data_dir / "dynamodb").encode() in arguments:
            found.append(int(entry))
    return found


def wait_until(condition, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


@pytest.fixture
def table_runtime(needs_local, tmp_path):
    runtime = LocalRuntime(tmp_path / "data", tmp_path / "runtime.log").start()
    yield runtime
    if runtime.process is not None and runtime.process.poll() is None:
        runtime.stop()


@pytest.fixture
def twin(tmp_path) -> Iterator[DynamoDBTwin]:
    """The table's twin alone, on 127.0.0.1 and a fresh data folder."""
    if DEPLOYED_API_URL:
        pytest.skip(f"needs the local table's twin, and {DEPLOYED}")
    twin = DynamoDBTwin("127.0.0.1", 0, tmp_path, {TABLE: KEY_SCHEMA})
    twin.start()
    yield twin
    twin.stop()


def put_padded(client, n: int) -> None:
    """Write one of 100 open items again: a new version of its 32 KiB and of its index entries."""
    client.put_item(
        TableName=TABLE,
        Item={
            "executionName": {"S": f"calculation-{n % 100}"},
            "owner": {"S": "default"},
            "startedAt": {"S": f"2026-01-01T00:00:00.{n:06d}Z"},
            "openShard": {"S": str(n % 8)},
            "padding": {"S": PADDING},
        },
    )


def test_the_tables_folder_keeps_only_the_table_files_leveldb_still_uses(twin, report):
    # Given a table written over and over (1,000 writes of 32 KiB on 100 items, 32 MB), with a
    # Query with Limit on the open index every 10 writes, as the reconciler's
    client = dynamodb(twin.url)
    for n in range(1000):
        put_padded(client, n)
        if n % 10 == 0:
            client.query(
                TableName=TABLE,
                IndexName="byOpenShard",
                KeyConditionExpression="#shard = :shard",
                ExpressionAttributeNames={"#shard": "openShard"},
                ExpressionAttributeValues={":shard": {"S": str(n % 8)}},
                Limit=5,
            )

    # When writes go on (10 MB more at a time), so LevelDB flushes and compacts again after the
    # last Query: it deletes the files a compaction replaced only when it compacts next, and only
    # those no open iterator holds (an iterator's close is asynchronous: a busy machine may need
    # another round; a leaked iterator holds them for good)
    folder = twin.path
    assert folder is not None
    written = 1000
    for _ in range(4):
        for n in range(written, written + 300):
            put_padded(client, n)
        written += 300
        if wait_until(lambda: table_files(folder) == manifest_files(folder)[0], timeout=3):
            break

    # Then LevelDB has compacted, replacing table files, and the folder holds only the ones its
    # MANIFEST names as live: none that a compaction replaced is left behind
    live, replaced = manifest_files(folder)
    assert len(replaced) >= 4
    assert table_files(folder) == live
    table_bytes = sum(path.stat().st_size for path in folder.glob("*.ldb"))
    report(
        "local table files",
        f"local table: {len(replaced)} table files replaced by compaction and deleted; "
        f"{table_bytes / 1e6:.1f} MB of table files after {written:,} writes of 32 KiB on 100 items",
    )


def test_the_runtime_creates_the_table_with_the_templates_key_owner_index_and_open_index(table_runtime):
    # Given a runtime started on a fresh data folder
    client = dynamodb(table_runtime.urls["DynamoDB"])

    # When the table is described
    table = client.describe_table(TableName=TABLE)["Table"]

    # Then it is keyed by execution name, with the owner index listing newest first and the
    # sparse open index the reconciler reads
    assert table["TableStatus"] == "ACTIVE"
    assert table["KeySchema"] == [{"AttributeName": "executionName", "KeyType": "HASH"}]
    indexes = {index["IndexName"]: index for index in table["GlobalSecondaryIndexes"]}
    assert set(indexes) == {INDEX, "byOpenShard"}
    assert indexes[INDEX]["KeySchema"] == [
        {"AttributeName": "owner", "KeyType": "HASH"},
        {"AttributeName": "startedAt", "KeyType": "RANGE"},
    ]
    assert indexes[INDEX]["Projection"] == {
        "ProjectionType": "INCLUDE",
        "NonKeyAttributes": ["id", "status", "endedAt", "expiresAt", "executionArn", "startDeadline"],
    }
    assert indexes["byOpenShard"]["KeySchema"] == [
        {"AttributeName": "openShard", "KeyType": "HASH"},
        {"AttributeName": "startedAt", "KeyType": "RANGE"},
    ]


def test_a_calculation_started_on_the_lambda_endpoint_runs_but_gets_no_item(table_runtime):
    # Given a runtime, and its Lambda endpoint and table as boto3 reaches them
    lambda_client = boto3.client(
        "lambda",
        endpoint_url=table_runtime.lambda_url,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    client = dynamodb(table_runtime.urls["DynamoDB"])

    # When an execution is started asynchronously, outside the API
    arn = lambda_client.invoke(
        FunctionName="math-durable:live",
        InvocationType="Event",
        DurableExecutionName="from-the-cli",
        Payload=json.dumps({"num1": 10, "num2": 5}),
    )["DurableExecutionArn"]

    # Then it runs to its end in Lambda
    def status():
        return lambda_client.get_durable_execution(DurableExecutionArn=arn)["Status"]

    assert wait_until(lambda: status() == "SUCCEEDED")
    # But its status events and its Record step write no item: no consumer could see one, and a
    # status write never creates an item (`make repair` leaves such executions out too)
    time.sleep(1)
    assert client.get_item(TableName=TABLE, Key={"executionName": {"S": "from-the-cli"}}).get("Item") is None


def test_acknowledged_table_writes_survive_sigkill_and_the_table_server_goes_with_the_runtime(
    table_runtime, report
):
    # Given a runtime, and 200 items written to its table, each acknowledged
    client = dynamodb(table_runtime.urls["DynamoDB"])
    latencies = []
    for n in range(200):
        started = time.perf_counter()
        client.put_item(
            TableName=TABLE,
            Item={"executionName": {"S": f"kept-{n}"}, "status": {"S": "RUNNING"}},
            ConditionExpression="attribute_not_exists(executionName)",
        )
        latencies.append((time.perf_counter() - started) * 1000)
    assert dynalite_processes(table_runtime.data_dir)

    # When the runtime is killed with SIGKILL
    table_runtime.kill()

    # Then its table server ends with it
    assert wait_until(lambda: not dynalite_processes(table_runtime.data_dir))

    # And when it starts again on the same data folder, every acknowledged write is there
    started = time.perf_counter()
    table_runtime.start()
    restart_seconds = time.perf_counter() - started
    client = dynamodb(table_runtime.urls["DynamoDB"])
    names = {
        item["executionName"]["S"]
        for page in client.get_paginator("scan").paginate(TableName=TABLE)
        for item in page["Items"]
    }
    assert {f"kept-{n}" for n in range(200)} <= names
    report(
        "local table",
        f"local table: PutItem p50 {statistics.median(latencies):.1f} ms, "
        f"p99 {statistics.quantiles(latencies, n=100)[98]:.1f} ms (boto3, conditional); "
        f"200 of 200 writes kept across SIGKILL; runtime restart to banner {restart_seconds:.1f} s",
    )


def test_a_taken_dynamodb_port_stops_start_up_with_a_clear_error(needs_local, tmp_path):
    # Given a port some other process listens on
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]

        # When the runtime is asked for it as its DynamoDB port
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "local",
                *("--api-port", "0", "--lambda-port", "0", "--dynamodb-port", str(port)),
                *("--data-dir", str(tmp_path / "data")),
            ],
            cwd=REPO_ROOT,
            env=child_environment(),
            capture_output=True,
            text=True,
            timeout=60,
        )

    # Then it exits with an error naming the port and the flag, and leaves no table server behind
    assert result.returncode != 0
    assert f"port {port} on 127.0.0.1 is already in use" in result.stderr
    assert "--dynamodb-port" in result.stderr
    assert not dynalite_processes(tmp_path / "data")


def test_sigterm_stops_the_table_server_too(needs_local, tmp_path):
    # Given a runtime with its table server running
    runtime = LocalRuntime(tmp_path / "data", tmp_path / "runtime.log").start()
    assert dynalite_processes(tmp_path / "data")

    # When it is stopped with SIGTERM
    exit_code = runtime.stop()

    # Then it exits cleanly, and the table server is gone
    assert exit_code == 0
    assert not dynalite_processes(tmp_path / "data")
