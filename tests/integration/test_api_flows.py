"""The calculations API end to end over HTTP: the local runtime by default, a deployed stack if named."""

from __future__ import annotations

import uuid
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
    assert set(operations) == {"Add", "Subtract", "Multiply", "Division"}
    assert operations["Add"]["status"] == "SUCCEEDED"
    expected_division = "SUCCEEDED" if body.get("num2") else "FAILED"
    assert operations["Division"]["status"] == expected_division


def test_same_idempotency_key_and_body_returns_the_same_calculation(api):
    idempotency_key = key()
    first = post(api, {"num1": 2, "num2": 2}, **{"Idempotency-Key": idempotency_key})
    again = post(api, {"num1": 2, "num2": 2}, **{"Idempotency-Key": idempotency_key})

    assert first.status_code in (200, 202)
    assert again.status_code in (200, 202)
    assert first.json()["id"] == again.json()["id"] == idempotency_key
    listed = api.get(url(api, "/calculations"), params={"limit": 100}, timeout=30).json()["items"]
    assert [item["id"] for item in listed].count(idempotency_key) == 1


def test_same_idempotency_key_with_another_body_is_a_409_problem(api):
    idempotency_key = key()
    post(api, {"num1": 1, "num2": 1}, **{"Idempotency-Key": idempotency_key})

    conflict = post(api, {"num1": 9, "num2": 9}, **{"Idempotency-Key": idempotency_key})

    assert_problem(conflict, 409)


def test_prefer_wait_answers_with_the_finished_calculation(api):
    response = post(api, {"num1": 10, "num2": 5}, Prefer="wait=10")

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
    bodies = ({"num1": 1, "num2": 1}, {"num1": 1, "num2": 0}, {"num1": 2, "num2": 1})
    ids = [post(api, body).json()["id"] for body in bodies]
    for calculation_id in ids:
        wait_for_result(api, calculation_id)

    succeeded = list_all(api, "SUCCEEDED")
    failed = list_all(api, "FAILED")

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
    calculation_id = post(api, {"num1": 3, "num2": 3}).json()["id"]
    wait_for_result(api, calculation_id)

    response = api.post(url(api, f"/calculations/{calculation_id}/stop"), timeout=30)

    assert_problem(response, 409)


def test_stop_of_a_running_calculation_stops_it_or_reports_it_already_ended(api):
    calculation_id = post(api, {"num1": 3, "num2": 3}).json()["id"]

    response = api.post(url(api, f"/calculations/{calculation_id}/stop"), timeout=30)

    if response.status_code == 200:
        assert response.json()["status"] == "STOPPED"
        assert_problem(api.get(url(api, f"/calculations/{calculation_id}/result"), timeout=30), 409)
    else:
        assert_problem(response, 409)


def test_unknown_id_is_a_404_problem(api):
    for path in ("", "/result", "/history"):
        assert_problem(api.get(url(api, f"/calculations/{key()}{path}"), timeout=30), 404)


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b'{"num1": 10,', 400),
        (b'{"num1": "10"}', 422),
        (b'{"num1": true}', 422),
        (b'{"num1": null}', 422),
        (b'{"num1": NaN}', (400, 422)),
        (b'{"num1": Infinity}', (400, 422)),
        (b'{"num1": 1, "num3": 2}', 422),
        (b"[1, 2]", 422),
        (b'{"num1": ' + b"[" * 5000 + b"]" * 5000 + b"}", (400, 413, 422)),
        (b'{"num1": 1, "pad": "' + b"x" * 300_000 + b'"}', (413, 422)),
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
    response = api.post(
        url(api, "/calculations"), data=body, headers={"Content-Type": "application/json"}, timeout=30
    )

    assert_problem(response, status)


def test_an_id_that_is_not_an_execution_name_is_a_problem(api):
    assert_problem(api.get(url(api, "/calculations/not%20valid!"), timeout=30), (400, 404, 422))
    assert_problem(post(api, {"num1": 1}, **{"Idempotency-Key": "x" * 65}), (400, 422))


@pytest.mark.parametrize("method", ["TRACE", "PUT", "BREW"])
def test_an_undeclared_method_is_a_405_problem_with_allow(api, needs_local, method):
    # Deployed, API Gateway answers undeclared methods itself, before the function.
    response = api.request(method, url(api, "/calculations"), timeout=30)

    assert_problem(response, 405)
    assert set(response.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "POST"}
