"""Kill the runtime with SIGKILL mid-burst, start it again on the same data folder: nothing is lost."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import boto3
from botocore.exceptions import ConnectionClosedError
from botocore.exceptions import ConnectionError as NoConnection

from calculation_records import new_item
from runtime_process import LocalRuntime, local_lambda_client

BURST = 120
KILL_AFTER = 20  # accepted starts before the kill: the latest of them are still running


def expected(n: int) -> dict:
    return {"Add": n + 4, "Subtract": n - 4, "Multiply": n * 4, "Division": n / 4}


def test_executions_in_flight_at_sigkill_resume_and_end_right(needs_local, tmp_path, report):
    # Given a runtime on its own data folder, and a burst of named calculations sent from 8 clients
    # (the check below polls faster than AWS's default control-plane rates allow)
    runtime = LocalRuntime(tmp_path / "data", tmp_path / "runtime.log", "--no-control-plane-quotas").start()
    lambda_client = local_lambda_client(runtime.lambda_url, read_timeout=10)
    names = [f"durable-{n}" for n in range(BURST)]
    # Each with its item, as the API puts it before it starts the execution (status writes never
    # create one)
    table = boto3.client(
        "dynamodb",
        endpoint_url=runtime.urls["DynamoDB"],
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    now = datetime.now(UTC)
    for n, name in enumerate(names):
        item = new_item(name, "key:durability", name, {"num1": n, "num2": 4}, now)
        table.put_item(TableName="calculations", Item=item)

    accepted_count = 0
    enough_accepted = threading.Event()
    count_lock = threading.Lock()

    def start(n: int) -> bool:
        nonlocal accepted_count
        try:
            lambda_client.invoke(
                FunctionName="math-durable:live",
                InvocationType="Event",
                DurableExecutionName=names[n],
                Payload=json.dumps({"num1": n, "num2": 4}),
            )
        except (NoConnection, ConnectionClosedError):
            # No connection, or it closed before an answer: the runtime died under this request,
            # and the client will send it again. An HTTP error answer is not that: it propagates
            # and fails the test.
            return False
        with count_lock:
            accepted_count += 1
            if accepted_count >= KILL_AFTER:
                enough_accepted.set()
        return True

    with ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(start, n) for n in range(BURST)]
        # When the runtime is killed while the burst is still arriving and running
        assert enough_accepted.wait(timeout=60)
        runtime.kill()
        accepted = [f.result() for f in futures]

    # And started again on the same data folder, the clients resending what was not accepted
    runtime.start()
    lambda_client = local_lambda_client(runtime.lambda_url, read_timeout=10)
    resumed_line = next(
        (line for line in runtime.run_output().splitlines() if "Resumed" in line), "Resumed 0"
    )
    resumed = int(resumed_line.split()[1])
    resent = [n for n, ok in enumerate(accepted) if not ok]
    for n in resent:
        assert start(n)

    # Then every calculation ends SUCCEEDED with its own numbers, each step run to one result
    results = {}
    deadline = time.monotonic() + 60
    for n, name in enumerate(names):
        listed = lambda_client.list_durable_executions_by_function(
            FunctionName="math-durable", DurableExecutionName=name
        )["DurableExecutions"]
        assert len(listed) == 1, f"{name}: {len(listed)} executions"
        arn = listed[0]["DurableExecutionArn"]
        while (execution := lambda_client.get_durable_execution(DurableExecutionArn=arn))[
            "Status"
        ] == "RUNNING":
            assert time.monotonic() < deadline, f"{name} still RUNNING"
            time.sleep(0.05)
        results[name] = execution
        assert execution["Status"] == "SUCCEEDED", f"{name}: {execution['Status']}"
        assert json.loads(execution["Result"]) == expected(n)
        events = lambda_client.get_durable_execution_history(DurableExecutionArn=arn)["Events"]
        succeeded = [e["Name"] for e in events if e["EventType"] == "StepSucceeded"]
        assert sorted(succeeded) == ["Add", "Division", "Multiply", "Record", "Subtract"], (
            f"{name}: {succeeded}"
        )

    # And the table holds each one's result, recorded once whatever the kill interrupted
    for n, name in enumerate(names):
        item = table.get_item(TableName="calculations", Key={"executionName": {"S": name}})["Item"]
        assert item["status"]["S"] == "SUCCEEDED", f"{name}: {item['status']}"
        assert json.loads(item["result"]["S"]) == expected(n)

    summary = (
        f"durability: {BURST} calculations, {BURST - len(resent)} accepted before SIGKILL, "
        f"{resumed} resumed at restart, {len(resent)} resent, {len(results)} ended SUCCEEDED and right"
    )
    report("durability", summary)
    assert runtime.stop() == 0
    assert resumed > 0, "the kill came after every execution had ended: nothing was in flight"
