"""The end the Record step writes a moment before Lambda ends the execution, on the real table twin.

A stop (or a time-out) that Lambda takes in that moment is the execution's real end: the table
must end up saying STOPPED, as Lambda does, and never SUCCEEDED with a result Lambda does not hold.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from calculation_records import Write, get_record, put_new, record_outcome
from test_local_table import TABLE, dynamodb, twin  # noqa: F401 (twin: the fixture)

NAME = "calc-0123456789abcdef0123456789abcdef"
ARN = f"arn:aws:lambda:us-east-1:123456789012:function:math-durable:1/durable-execution/{NAME}/0b1c"
STARTED = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
DOCUMENT = {"Add": 15, "Subtract": 5, "Multiply": 50, "Division": 2.0}


@pytest.fixture
def table(twin):  # noqa: F811 (the fixture imported above)
    client = dynamodb(twin.url)
    assert put_new(client, TABLE, NAME, "key:default", "calc-1", {"num1": 10, "num2": 5}, STARTED, ARN)
    return client


def record_step(client, ended_at: datetime) -> Write:
    """What the durable function's Record step writes."""
    return record_outcome(
        client,
        TABLE,
        NAME,
        status="SUCCEEDED",
        ended_at=ended_at,
        retention_days=14,
        result=DOCUMENT,
        execution_arn=ARN,
        before_lambda_ends=True,
    )


def lambda_end(client, status: str, ended_at: datetime) -> Write:
    """What the projector writes from Lambda's end event (the API's stop writes STOPPED the same way)."""
    return record_outcome(
        client, TABLE, NAME, status=status, ended_at=ended_at, retention_days=14, execution_arn=ARN
    )


@pytest.mark.parametrize("status", ["STOPPED", "TIMED_OUT"])
def test_a_stop_or_time_out_lambda_took_after_the_record_step_is_the_calculations_end(table, status):
    # Given the Record step wrote its end and result
    assert record_step(table, STARTED + timedelta(seconds=1)) is Write.RECORDED

    # When Lambda's end is a stop or a time-out taken a moment later
    written = lambda_end(table, status, STARTED + timedelta(seconds=2))

    # Then that is the calculation's end: its status and time, without the result Lambda does not hold
    record = get_record(table, TABLE, NAME)
    assert written is Write.RECORDED
    assert (record.status, record.ended_at, record.result) == (status, STARTED + timedelta(seconds=2), None)
    # And it is final: neither a duplicate event nor another end changes it again
    assert lambda_end(table, status, STARTED + timedelta(seconds=3)) is Write.UNCHANGED
    assert lambda_end(table, "TIMED_OUT" if status == "STOPPED" else "STOPPED", STARTED) is Write.UNCHANGED
    assert get_record(table, TABLE, NAME).status == status


def test_lambdas_success_after_the_record_step_changes_nothing(table):
    # Given the Record step wrote its end and result
    record_step(table, STARTED + timedelta(seconds=1))

    # When Lambda's end event says SUCCEEDED, as it does unless something stopped the execution
    written = lambda_end(table, "SUCCEEDED", STARTED + timedelta(seconds=2))

    # Then the Record step's end stands
    record = get_record(table, TABLE, NAME)
    assert written is Write.UNCHANGED
    assert (record.status, record.result) == ("SUCCEEDED", DOCUMENT)


def test_an_end_lambda_recorded_is_never_replaced_by_a_stop(table):
    # Given an end that came from Lambda itself (the projector, with the Record step disabled)
    assert lambda_end(table, "SUCCEEDED", STARTED + timedelta(seconds=1)) is Write.RECORDED

    # When a late STOPPED arrives (another execution's, or a stop that Lambda refused)
    written = lambda_end(table, "STOPPED", STARTED + timedelta(seconds=2))

    # Then nothing changes: only the Record step's own end is open to Lambda's word
    assert written is Write.UNCHANGED
    assert get_record(table, TABLE, NAME).status == "SUCCEEDED"


def test_a_record_step_that_runs_after_the_stop_changes_nothing(table):
    # Given Lambda's stop was recorded first (the step's write was still on its way)
    lambda_end(table, "STOPPED", STARTED + timedelta(seconds=1))

    # When the Record step's write arrives
    written = record_step(table, STARTED + timedelta(seconds=2))

    # Then the stop stands
    assert written is Write.UNCHANGED
    assert get_record(table, TABLE, NAME).status == "STOPPED"
