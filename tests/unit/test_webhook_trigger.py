"""A calculation's end starts a delivery per subscribed endpoint of its owner (AWS stubbed)."""

import io
import json
from collections.abc import Iterator

import pytest
from botocore.response import StreamingBody
from botocore.stub import ANY, Stubber

import webhook_trigger

NAME = "calc-a3173e7875e4e3e04853931f28b5a537"
OWNER = "key:k1"
ENDED = "2026-11-29T12:00:02.250000Z"


def calculation_item(owner: str | None = OWNER, status: str = "SUCCEEDED") -> dict:
    item = {
        "executionName": {"S": NAME},
        "id": {"S": "c0ffee"},
        "status": {"S": status},
        "startedAt": {"S": "2026-11-29T12:00:00.250000Z"},
        "endedAt": {"S": ENDED},
        "result": {"S": '{"Add":15,"Subtract":5,"Multiply":50,"Division":2.0}'},
    }
    if owner:
        item["owner"] = {"S": owner}
    return item


def endpoint_item(endpoint_id: str, events: list[str], disabled: bool = False) -> dict:
    return {
        "pk": {"S": f"owner#{OWNER}"},
        "sk": {"S": f"endpoint#{endpoint_id}"},
        "id": {"S": endpoint_id},
        "owner": {"S": OWNER},
        "url": {"S": "http://127.0.0.1:4000/"},
        "events": {"L": [{"S": e} for e in events]},
        "createdAt": {"S": "2026-11-28T12:00:00.000000Z"},
        "secrets": {"L": [{"M": {"secret": {"S": "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYX"}}}]},
        "disabled": {"BOOL": disabled},
    }


@pytest.fixture(autouse=True)
def container(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("CALCULATIONS_TABLE_NAME", "calculations")
    monkeypatch.setenv("WEBHOOKS_TABLE_NAME", "webhooks")
    monkeypatch.setenv("WEBHOOK_FUNCTION_NAME", "webhook-delivery:live")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    caches = (webhook_trigger.get_settings, webhook_trigger.dynamodb_client, webhook_trigger.lambda_client)
    for cached in caches:
        cached.cache_clear()
    yield
    for cached in caches:
        cached.cache_clear()


@pytest.fixture
def stubs() -> Iterator[tuple[Stubber, Stubber]]:
    with (
        Stubber(webhook_trigger.dynamodb_client()) as table,
        Stubber(webhook_trigger.lambda_client()) as lambda_,
    ):
        yield table, lambda_
        table.assert_no_pending_responses()
        lambda_.assert_no_pending_responses()


def expect_calculation(table: Stubber, item: dict) -> None:
    table.add_response(
        "get_item",
        {"Item": item},
        {"TableName": "calculations", "Key": {"executionName": {"S": NAME}}, "ConsistentRead": True},
    )


def expect_endpoints(table: Stubber, *items: dict) -> None:
    table.add_response(
        "query",
        {"Items": list(items), "Count": len(items)},
        {
            "TableName": "webhooks",
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :kind)",
            "ExpressionAttributeValues": {":pk": {"S": f"owner#{OWNER}"}, ":kind": {"S": "endpoint#"}},
            "ConsistentRead": True,
        },
    )


def expect_invoke(lambda_: Stubber) -> None:
    lambda_.add_response(
        "invoke",
        {"StatusCode": 202, "Payload": StreamingBody(io.BytesIO(b""), 0), "DurableExecutionArn": "arn:x"},
        {
            "FunctionName": "webhook-delivery",
            "Qualifier": "live",
            "InvocationType": "Event",
            "DurableExecutionName": ANY,
            "Payload": ANY,
        },
    )


def test_an_end_starts_a_delivery_for_each_subscribed_enabled_endpoint_only(stubs, monkeypatch):
    table, lambda_ = stubs
    sent: list[dict] = []
    original = webhook_trigger.start_delivery

    def spy(client, function, owner, endpoint_id, delivery, round, event):
        sent.append({"endpoint": endpoint_id, "delivery": delivery, "round": round, "event": event})
        return original(client, function, owner, endpoint_id, delivery, round, event)

    monkeypatch.setattr(webhook_trigger, "start_delivery", spy)
    # Given a succeeded calculation whose owner has three endpoints
    expect_calculation(table, calculation_item())
    expect_endpoints(
        table,
        endpoint_item("ep_all", ["calculation.succeeded", "calculation.failed"]),
        endpoint_item("ep_failures", ["calculation.failed"]),
        endpoint_item("ep_gone", ["calculation.succeeded"], disabled=True),
    )
    expect_invoke(lambda_)

    # When its end is projected
    started = webhook_trigger.start_deliveries(NAME, "SUCCEEDED")

    # Then only the enabled endpoint subscribed to calculation.succeeded gets a delivery
    assert started == 1
    (delivery,) = sent
    assert delivery["endpoint"] == "ep_all"
    assert delivery["round"] == 1
    assert delivery["delivery"].startswith("msg_20261129T120002250000_")
    assert delivery["event"]["type"] == "calculation.succeeded"
    assert delivery["event"]["data"]["result"] == {"Add": 15, "Subtract": 5, "Multiply": 50, "Division": 2.0}
    assert delivery["event"]["data"]["links"]["self"] == "/calculations/c0ffee"


def test_a_duplicate_end_names_the_same_delivery_execution(monkeypatch):
    names: list[tuple[str, str]] = []

    class Lambda:
        def invoke(self, **params):
            names.append((params["DurableExecutionName"], json.loads(params["Payload"])["delivery"]["id"]))
            return {"Payload": io.BytesIO(b""), "DurableExecutionArn": "arn:x"}

    monkeypatch.setattr(webhook_trigger, "lambda_client", lambda: Lambda())
    for _ in range(2):
        with Stubber(webhook_trigger.dynamodb_client()) as table:
            expect_calculation(table, calculation_item())
            expect_endpoints(table, endpoint_item("ep_all", ["calculation.succeeded"]))
            webhook_trigger.start_deliveries(NAME, "SUCCEEDED")

    assert len(names) == 2
    assert names[0] == names[1]
    assert names[0][0].startswith("whd-")
    assert len(names[0][0]) == 44


@pytest.mark.parametrize(("status", "item"), [("RUNNING", None), ("SUCCEEDED", calculation_item(owner=None))])
def test_a_running_calculation_or_one_without_an_owner_starts_nothing(stubs, status, item):
    table, _ = stubs
    if item is not None:
        expect_calculation(table, item)

    assert webhook_trigger.start_deliveries(NAME, status) == 0
