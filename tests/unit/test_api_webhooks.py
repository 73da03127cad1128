"""The /webhooks routes on stubbed AWS: a URL that could reach inside is refused with 422 naming `url`,
before any call; another consumer's endpoint is a 404 like an unknown id."""

from collections.abc import Iterator

import pytest

import webhooks_settings
from events import OWNER

# Address literals only: nothing here is resolved, let alone contacted.
SSRF_URLS = [
    "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
    "https://169.254.169.254/",
    "https://[fd00:ec2::254]/",
    "https://10.0.0.1/hook",
    "https://172.16.0.1/hook",
    "https://192.168.0.1/hook",
    "https://127.0.0.1:8080/hook",
    "https://[::1]/hook",
    "https://[::ffff:127.0.0.1]/hook",
    "https://[::ffff:a9fe:a9fe]/hook",
    "https://0.0.0.0/hook",
    "https://224.0.0.1/hook",
    "https://[fe80::1%25eth0]/hook",
    "https://100.100.100.200/hook",
    "http://8.8.8.8/hook",
    "https://user:secret@8.8.8.8/hook",
    "file:///etc/passwd",
    "gopher://127.0.0.1:6379/_INFO",
]


@pytest.fixture
def webhooks_environment(api_environment, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("WEBHOOKS_TABLE_NAME", "webhooks")
    monkeypatch.setenv("WEBHOOK_FUNCTION_NAME", "webhook-delivery:live")
    monkeypatch.setenv("WEBHOOK_ADDRESSES", "public")
    webhooks_settings.get_webhook_settings.cache_clear()
    yield
    webhooks_settings.get_webhook_settings.cache_clear()


@pytest.mark.parametrize("target", SSRF_URLS)
def test_a_url_that_could_reach_inside_is_refused_naming_the_field_with_no_aws_call(
    webhooks_environment, stubs, call, target
):
    response = call("POST", "/webhooks", body={"url": target})

    assert response.status == 422
    assert [error["field"] for error in response.json["errors"]] == ["url"]


def test_another_consumers_endpoint_is_not_found_like_an_unknown_one(webhooks_environment, table_stub, call):
    # Given the caller's endpoints are read under the caller's own key, where ep_1 is not
    for endpoint_id in ("ep_1", "ep_unknown"):
        key = {"pk": {"S": f"owner#{OWNER}"}, "sk": {"S": f"endpoint#{endpoint_id}"}}
        table_stub.add_response("get_item", {}, {"TableName": "webhooks", "Key": key, "ConsistentRead": True})

    theirs = call("GET", "/webhooks/ep_1")
    unknown = call("GET", "/webhooks/ep_unknown")

    assert theirs.status == unknown.status == 404
    assert theirs.json["detail"] == unknown.json["detail"] == "no webhook endpoint has this id"


DELIVERY_ID = "msg_20261201T100000000000_0123456789abcdef0123"
DISABLED_ENDPOINT = {
    "pk": {"S": f"owner#{OWNER}"},
    "sk": {"S": "endpoint#ep_1"},
    "id": {"S": "ep_1"},
    "owner": {"S": OWNER},
    "url": {"S": "https://example.com/hook"},
    "events": {"L": [{"S": "calculation.succeeded"}]},
    "createdAt": {"S": "2026-12-01T10:00:00.000000Z"},
    "secrets": {"L": [{"M": {"secret": {"S": "whsec_" + "A" * 43}}}]},
    "disabled": {"BOOL": True},
    "disabledReason": {"S": "the receiver answered 410 Gone"},
}


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        pytest.param("POST", "/webhooks/ep_1/ping", None, id="ping"),
        pytest.param("POST", "/webhooks/ep_1/redeliveries", {"deliveryId": DELIVERY_ID}, id="redelivery"),
    ],
)
def test_a_disabled_endpoint_is_sent_nothing_and_told_why(
    webhooks_environment, table_stub, call, method, path, body
):
    # Given the caller's endpoint ep_1, disabled by its receiver's 410 (and no Lambda call stubbed)
    key = {"pk": {"S": f"owner#{OWNER}"}, "sk": {"S": "endpoint#ep_1"}}
    table_stub.add_response(
        "get_item", {"Item": DISABLED_ENDPOINT}, {"TableName": "webhooks", "Key": key, "ConsistentRead": True}
    )

    # When a ping or a redelivery is asked for
    response = call(method, path, body=body)

    # Then nothing starts, and the problem says why and what to do
    assert response.status == 409
    detail = "this endpoint is disabled (its receiver answered 410 Gone); register its URL again"
    assert response.json["detail"] == detail
    table_stub.assert_no_pending_responses()


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        pytest.param(
            {"url": "https://8.8.8.8/hook", "colour": "red"},
            "colour",
            "is not a known field (expected url, events and description)",
            id="unknown-field",
        ),
        pytest.param(
            ["https://8.8.8.8/hook"],
            "body",
            'must be a JSON object such as {"url": "https://example.com/webhooks"}',
            id="array",
        ),
        pytest.param(
            "null",
            "body",
            'must be a JSON object such as {"url": "https://example.com/webhooks"}',
            id="null",
        ),
    ],
)
def test_a_malformed_registration_is_told_what_a_registration_holds(
    webhooks_environment, stubs, call, body, field, message
):
    response = call("POST", "/webhooks", body=body, headers={"Content-Type": "application/json"})

    assert response.status == 422
    assert response.json["errors"] == [{"field": field, "message": message}]


def test_an_event_type_named_twice_is_kept_once():
    from webhooks_models import WebhookRequest

    request = WebhookRequest(
        url="https://example.com/hook",
        events=["calculation.failed", "calculation.succeeded", "calculation.failed"],
    )

    assert [event.value for event in request.events] == ["calculation.failed", "calculation.succeeded"]
