"""Two consumers, each with its own API key, over real HTTP: each sees and acts on its own calculations only.

Another consumer's calculation answers exactly as an id nobody used: the same 404, the same
body (its `instance` names the path asked for, so it is left out of the comparison).
"""

from __future__ import annotations

import threading
import uuid

import pytest
import requests

from api_helpers import PROBLEM, TEN_AND_FIVE, assert_problem, consumer, post, url, wait_for_result
from conftest import SECOND_CONSUMER
from runtime_process import LocalRuntime
from test_local_table import TABLE, dynamodb
from test_retention import execution_name

FORBIDDEN = {"type": "about:blank", "title": "Forbidden", "status": 403, "detail": "Forbidden"}
# A usage plan small enough to go over at once: a bucket of 2 requests, refilled at 1 a second.
THROTTLE_BURST = 2
LOW_THROTTLE = ("--api-rate", "1", "--api-burst", str(THROTTLE_BURST))

# Every route that names a calculation: (method, path after /calculations/{id}).
CALCULATION_ROUTES = [("GET", ""), ("GET", "/result"), ("GET", "/history"), ("POST", "/stop"), ("DELETE", "")]


def new_id() -> str:
    return f"it-{uuid.uuid4().hex}"


def without_instance(problem: dict) -> dict:
    return {name: value for name, value in problem.items() if name != "instance"}


def ended_calculation(api: requests.Session, body: dict) -> str:
    """Start a calculation and wait for its end; its id."""
    started = post(api, body, Prefer="wait=10")
    assert started.status_code == 200, started.text
    return started.json()["id"]


def listed_ids(api: requests.Session) -> list[str]:
    """Every id in the consumer's list, following the cursors."""
    ids: list[str] = []
    params: dict[str, str | int] = {"limit": 100}
    while True:
        response = api.get(url(api, "/calculations"), params=params, timeout=30)
        assert response.status_code == 200, response.text
        page = response.json()
        ids += [item["id"] for item in page["items"]]
        if "nextCursor" not in page:
            return ids
        params = {**params, "cursor": page["nextCursor"]}


@pytest.mark.parametrize(
    ("method", "path"), CALCULATION_ROUTES, ids=["status", "result", "history", "stop", "delete"]
)
def test_another_consumers_calculation_answers_exactly_like_an_unknown_id(api, other_api, method, path):
    # Given consumer A's ended calculation
    calculation_id = ended_calculation(api, {"num1": 10, "num2": 5})

    # When consumer B sends this route for A's id, and for an id nobody used
    others = other_api.request(method, url(other_api, f"/calculations/{calculation_id}{path}"), timeout=30)
    unknown = other_api.request(method, url(other_api, f"/calculations/{new_id()}{path}"), timeout=30)

    # Then B gets the unknown id's 404, with the same problem document
    assert_problem(others, 404)
    assert without_instance(others.json()) == without_instance(assert_problem(unknown, 404))
    # And A's calculation is untouched
    mine = api.get(url(api, f"/calculations/{calculation_id}"), timeout=30)
    assert mine.status_code == 200, mine.text
    assert mine.json()["status"] == "SUCCEEDED"


@pytest.mark.parametrize(
    ("method", "path"), CALCULATION_ROUTES, ids=["status", "result", "history", "stop", "delete"]
)
def test_an_item_of_another_owner_under_the_callers_own_execution_name_is_404(
    api, other_api, needs_local, method, path
):
    # Given consumer A's ended calculation, its item copied under the execution name that B's
    # request for the same id maps to, as if the two names had collided: only the item's owner
    # tells them apart now
    calculation_id = ended_calculation(api, {"num1": 10, "num2": 5})
    table = dynamodb(needs_local.urls["DynamoDB"])
    owner_a = f"key:{needs_local.key().id}"
    name_b = execution_name(f"key:{needs_local.key(SECOND_CONSUMER).id}", calculation_id)
    item = table.get_item(
        TableName=TABLE, Key={"executionName": {"S": execution_name(owner_a, calculation_id)}}
    )["Item"]
    table.put_item(TableName=TABLE, Item={**item, "executionName": {"S": name_b}})

    # When consumer B sends this route for that id
    response = other_api.request(method, url(other_api, f"/calculations/{calculation_id}{path}"), timeout=30)

    # Then B gets the unknown id's 404, and the item stays A's and in place
    assert_problem(response, 404)
    kept = table.get_item(TableName=TABLE, Key={"executionName": {"S": name_b}}, ConsistentRead=True)
    assert kept["Item"]["owner"] == {"S": owner_a}


def test_a_cursor_issued_to_another_consumer_is_refused(api, other_api):
    # Given a cursor that consumer A's list issued
    for _ in range(2):
        ended_calculation(api, {"num1": 2, "num2": 1})
    page = api.get(url(api, "/calculations"), params={"limit": 1}, timeout=30)
    assert page.status_code == 200, page.text
    cursor = page.json()["nextCursor"]

    # When consumer B lists its calculations with it
    response = other_api.get(
        url(other_api, "/calculations"), params={"limit": 1, "cursor": cursor}, timeout=30
    )

    # Then the cursor is refused as one this API never issued to B
    assert assert_problem(response, 422)["errors"] == [
        {"field": "cursor", "message": "is not a cursor this API issued"}
    ]


def test_the_list_holds_only_the_callers_own_calculations(api, other_api):
    # Given one calculation of consumer A and one of consumer B
    mine = ended_calculation(api, {"num1": 1, "num2": 2})
    theirs = ended_calculation(other_api, {"num1": 3, "num2": 4})

    # When B lists its calculations
    listed = listed_ids(other_api)

    # Then B's own is there and A's is not
    assert theirs in listed
    assert mine not in listed


def test_the_same_idempotency_key_from_two_consumers_starts_two_independent_calculations(api, other_api):
    # Given consumer A started a calculation with an Idempotency-Key
    idempotency_key = new_id()
    first = post(api, {"num1": 10, "num2": 5}, **{"Idempotency-Key": idempotency_key})
    assert first.status_code == 202, first.text

    # When consumer B starts another body with the same key
    second = post(other_api, {"num1": 8, "num2": 2}, **{"Idempotency-Key": idempotency_key})

    # Then B's start is accepted as a calculation of its own, under the same id
    assert second.status_code == 202, second.text
    assert second.json()["id"] == idempotency_key
    # And each consumer reads its own input and result under that id
    assert wait_for_result(api, idempotency_key).json() == TEN_AND_FIVE
    assert wait_for_result(other_api, idempotency_key).json() == {
        "Add": 10,
        "Subtract": 6,
        "Multiply": 16,
        "Division": 4.0,
    }
    theirs = other_api.get(url(other_api, f"/calculations/{idempotency_key}"), timeout=30).json()
    assert theirs["input"] == {"num1": 8, "num2": 2}


@pytest.mark.parametrize("api_key", [None, "not-a-key-of-this-api-0000000000"], ids=["no-key", "unknown-key"])
def test_a_request_without_a_known_api_key_is_a_403_problem(api_url, api_key):
    # Given a client that sends no API key, or one the API does not know
    stranger = consumer(api_url, api_key)

    # When it lists calculations
    response = stranger.get(url(stranger, "/calculations"), timeout=30)

    # Then the gateway refuses it with its 403 problem document
    assert response.status_code == 403, response.text
    assert response.headers["Content-Type"].startswith(PROBLEM)
    assert response.json() == FORBIDDEN


def test_an_own_ended_calculation_is_deleted_with_204_and_is_then_unknown(api):
    # Given an ended calculation
    calculation_id = ended_calculation(api, {"num1": 6, "num2": 3})

    # When its consumer deletes it
    deleted = api.delete(url(api, f"/calculations/{calculation_id}"), timeout=30)

    # Then it is gone: 204, then 404 as an unknown id
    assert deleted.status_code == 204, deleted.text
    assert deleted.content == b""
    assert_problem(api.get(url(api, f"/calculations/{calculation_id}"), timeout=30), 404)


def test_deleting_a_running_calculation_is_a_409_problem(slow_api):
    # Given a calculation still running (the slow function waits 30 s before its math)
    started = post(slow_api, {"num1": 6, "num2": 3})
    assert started.status_code == 202, started.text

    # When its consumer deletes it
    response = slow_api.delete(url(slow_api, f"/calculations/{started.json()['id']}"), timeout=30)

    # Then the delete is refused while it runs
    assert_problem(response, 409)


@pytest.fixture(scope="module")
def throttled_api(local_runtime: LocalRuntime | None, tmp_path_factory: pytest.TempPathFactory):
    """The first consumer on a runtime of its own with a usage plan of THROTTLE_BURST requests, 1 a second."""
    if local_runtime is None:
        pytest.skip("needs a local runtime with a low throttle; CALCULATIONS_API_URL names a deployed stack")
    folder = tmp_path_factory.mktemp("throttled-runtime")
    runtime = LocalRuntime(folder / "data", folder / "runtime.log", *LOW_THROTTLE).start()
    yield consumer(runtime.api_url, runtime.api_key())
    runtime.stop()


def test_going_over_the_throttle_is_a_429_problem_with_retry_after(throttled_api):
    # Given a consumer whose usage plan lets THROTTLE_BURST requests through at once
    barrier = threading.Barrier(THROTTLE_BURST + 1)
    answers: list[requests.Response] = []

    def list_calculations() -> None:
        barrier.wait()
        answers.append(throttled_api.get(url(throttled_api, "/calculations"), timeout=30))

    # When it sends one request more than that, all at once
    threads = [threading.Thread(target=list_calculations) for _ in range(THROTTLE_BURST + 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Then the burst passes and the one over it is refused with 429 and when to retry
    assert sorted(answer.status_code for answer in answers) == [200] * THROTTLE_BURST + [429]
    throttled = next(answer for answer in answers if answer.status_code == 429)
    assert_problem(throttled, 429)
    assert throttled.json()["title"] == "Too Many Requests"
    assert int(throttled.headers["Retry-After"]) >= 1
