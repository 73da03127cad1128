"""The table heals itself: abandoned starts and lost ends mended by the reconciler, DELETE racing POST.

A runtime of its own reconciles every second (`--reconcile-every 1`). Faults are made in its
table directly, through boto3 on the local DynamoDB endpoint, as a killed API container or a lost
status event would leave it.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError, EndpointConnectionError

from api_helpers import TEN_AND_FIVE, consumer, post, url, wait_for_result
from calculation_facts import execution_name
from calculation_records import format_time, new_item, open_shard
from conftest import DEPLOYED, DEPLOYED_API_URL, NO_CONTROL_PLANE_QUOTAS, UNLIMITED, start_runtime
from local.command_line import parse_settings
from local.status_events import projector_context
from local.table_reconciler import TableReconciler
from runtime_process import LocalRuntime

TABLE = "calculations"
BODY = {"num1": 10, "num2": 5}
# The reconciler runs every second here; a few periods, with room for a loaded machine.
MENDED_WITHIN_SECONDS = 15


@pytest.fixture(scope="module")
def healing_runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRuntime]:
    if DEPLOYED_API_URL:
        pytest.skip(f"needs local control of the table, and {DEPLOYED}")
    runtime = start_runtime(
        tmp_path_factory, "healing-runtime", *UNLIMITED, NO_CONTROL_PLANE_QUOTAS, "--reconcile-every", "1"
    )
    yield runtime
    runtime.stop()


@pytest.fixture(scope="module")
def api(healing_runtime: LocalRuntime) -> requests.Session:
    return consumer(healing_runtime.api_url, healing_runtime.api_key())


@pytest.fixture(scope="module")
def owner(healing_runtime: LocalRuntime) -> str:
    """The owner the API records for the default key's calculations."""
    return f"key:{healing_runtime.key().id}"


@pytest.fixture(scope="module")
def table(healing_runtime: LocalRuntime):
    return boto3.client(
        "dynamodb",
        endpoint_url=healing_runtime.urls["DynamoDB"],
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=Config(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=2, read_timeout=10),
    )


def stored(table, name: str) -> dict | None:
    key = {"executionName": {"S": name}}
    return table.get_item(TableName=TABLE, Key=key, ConsistentRead=True).get("Item")


def wait_until(condition, timeout: float = MENDED_WITHIN_SECONDS) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def listed_ids(api: requests.Session) -> set[str]:
    response = api.get(url(api, "/calculations"), params={"limit": 100}, timeout=30)
    assert response.status_code == 200, response.text
    return {calculation["id"] for calculation in response.json()["items"]}


def put_abandoned_start(table, owner: str, calculation_id: str, started_seconds_ago: float) -> str:
    """The item the API puts before its Invoke, as if the runtime died right after: no execution, no ARN."""
    name = execution_name(owner, calculation_id)
    started_at = datetime.now(UTC) - timedelta(seconds=started_seconds_ago)
    table.put_item(TableName=TABLE, Item=new_item(name, owner, calculation_id, BODY, started_at))
    return name


def test_an_abandoned_start_is_hidden_then_removed_and_its_key_starts_it_again(api, owner, table):
    # Given the item of a start whose Invoke never happened, past its 30 s deadline
    calculation_id = f"abandoned-{uuid.uuid4().hex[:12]}"
    name = put_abandoned_start(table, owner, calculation_id, started_seconds_ago=60)

    # Then no consumer sees it: not by id, not in the list
    assert api.get(url(api, f"/calculations/{calculation_id}"), timeout=30).status_code == 404
    assert calculation_id not in listed_ids(api)
    # And the reconciler deletes it within a few seconds
    assert wait_until(lambda: stored(table, name) is None)

    # When the client retries with the same Idempotency-Key
    retried = post(api, BODY, **{"Idempotency-Key": calculation_id})

    # Then the calculation starts and ends with its result
    assert retried.status_code == 202, retried.text
    assert wait_for_result(api, calculation_id).json() == TEN_AND_FIVE


def test_a_retry_replaces_an_abandoned_start_before_the_reconciler_gets_to_it(api, owner, table):
    # Given an abandoned start the reconciler leaves for now (started 5 s ago, within its 10 s grace)
    # whose deadline has nonetheless passed
    calculation_id = f"retried-{uuid.uuid4().hex[:12]}"
    name = execution_name(owner, calculation_id)
    started_at = datetime.now(UTC) - timedelta(seconds=5)
    item = new_item(name, owner, calculation_id, BODY, started_at)
    item["startDeadline"] = {"N": str(int(time.time()) - 1)}
    table.put_item(TableName=TABLE, Item=item)

    # Then no consumer sees it, though it is still there
    assert api.get(url(api, f"/calculations/{calculation_id}"), timeout=30).status_code == 404
    assert calculation_id not in listed_ids(api)
    assert stored(table, name) is not None

    # When the client retries with the same Idempotency-Key, Then the table lets the new start in
    retried = post(api, BODY, **{"Idempotency-Key": calculation_id})
    assert retried.status_code == 202, retried.text
    assert wait_for_result(api, calculation_id).json() == TEN_AND_FIVE


def test_a_lost_end_is_recorded_from_lambda_within_the_reconcile_period(api, owner, table):
    # Given a calculation that ended, whose end the table then lost (events and the Record write):
    # its item is back to RUNNING, open, with its ARN, as it was when it started a minute ago
    calculation_id = f"lost-end-{uuid.uuid4().hex[:12]}"
    assert post(api, BODY, **{"Idempotency-Key": calculation_id}).status_code == 202
    assert wait_for_result(api, calculation_id).json() == TEN_AND_FIVE
    name = execution_name(owner, calculation_id)
    table.update_item(
        TableName=TABLE,
        Key={"executionName": {"S": name}},
        UpdateExpression="SET #status = :running, startedAt = :started, openShard = :shard"
        " REMOVE #result, endedAt, expiresAt",
        ExpressionAttributeNames={"#status": "status", "#result": "result"},
        ExpressionAttributeValues={
            ":running": {"S": "RUNNING"},
            ":started": {"S": format_time(datetime.now(UTC) - timedelta(minutes=1))},
            ":shard": {"S": open_shard(name)},
        },
    )
    assert api.get(url(api, f"/calculations/{calculation_id}"), timeout=30).json()["status"] == "RUNNING"

    # Then within the reconcile period it reads SUCCEEDED again, with its result
    def status() -> str:
        return api.get(url(api, f"/calculations/{calculation_id}"), timeout=30).json()["status"]

    assert wait_until(lambda: status() == "SUCCEEDED")
    assert api.get(url(api, f"/calculations/{calculation_id}/result"), timeout=30).json() == TEN_AND_FIVE


def race_delete_and_post(api: requests.Session, calculation_id: str) -> tuple[int, int]:
    """DELETE and POST of the same key, released together; their statuses."""
    barrier = threading.Barrier(2)
    statuses: dict[str, int] = {}

    def delete() -> None:
        barrier.wait()
        statuses["delete"] = api.delete(url(api, f"/calculations/{calculation_id}"), timeout=30).status_code

    def start() -> None:
        barrier.wait()
        statuses["post"] = post(api, BODY, **{"Idempotency-Key": calculation_id}).status_code

    threads = [threading.Thread(target=delete), threading.Thread(target=start)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return statuses["delete"], statuses["post"]


def settled(api: requests.Session, calculation_id: str) -> requests.Response:
    """GET, once the calculation is gone or has ended (a racing POST may have started it again)."""
    deadline = time.monotonic() + MENDED_WITHIN_SECONDS
    while True:
        response = api.get(url(api, f"/calculations/{calculation_id}"), timeout=30)
        if response.status_code == 404 or response.json()["status"] != "RUNNING":
            return response
        assert time.monotonic() < deadline, f"{calculation_id} still RUNNING: {response.text}"
        time.sleep(0.1)


@pytest.fixture
def deliver_late(healing_runtime: LocalRuntime, monkeypatch: pytest.MonkeyPatch):
    """EventBridge delivering a status event again, late (it delivers at least once, in any order):
    the status projector's handler, in this process, on this runtime's table and Lambda endpoint."""
    for variable, value in {
        "CALCULATIONS_TABLE_NAME": TABLE,
        "AWS_ENDPOINT_URL_DYNAMODB": healing_runtime.urls["DynamoDB"],
        "AWS_ENDPOINT_URL_LAMBDA": healing_runtime.lambda_url,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
    }.items():
        monkeypatch.setenv(variable, value)
    import status_projector

    caches = (status_projector.get_settings, status_projector.dynamodb_client, status_projector.lambda_client)
    for cached in caches:
        cached.cache_clear()
    yield lambda event: status_projector.lambda_handler(event, projector_context())
    for cached in caches:
        cached.cache_clear()


def status_change(item: dict, status: str) -> dict:
    """The status-change event Lambda sent for the execution an item records."""
    arn = item["executionArn"]["S"]
    detail = {
        "durableExecutionArn": arn,
        "durableExecutionName": item["executionName"]["S"],
        "functionArn": arn.split("/durable-execution/", 1)[0],
        "status": status,
        "startTimestamp": item["startedAt"]["S"],
    }
    if status != "RUNNING":
        detail["endTimestamp"] = item["endedAt"]["S"]
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "source": "aws.lambda",
        "detail-type": "Durable Execution Status Change",
        "account": "123456789012",
        "region": "us-east-1",
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "resources": [],
        "detail": detail,
    }


def test_delete_racing_post_with_the_same_key_never_leaves_the_key_unusable(
    api, owner, table, deliver_late, report
):
    # Given 10 calculations, each deleted as soon as it has ended while a POST with its key arrives
    # at the same moment, and then its execution's status events delivered again, late
    answers = []
    for round_number in range(10):
        calculation_id = f"race-{round_number}-{uuid.uuid4().hex[:8]}"
        ended = post(api, BODY, **{"Idempotency-Key": calculation_id, "Prefer": "wait=10"})
        assert (ended.status_code, ended.json()["result"]) == (200, TEN_AND_FIVE), ended.text
        first_run = stored(table, execution_name(owner, calculation_id))
        delete_status, post_status = race_delete_and_post(api, calculation_id)
        deliver_late(status_change(first_run, "SUCCEEDED"))
        deliver_late(status_change(first_run, "RUNNING"))
        answers.append((delete_status, post_status))
        assert delete_status in (204, 404), (round_number, delete_status)
        assert post_status in (200, 202, 503), (round_number, post_status)

        # Then the key reads as gone, or as the right calculation
        after = settled(api, calculation_id)
        assert after.status_code in (200, 404), after.text
        if after.status_code == 200:
            assert (after.json()["status"], after.json()["result"]) == ("SUCCEEDED", TEN_AND_FIVE)
        # And a POST with that key works, and its calculation ends with its result
        final = post(api, BODY, **{"Idempotency-Key": calculation_id})
        assert final.status_code in (200, 202), (round_number, final.text)
        assert wait_for_result(api, calculation_id).json() == TEN_AND_FIVE
    report("delete-post-race", f"DELETE/POST race, (DELETE, POST) statuses over 10 rounds: {answers}")


def test_reconcile_every_defaults_to_5_s_and_a_flag_or_variable_sets_it(monkeypatch):
    monkeypatch.delenv("LOCAL_RECONCILE_EVERY", raising=False)
    assert parse_settings([]).reconcile_every == 5
    assert parse_settings(["--reconcile-every", "0"]).reconcile_every == 0
    monkeypatch.setenv("LOCAL_RECONCILE_EVERY", "2.5")
    assert parse_settings([]).reconcile_every == 2.5
    assert parse_settings(["--reconcile-every", "1"]).reconcile_every == 1


@pytest.mark.parametrize("value", ["-1", "soon", "86401"])
def test_a_reconcile_period_that_is_not_0_to_a_day_is_refused(monkeypatch, capsys, value):
    monkeypatch.delenv("LOCAL_RECONCILE_EVERY", raising=False)
    with pytest.raises(SystemExit):
        parse_settings(["--reconcile-every", value])
    assert "--reconcile-every: must be" in capsys.readouterr().err


def test_a_run_that_cannot_reach_the_table_is_logged_and_the_next_period_tries_again(caplog):
    # Given a handler whose first two runs find the table's twin down
    runs = []
    recovered = threading.Event()

    def handler(event, context) -> dict[str, int]:
        runs.append(context.function_name)
        if len(runs) <= 2:
            raise EndpointConnectionError(endpoint_url="http://127.0.0.1:3002")
        recovered.set()
        return {"abandoned: deleted": 1}

    # When the runtime's reconciler runs it every 10 ms
    reconciler = TableReconciler(handler, 0.01)
    with caplog.at_level(logging.INFO, logger="local.reconciler"):
        reconciler.start()
        assert recovered.wait(timeout=5)
        reconciler.close()

    # Then each failure was one warning, and the third run went through and said what it did
    warnings = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert warnings[0].startswith("table reconciliation failed, trying again in 0.01 s: Could not connect")
    assert "table reconciled: {'abandoned: deleted': 1}" in caplog.text
    assert runs[:3] == ["reconciler"] * 3


def test_a_table_older_than_the_open_index_stops_reconciling_with_one_clear_line(caplog):
    # Given a table an older version created, without the open index (dynalite cannot add one)
    runs = []

    def handler(event, context) -> dict[str, int]:
        runs.append(1)
        message = "The table does not have the specified index: byOpenShard"
        raise ClientError({"Error": {"Code": "ValidationException", "Message": message}}, "Query")

    # When the runtime's reconciler runs
    reconciler = TableReconciler(handler, 0.01)
    with caplog.at_level(logging.INFO, logger="local.reconciler"):
        reconciler.start()
        time.sleep(0.2)
        reconciler.close()

    # Then it said so once, with what to do, and stopped trying
    assert runs == [1]
    [line] = [record.getMessage() for record in caplog.records if record.name == "local.reconciler"]
    assert line.startswith("the table lacks the reconciler's index")
    assert "start on a fresh --data-dir" in line
