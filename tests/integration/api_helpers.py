"""Small helpers for talking to the calculations API over HTTP, and the documents it answers."""

from __future__ import annotations

import time
from urllib.parse import urljoin

import requests

PROBLEM = "application/problem+json"

# The durable function's documents for the original pattern's three inputs.
TEN_AND_FIVE = {"Add": 15, "Subtract": 5, "Multiply": 50, "Division": 2.0}


def division_failed(add, subtract, multiply) -> dict:
    """Division by zero: the error_details document with the other three results."""
    return {
        "error_details": "One or more operations failed",
        "errors": {"Division": "division by zero"},
        "Add": add,
        "Subtract": subtract,
        "Multiply": multiply,
    }


TEN_AND_ZERO = division_failed(10, 10, 0)
ZEROS = division_failed(0, 0, 0)


def consumer(base_url: str, api_key: str | None) -> requests.Session:
    """A session for one consumer: every request carries its API key (none when `api_key` is None).

    `session.base_url` is the API's URL; `url(session, path)` builds URLs from it.
    """
    session = requests.Session()
    if api_key is not None:
        session.headers["x-api-key"] = api_key
    session.base_url = base_url  # type: ignore[attr-defined]
    return session


def url(api: requests.Session, path: str) -> str:
    return f"{api.base_url}{path}"  # type: ignore[attr-defined]


def follow(api: requests.Session, link: str) -> str:
    """A Location or link resolved against the API's URL, as any HTTP client resolves it. Deployed,
    links hold the stage (`/v1/calculations/…`); locally, where the URL has no path, they do not."""
    return urljoin(api.base_url, link)  # type: ignore[attr-defined]


def post(api: requests.Session, body, **headers) -> requests.Response:
    return api.post(url(api, "/calculations"), json=body, headers=headers, timeout=30)


def wait_for_result(api: requests.Session, calculation_id: str, timeout: float = 30) -> requests.Response:
    """Poll /result until it is no longer 202; returns the final response."""
    deadline = time.monotonic() + timeout
    while True:
        response = api.get(url(api, f"/calculations/{calculation_id}/result"), timeout=30)
        if response.status_code != 202:
            return response
        assert time.monotonic() < deadline, f"{calculation_id} still running after {timeout} s"
        time.sleep(0.05)


def assert_problem(response: requests.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith(PROBLEM), response.headers
    problem = response.json()
    assert problem["status"] == response.status_code
    assert problem["title"]
    return problem
