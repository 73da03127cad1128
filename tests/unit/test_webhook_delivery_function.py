"""The delivery durable function on the testing SDK's runner: its attempts, its durable waits, its ends.

The runner skips time, so the waits show in the history with their durations, at once. The table
and the POST are replaced by fakes (no network): what the function decides is what is checked.
"""

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from aws_durable_execution_sdk_python_testing.runner import DurableFunctionTestRunner

import webhook_delivery_function
from delivery_http import Answer, DeliveryFailed
from webhook_records import Endpoint

SECRET = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYX"
DELIVERY = {
    "endpoint": {"owner": "key:k1", "id": "ep_1"},
    "delivery": {"id": "msg_20261129T120002250000_0123456789abcdef0123", "round": 1},
    "event": {
        "type": "webhook.ping",
        "timestamp": "2026-11-29T12:00:02.250000Z",
        "data": {"endpointId": "ep_1"},
    },
}


class FakeRecords:
    """webhook_records' calls the function makes, kept in order."""

    SUCCEEDED, FAILED = "succeeded", "failed"

    def __init__(self) -> None:
        self.calls: list[tuple] = []
        self.disabled = False

    def start_delivery(self, client, table, **fields) -> None:
        self.calls.append(("open", fields["round"]))

    def get_endpoint(self, client, table, owner, endpoint_id) -> Endpoint:
        return Endpoint(
            id=endpoint_id,
            owner=owner,
            url="http://127.0.0.1:9/hook",
            events=["calculation.succeeded"],
            created_at=datetime(2026, 11, 28, tzinfo=UTC),
            secrets=[{"secret": SECRET}],
            disabled=self.disabled,
        )

    def record_attempt(self, client, table, endpoint_id, delivery_id, attempt) -> None:
        self.calls.append(("attempt", attempt["number"], attempt.get("statusCode"), attempt.get("error")))

    def disable_endpoint(self, client, table, owner, endpoint_id, reason) -> bool:
        self.calls.append(("disable", reason))
        return True

    def end_delivery(self, client, table, endpoint_id, delivery_id, round, status) -> None:
        self.calls.append(("close", status))


@pytest.fixture
def records(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeRecords]:
    monkeypatch.setenv("WEBHOOKS_TABLE_NAME", "webhooks")
    monkeypatch.setenv("WEBHOOK_RETRY_SCHEDULE", "0,5,300")
    monkeypatch.setenv("WEBHOOK_ADDRESSES", "loopback")
    webhook_delivery_function.get_settings.cache_clear()
    fake = FakeRecords()
    monkeypatch.setattr(webhook_delivery_function, "webhook_records", fake)
    monkeypatch.setattr(webhook_delivery_function, "dynamodb_client", lambda: None)
    yield fake
    webhook_delivery_function.get_settings.cache_clear()


def receiver_answers(monkeypatch: pytest.MonkeyPatch, *answers: Answer | Exception) -> list[dict]:
    """The POST answers these in turn; returns the headers of each request sent."""
    sent: list[dict] = []
    queue = list(answers)

    def post(target, body, headers, timeout):
        sent.append(headers)
        answer = queue.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    monkeypatch.setattr(webhook_delivery_function, "post", post)
    return sent


def deliver() -> tuple[dict, list[tuple[str, int]]]:
    """The function's output, and each durable wait: its name and duration."""
    with DurableFunctionTestRunner(handler=webhook_delivery_function.lambda_handler) as runner:
        arn = runner.run_async(input=json.dumps(DELIVERY), execution_timeout=60, execution_name="whd-1")
        result = runner.wait_for_result(execution_arn=arn, timeout=30)
        events = runner.get_execution_history(arn).events
    waits = [(e.name, e.wait_started_details.duration) for e in events if e.event_type == "WaitStarted"]
    return json.loads(result.result), waits


def test_a_receiver_that_answers_at_the_third_attempt_gets_the_schedule_s_waits(records, monkeypatch):
    sent = receiver_answers(
        monkeypatch, DeliveryFailed("ConnectionRefusedError"), Answer(500, None, 3), Answer(204, None, 2)
    )

    output, waits = deliver()

    assert output == {"delivery": DELIVERY["delivery"]["id"], "status": "succeeded", "attempts": 3}
    assert waits == [("Wait 2", 5), ("Wait 3", 300)]
    assert records.calls == [
        ("open", 1),
        ("attempt", 1, None, "ConnectionRefusedError"),
        ("attempt", 2, 500, None),
        ("attempt", 3, 204, None),
        ("close", "succeeded"),
    ]
    assert {headers["webhook-id"] for headers in sent} == {DELIVERY["delivery"]["id"]}


def test_a_retry_after_longer_than_the_schedule_s_wait_is_honoured(records, monkeypatch):
    receiver_answers(monkeypatch, Answer(503, 900, 3), Answer(200, None, 2))

    output, waits = deliver()

    assert output["status"] == "succeeded"
    assert waits == [("Wait 2", 900)]


def test_a_retry_after_shorter_than_the_schedule_s_wait_keeps_the_schedule(records, monkeypatch):
    receiver_answers(monkeypatch, Answer(429, 1, 3), Answer(200, None, 2))

    _, waits = deliver()

    assert waits == [("Wait 2", 5)]


def test_a_retry_after_on_another_status_is_not_honoured(records, monkeypatch):
    receiver_answers(monkeypatch, Answer(500, 900, 3), Answer(200, None, 2))

    _, waits = deliver()

    assert waits == [("Wait 2", 5)]


def test_410_disables_the_endpoint_and_ends_the_delivery_failed(records, monkeypatch):
    receiver_answers(monkeypatch, Answer(410, None, 3))

    output, waits = deliver()

    assert output == {"delivery": DELIVERY["delivery"]["id"], "status": "failed", "attempts": 1}
    assert waits == []
    assert ("disable", "the receiver answered 410 Gone") in records.calls


def test_when_the_schedule_is_used_up_the_delivery_fails(records, monkeypatch):
    receiver_answers(monkeypatch, Answer(500, None, 3), Answer(502, None, 3), Answer(503, None, 3))

    output, _ = deliver()

    assert output["status"] == "failed"
    assert output["attempts"] == 3
    assert records.calls[-1] == ("close", "failed")


def test_a_disabled_endpoint_is_not_sent_anything(records, monkeypatch):
    records.disabled = True
    sent = receiver_answers(monkeypatch)

    output, _ = deliver()

    assert sent == []
    assert output["status"] == "failed"


def test_a_delivery_outlives_a_table_outage_of_a_few_minutes(records, monkeypatch):
    # Given the table unreachable for the first 8 tries of each step that writes to it
    failures = {"open": 8, "close": 8}
    opened, closed = records.start_delivery, records.end_delivery

    def unreachable(name, write):
        def call(*args, **kwargs):
            if failures[name]:
                failures[name] -= 1
                raise ConnectionError("the table is unreachable")
            return write(*args, **kwargs)

        return call

    monkeypatch.setattr(records, "start_delivery", unreachable("open", opened))
    monkeypatch.setattr(records, "end_delivery", unreachable("close", closed))
    receiver_answers(monkeypatch, Answer(200, None, 12))

    # When the delivery runs
    result, _ = deliver()

    # Then it is delivered and closed once the table answers again
    assert result["status"] == "succeeded"
    assert records.calls == [("open", 1), ("attempt", 1, 200, None), ("close", "succeeded")]
