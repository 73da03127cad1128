"""A client of the Durable Calculations API: the package openapi-python-client generates from
openapi.yaml (`durable_calculations_client`), used the way its types say, with no cast, no Any and
no `type: ignore`: start, wait, poll, read, page, follow, stop, delete, and a refused field.

Run against an API with CALCULATIONS_API_URL and CALCULATIONS_API_KEY in the environment; it
exits with an error on the first step that does not hold.
"""

from __future__ import annotations

import os
import time

import httpx
from durable_calculations_client import AuthenticatedClient
from durable_calculations_client.api.calculations import (
    delete_calculation,
    get_calculation,
    get_history,
    get_result,
    list_calculations,
    start_calculation,
    stop_calculation,
)
from durable_calculations_client.models import (
    Calculation,
    CalculationPage,
    CalculationRequest,
    CalculationStatus,
    History,
    OperationStatus,
    OperationType,
    Problem,
    ResultDocument,
    ValidationProblem,
)
from durable_calculations_client.types import UNSET, Unset


class FlowFailed(Exception):
    """A step of the flow did not get the answer the API documents."""


def check(condition: bool, message: str) -> None:
    if not condition:
        raise FlowFailed(message)


def start(client: AuthenticatedClient, num1: float, num2: float, wait: int) -> Calculation:
    body = CalculationRequest(num1=num1, num2=num2)
    started = start_calculation.sync(client=client, body=body, prefer=f"wait={wait}")
    if not isinstance(started, Calculation):
        raise FlowFailed(f"start refused: {started}")
    return started


def until_ended(client: AuthenticatedClient, calculation_id: str) -> Calculation:
    for _ in range(600):
        calculation = get_calculation.sync(calculation_id, client=client)
        if not isinstance(calculation, Calculation):
            raise FlowFailed(f"status refused: {calculation}")
        if calculation.status != CalculationStatus.RUNNING:
            return calculation
        time.sleep(0.1)
    raise FlowFailed(f"{calculation_id} still running")


def flow(client: AuthenticatedClient) -> str:
    # Start and wait for the answer: ten and five, every operation succeeds.
    waited = start(client, 10, 5, wait=10)
    ended = until_ended(client, waited.id) if waited.status == CalculationStatus.RUNNING else waited
    check(ended.status == CalculationStatus.SUCCEEDED, f"expected SUCCEEDED, got {ended.status}")
    if isinstance(ended.result, Unset):
        raise FlowFailed("a succeeded calculation has its result")
    total: float = ended.result.add + ended.result.multiply
    check(total == 65, f"Add + Multiply is {total}")
    check(not isinstance(ended.input_, Unset) and ended.input_.num1 == 10, "the input is the numbers")

    # Start without waiting, poll, then read the result document.
    started = start(client, 10, 0, wait=0)
    failed = until_ended(client, started.id)
    document = get_result.sync(started.id, client=client)
    if not isinstance(document, ResultDocument):
        raise FlowFailed(f"no result document: {document}")
    check(document.error_details == "One or more operations failed", "Division by zero fails")
    check(not isinstance(document.errors, Unset) and document.errors.division == "division by zero", "why")
    if isinstance(document.add, Unset) or isinstance(document.multiply, Unset):
        raise FlowFailed("Add and Multiply succeeded")
    check(document.add + document.multiply == 10, "10 + 0 and 10 * 0")
    check(not isinstance(failed.partial_results, Unset) and failed.partial_results.subtract == 10, "Subtract")

    # Page through the caller's calculations, newest first, until the last page.
    seen: list[str] = []
    cursor: str | Unset = UNSET
    while True:
        page = list_calculations.sync(client=client, limit=50, cursor=cursor)
        if not isinstance(page, CalculationPage):
            raise FlowFailed(f"list refused: {page}")
        seen.extend(item.id for item in page.items)
        if isinstance(page.next_cursor, Unset):
            break
        cursor = page.next_cursor
    check({ended.id, started.id} <= set(seen), "both calculations are listed")

    # Each operation's progress.
    history = get_history.sync(ended.id, client=client)
    if not isinstance(history, History):
        raise FlowFailed(f"history refused: {history}")
    steps = [operation for operation in history.operations if operation.type_ == OperationType.STEP]
    check(history.ended, "the history has ended")
    check(all(step.status == OperationStatus.SUCCEEDED for step in steps), "every step succeeded")

    # Stopping an ended calculation is a conflict, read through the problem's type.
    stopped = stop_calculation.sync_detailed(ended.id, client=client)
    check(stopped.status_code == 409, f"stop answered {stopped.status_code}")
    check(isinstance(stopped.parsed, Problem) and stopped.parsed.title == "Conflict", "a Conflict problem")

    # Delete it: 204, and it is then unknown.
    deleted = delete_calculation.sync_detailed(ended.id, client=client)
    check(deleted.status_code == 204, f"delete answered {deleted.status_code}")
    gone = get_calculation.sync(ended.id, client=client)
    check(isinstance(gone, Problem) and gone.status == 404, "a deleted calculation is unknown")

    # A refused field: the 422 names it. No numbers at all is a valid body (both are 0).
    refused = start_calculation.sync(client=client, body=CalculationRequest(), idempotency_key="not a key!")
    if not isinstance(refused, ValidationProblem):
        raise FlowFailed(f"a bad Idempotency-Key is not a 422: {refused}")
    check(refused.errors[0].field == "Idempotency-Key", f"the 422 names {refused.errors[0].field}")

    return f"flow passed: {ended.id} {started.id}, {len(seen)} listed"


def main() -> None:
    with AuthenticatedClient(
        base_url=os.environ["CALCULATIONS_API_URL"],
        token=os.environ["CALCULATIONS_API_KEY"],
        prefix="",
        auth_header_name="x-api-key",
        timeout=httpx.Timeout(30.0),
    ) as client:
        print(flow(client))


if __name__ == "__main__":
    main()
