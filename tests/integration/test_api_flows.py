"""The calculations API end to end over HTTP: the local runtime by default, a deployed stack if named."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urljoin

import pytest

from api_helpers import TEN_AND_FIVE, TEN_AND_ZERO, ZEROS, assert_problem, post, url, wait_for_result


def key() -> str:
    return f"it-{uuid.uuid4().hex}"


@pytest.mark.parametrize(
    ("body", "document", "status"),
    [
        ({"num1": 10, "num2": 5}, TEN_AND_FIVE, "SUCCEEDED"),
        ({"num1": 10, "num2": 0}, TEN_AND_ZERO, "FAILED"),
        ({}, ZEROS, "FAILED"),
    ],
    ids=["ten-and-five", "divide-by-zero", "empty"],
)
def test_original_flows_report_status_result_and_history(api, body, document, status):
    # When a calculation is started
    started = post(api, body)

    # Then it is accepted at a Location to follow
    assert started.status_code == 202, started.text
    calculation_id = started.json()["id"]
    location = started.headers["Location"]
    assert location.endswith(f"/calculations/{calculation_id}")
    assert int(started.headers["Retry-After"]) >= 0

    # And its result is the function's document, its status as the API reports it
    result = wait_for_result(api, calculation_id)
    assert result.status_code == 200
    assert result.json() == document
    # (Location is a path: resolved against the API's URL as any HTTP client does)
    calculation = api.get(urljoin(api.base_url, location), timeout=30).json()
    assert calculation["status"] == status
    assert calculation["input"] == {"num1": 0, "num2": 0} | body

    # And the history names each operation with its outcome
    history = api.get(url(api, f"/calculations/{calculation_id}/history"), timeout=30)
    assert history.status_code == 200
    operations = {op["name"]: op for op in history.json()["operations"] if op["type"] == "STEP"}
    # (and the last step, Record, that writes the result to the calculations table)
    assert set(operations) == {"Add", "Subtract", "Multiply", "Division", "Record"}
    assert operations["Add"]["status"] == "SUCCEEDED"
    expected_division = "SUCCEEDED" if body.get("num2") else "FAILED"
    assert operations["Division"]["status"] == expected_division


def test_same_idempotency_key_and_body_after_the_end_answers_200_with_the_same_calculation(api):
    # Given a calculation started with an Idempotency-Key, and ended
    idempotency_key = key()
    first = post(api, {"num1": 2, "num2": 2}, **{"Idempotency-Key": idempotency_key})
    assert first.status_code == 202, first.text
    wait_for_result(api, idempotency_key)

    # When the same start is sent again
    again = post(api, {"num1": 2, "num2": 2}, **{"Idempotency-Key": idempotency_key})

    # Then it answers 200 with that calculation, and the list holds it once
    assert again.status_code == 200, again.text
    assert again.json()["id"] == idempotency_key
    assert again.json()["status"] == "SUCCEEDED"
    listed = api.get(url(api, "/calculations"), params={"limit": 100}, timeout=30).json()["items"]
    assert [item["id"] for item in listed].count(idempotency_key) == 1


def test_same_idempotency_key_and_body_while_running_answers_202_with_the_same_calculation(slow_api):
    # Given a calculation started with an Idempotency-Key, still running (the slow function)
    idempotency_key = key()
    first = post(slow_api, {"num1": 2, "num2": 2}, **{"Idempotency-Key": idempotency_key})
    assert first.status_code == 202, first.text

    # When the same start is sent again
    again = post(slow_api, {"num1": 2, "num2": 2}, **{"Idempotency-Key": idempotency_key})

    # Then it answers 202 with that running calculation
    assert again.status_code == 202, again.text
    assert again.json()["id"] == idempotency_key
    assert again.json()["status"] == "RUNNING"


def test_same_idempotency_key_with_another_body_is_a_409_problem(api):
    # Given a calculation started with an Idempotency-Key
    idempotency_key = key()
    post(api, {"num1": 1, "num2": 1}, **{"Idempotency-Key": idempotency_key})

    # When another body is sent with the same key
    conflict = post(api, {"num1": 9, "num2": 9}, **{"Idempotency-Key": idempotency_key})

    # Then it is refused
    assert_problem(conflict, 409)


def test_prefer_wait_answers_with_the_finished_calculation(api):
    # When a calculation is started with time to wait for its end
    response = post(api, {"num1": 10, "num2": 5}, Prefer="wait=10")

    # Then the answer is the ended calculation with its result
    assert response.status_code == 200, response.text
    calculation = response.json()
    assert calculation["status"] == "SUCCEEDED"
    assert calculation["result"] == TEN_AND_FIVE


def list_all(api, status: str) -> list[dict]:
    """Every item of a filtered listing, one item per page, following the cursors."""
    items: list[dict] = []
    params = {"status": status, "limit": 1}
    while True:
        response = api.get(url(api, "/calculations"), params=params, timeout=30)
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["items"]) <= 1
        items += page["items"]
        if "nextCursor" not in page:
            return items
        params = {**params, "cursor": page["nextCursor"]}


def test_list_filters_by_status_and_pages_with_a_cursor(api):
    # Given two calculations that succeed and one whose Division fails, all ended
    bodies = ({"num1": 1, "num2": 1}, {"num1": 1, "num2": 0}, {"num1": 2, "num2": 1})
    ids = [post(api, body).json()["id"] for body in bodies]
    for calculation_id in ids:
        wait_for_result(api, calculation_id)

    # When each status is listed one item per page
    succeeded = list_all(api, "SUCCEEDED")
    failed = list_all(api, "FAILED")

    # Then each listing holds its status only
    assert {item["status"] for item in succeeded} == {"SUCCEEDED"}
    assert {item["status"] for item in failed} == {"FAILED"}
    # 1/0 ended SUCCEEDED in Lambda, but its Division failed: the API lists it as FAILED
    succeeded_ids = [item["id"] for item in succeeded]
    assert ids[0] in succeeded_ids
    assert ids[2] in succeeded_ids
    assert ids[1] not in succeeded_ids
    assert ids[1] in [item["id"] for item in failed]
    # Newest first, and no item twice across pages
    assert succeeded_ids.index(ids[2]) < succeeded_ids.index(ids[0])
    assert len(succeeded_ids) == len(set(succeeded_ids))


def test_stop_of_an_ended_calculation_is_a_409_problem(api):
    # Given an ended calculation
    calculation_id = post(api, {"num1": 3, "num2": 3}).json()["id"]
    wait_for_result(api, calculation_id)

    # When it is stopped
    response = api.post(url(api, f"/calculations/{calculation_id}/stop"), timeout=30)

    # Then the stop is refused
    assert_problem(response, 409)


def test_stop_of_a_running_calculation_answers_200_stopped_and_its_result_is_then_409(slow_api):
    # Given a calculation still running (the slow function waits 30 s before its math)
    started = post(slow_api, {"num1": 3, "num2": 3})
    assert started.status_code == 202, started.text
    calculation_id = started.json()["id"]

    # When it is stopped
    response = slow_api.post(url(slow_api, f"/calculations/{calculation_id}/stop"), timeout=30)

    # Then the answer is the stopped calculation, and it has no result
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "STOPPED"
    assert_problem(slow_api.get(url(slow_api, f"/calculations/{calculation_id}/result"), timeout=30), 409)


def test_a_waiting_post_whose_calculation_is_stopped_answers_the_stop(slow_api):
    # Given a client waiting for a calculation that runs for 30 s
    calculation_id = key()
    with ThreadPoolExecutor(max_workers=1) as pool:
        waiting = pool.submit(
            post, slow_api, {"num1": 3, "num2": 3}, **{"Idempotency-Key": calculation_id, "Prefer": "wait=20"}
        )

        # When another client stops it (retrying the 503 it gets until the start has recorded its execution)
        deadline = time.monotonic() + 10
        while (
            stopped := slow_api.post(url(slow_api, f"/calculations/{calculation_id}/stop"), timeout=30)
        ).status_code in (404, 503):
            assert time.monotonic() < deadline, stopped.text
            time.sleep(0.05)
        answer = waiting.result(timeout=30)

    # Then the waiting client is answered with the stop, as Lambda holds it (not a stale RUNNING)
    assert stopped.status_code == 200, stopped.text
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "STOPPED"
    assert answer.headers["Preference-Applied"] == "wait=20"


@pytest.mark.parametrize("path", ["", "/result", "/history"], ids=["status", "result", "history"])
def test_unknown_id_is_a_404_problem(api, path):
    # When a calculation that was never started is read
    response = api.get(url(api, f"/calculations/{key()}{path}"), timeout=30)

    # Then it is not found
    assert_problem(response, 404)


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b'{"num1": 10,', 400),
        (b'{"num1": "10"}', 422),
        (b'{"num1": true}', 422),
        (b'{"num1": null}', 422),
        (b'{"num1": NaN}', 422),
        (b'{"num1": Infinity}', 422),
        (b'{"num1": 1, "num3": 2}', 422),
        (b"[1, 2]", 422),
        (b'{"num1": ' + b"[" * 5000 + b"]" * 5000 + b"}", 400),
        (b'{"num1": 1, "pad": "' + b"x" * 300_000 + b'"}', 413),
    ],
    ids=[
        "malformed",
        "string",
        "boolean",
        "null",
        "nan",
        "infinity",
        "unknown-field",
        "array",
        "deep",
        "huge",
    ],
)
def test_each_bad_input_class_is_answered_with_a_problem_document(api, body, status):
    # When a start is sent with a body of this class
    response = api.post(
        url(api, "/calculations"), data=body, headers={"Content-Type": "application/json"}, timeout=30
    )

    # Then the README's status for that class answers, as a problem document
    assert_problem(response, status)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/calculations/not%20valid!"),
        ("GET", "/calculations/{id}%2Fresult"),
        ("DELETE", "/calculations/{id}%2F"),
        ("GET", "/calculations/{id}%0A"),
    ],
)
def test_an_id_that_is_not_an_execution_name_is_a_422_problem(api, method, path):
    # Given an ended calculation
    calculation_id = post(api, {"num1": 1, "num2": 1}).json()["id"]
    wait_for_result(api, calculation_id)

    # When it is reached by an id outside 1-64 of A-Z a-z 0-9 - _ (an encoded slash or newline after it)
    response = api.request(method, url(api, path.format(id=calculation_id)), timeout=30)

    # Then the id is refused as a field
    problem = assert_problem(response, 422)
    assert problem["errors"] == [{"field": "id", "message": "must be 1-64 of A-Z a-z 0-9 - _"}]


def test_an_idempotency_key_over_64_characters_is_a_422_problem(api):
    # When a calculation is started with a 65-character Idempotency-Key
    response = post(api, {"num1": 1}, **{"Idempotency-Key": "x" * 65})

    # Then the key is refused as a field
    problem = assert_problem(response, 422)
    assert problem["errors"] == [{"field": "Idempotency-Key", "message": "must be 1-64 of A-Z a-z 0-9 - _"}]


@pytest.mark.parametrize("method", ["TRACE", "PUT", "BREW"])
def test_an_undeclared_method_is_a_405_problem_with_allow(api, needs_local, method):
    # When /calculations is sent a method it does not declare (deployed, API Gateway answers
    # undeclared methods itself, before the function: see the next test)
    response = api.request(method, url(api, "/calculations"), timeout=30)

    # Then the answer names the methods it has
    assert_problem(response, 405)
    assert set(response.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "POST"}


@pytest.mark.deployed_only
@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_deployed_an_undeclared_method_is_the_gateways_404_problem(api, method):
    # (Locally the function answers it: the 405 of the test above.)
    # When the deployed /calculations is sent a method no route declares
    response = api.request(method, url(api, "/calculations"), timeout=30)

    # Then API Gateway refuses it itself, with the template's problem for a route it does not have
    problem = assert_problem(response, 404)
    assert problem["detail"] == "no such route"
