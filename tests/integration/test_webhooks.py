"""Completion webhooks on the local runtime: every delivery verified with the `standardwebhooks`
library (not the product's code), against a receiver on 127.0.0.1. Nothing is sent elsewhere.

The runtimes here use a retry schedule of seconds (WEBHOOK_RETRY_SCHEDULE), so retries show in
moments; the deployed default is Standard Webhooks' 0, 5 s, 5 min ... 24 h.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
import requests
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from api_helpers import assert_problem, consumer, post, url, wait_for_result
from conftest import DEPLOYED_API_URL, NO_CONTROL_PLANE_QUOTAS, SECOND_CONSUMER, UNLIMITED, start_runtime
from runtime_process import LocalRuntime
from webhook_receiver import Received, closed_port, receiver

SCHEDULE = "0,2,2,2,2,2"
LOCAL_ONLY = "needs a local runtime: a deployed stack cannot reach a receiver on this machine"


@pytest.fixture(scope="module")
def runtime(tmp_path_factory) -> Iterator[LocalRuntime]:
    if DEPLOYED_API_URL:
        pytest.skip(LOCAL_ONLY)
    started = start_runtime(
        tmp_path_factory,
        "webhooks",
        *UNLIMITED,
        NO_CONTROL_PLANE_QUOTAS,
        environment={"WEBHOOK_RETRY_SCHEDULE": SCHEDULE},
    )
    yield started
    started.stop()


@pytest.fixture(scope="module")
def api(runtime: LocalRuntime) -> requests.Session:
    return consumer(runtime.api_url, runtime.api_key())


@pytest.fixture(scope="module")
def other_api(runtime: LocalRuntime) -> requests.Session:
    return consumer(runtime.api_url, runtime.api_key(SECOND_CONSUMER))


def register(api: requests.Session, target: str, **fields) -> dict:
    response = api.post(url(api, "/webhooks"), json={"url": target, **fields}, timeout=30)
    assert response.status_code == 201, response.text
    return response.json()


def deliveries(api: requests.Session, endpoint_id: str) -> list[dict]:
    response = api.get(url(api, f"/webhooks/{endpoint_id}/deliveries"), timeout=30)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def wait_for_delivery(api: requests.Session, endpoint_id: str, status: str, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        items = deliveries(api, endpoint_id)
        if items and items[0]["status"] == status:
            return items[0]
        time.sleep(0.1)
    raise AssertionError(f"no {status} delivery within {timeout} s: {deliveries(api, endpoint_id)}")


def verified(secret: str, request: Received) -> dict:
    """The event, as the reference library verifies it (raises when the signature does not hold)."""
    return Webhook(secret).verify(request.body, request.headers)


def test_a_receiver_down_for_the_first_attempts_gets_the_event_once_signed(api):
    # Given an endpoint whose receiver is not listening yet
    port = closed_port()
    endpoint = register(api, f"http://127.0.0.1:{port}/hook")

    # When a calculation ends, and the receiver comes up after two refused attempts
    calculation = post(api, {"num1": 10, "num2": 5}).json()
    deadline = time.monotonic() + 30
    while not (items := deliveries(api, endpoint["id"])) or len(items[0]["attempts"]) < 2:
        assert time.monotonic() < deadline, items
        time.sleep(0.1)
    with receiver(port) as up:
        (request,) = up.wait_for(1, timeout=30)
        delivery = wait_for_delivery(api, endpoint["id"], "succeeded")
        time.sleep(3)  # a second delivery would come within the schedule's next wait

        # Then it arrives once, verified, with the delivery's id, and the calculation's result
        assert len(up.received) == 1
    event = verified(endpoint["secret"], request)
    assert request.headers["webhook-id"] == delivery["id"]
    assert event["type"] == "calculation.succeeded"
    assert event["data"]["id"] == calculation["id"]
    assert event["data"]["result"] == {"Add": 15, "Subtract": 5, "Multiply": 50, "Division": 2.0}
    assert event["data"]["links"]["self"] == f"/calculations/{calculation['id']}"
    # And the deliveries route shows the refused attempts, then the 200
    attempts = delivery["attempts"]
    assert [a.get("statusCode") for a in attempts[-1:]] == [200]
    assert all("error" in a and "statusCode" not in a for a in attempts[:-1])
    assert len(attempts) >= 3


def test_a_429_with_retry_after_is_honoured_and_the_retry_is_signed_afresh(api):
    # Given a receiver that answers 429 with Retry-After: 4 once, then 200
    with receiver(answers=[(429, {"Retry-After": "4"})]) as busy:
        endpoint = register(api, busy.url, events=["calculation.failed"])

        # When a calculation fails (division by zero)
        post(api, {"num1": 1, "num2": 0})
        first, second = busy.wait_for(2, timeout=30)

    # Then the retry came no sooner than Retry-After (the schedule alone says 2 s)
    assert second.at - first.at >= 4
    # And both carry the same webhook-id, a fresh timestamp and signature, and both verify
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert int(second.headers["webhook-timestamp"]) - int(first.headers["webhook-timestamp"]) >= 4
    assert first.headers["webhook-signature"] != second.headers["webhook-signature"]
    assert verified(endpoint["secret"], first) == verified(endpoint["secret"], second)
    assert verified(endpoint["secret"], second)["type"] == "calculation.failed"
    statuses = [a["statusCode"] for a in wait_for_delivery(api, endpoint["id"], "succeeded")["attempts"]]
    assert statuses == [429, 200]


def test_a_redirect_is_not_followed(api):
    # Given a receiver that answers 307 to another receiver on this machine, then 200
    with receiver() as elsewhere, receiver() as redirecting:
        redirecting.answers.append((307, {"Location": elsewhere.url}))
        endpoint = register(api, redirecting.url)

        # When a ping is delivered
        api.post(url(api, f"/webhooks/{endpoint['id']}/ping"), timeout=30)
        redirecting.wait_for(2, timeout=30)
        delivery = wait_for_delivery(api, endpoint["id"], "succeeded")

        # Then the redirect was an answer like any other: retried on the schedule, never followed
        assert elsewhere.received == []
    assert [a["statusCode"] for a in delivery["attempts"]] == [307, 200]


def test_a_410_disables_the_endpoint(api):
    # Given a receiver that answers 410 Gone
    with receiver(answers=[(410, {})] * 3) as gone:
        endpoint = register(api, gone.url)

        # When an event is sent to it
        assert api.post(url(api, f"/webhooks/{endpoint['id']}/ping"), timeout=30).status_code == 202
        delivery = wait_for_delivery(api, endpoint["id"], "failed")
        time.sleep(3)

        # Then it was asked once, the delivery failed, and the endpoint is disabled
        assert len(gone.received) == 1
    assert [a["statusCode"] for a in delivery["attempts"]] == [410]
    current = api.get(url(api, f"/webhooks/{endpoint['id']}"), timeout=30).json()
    assert current["disabled"] is True
    assert current["disabledReason"] == "the receiver answered 410 Gone"
    # And a ping or a redelivery to it is refused, not accepted and then dropped
    ping = api.post(url(api, f"/webhooks/{endpoint['id']}/ping"), timeout=30)
    again = {"deliveryId": delivery["id"]}
    redelivery = api.post(url(api, f"/webhooks/{endpoint['id']}/redeliveries"), json=again, timeout=30)
    assert ping.status_code == redelivery.status_code == 409
    assert ping.headers["Content-Type"] == "application/problem+json"


def test_during_a_rotation_both_secrets_verify_the_same_delivery(api):
    # Given an endpoint whose secret was rotated
    with receiver() as up:
        endpoint = register(api, up.url)
        rotated = api.post(url(api, f"/webhooks/{endpoint['id']}/rotate-secret"), timeout=30)
        assert rotated.status_code == 200, rotated.text
        new_secret = rotated.json()["secret"]
        assert new_secret != endpoint["secret"]

        # When a ping is delivered
        api.post(url(api, f"/webhooks/{endpoint['id']}/ping"), timeout=30)
        (request,) = up.wait_for(1, timeout=30)

    # Then it carries two signatures, and the old and new secrets both verify it
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    assert verified(endpoint["secret"], request)["type"] == "webhook.ping"
    assert verified(new_secret, request)["type"] == "webhook.ping"
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + "A" * 43 + "=").verify(request.body, request.headers)


def test_a_redelivery_sends_the_same_id_and_body_again(api):
    with receiver() as up:
        endpoint = register(api, up.url)
        ping = api.post(url(api, f"/webhooks/{endpoint['id']}/ping"), timeout=30).json()
        first = up.wait_for(1, timeout=30)[0]
        wait_for_delivery(api, endpoint["id"], "succeeded")

        # When the delivery is sent again
        again = api.post(
            url(api, f"/webhooks/{endpoint['id']}/redeliveries"),
            json={"deliveryId": ping["deliveryId"]},
            timeout=30,
        )
        second = up.wait_for(2, timeout=30)[1]

    # Then it is round 2 of the same delivery: same webhook-id and body, signed afresh
    assert again.status_code == 202, again.text
    assert again.json() == {"deliveryId": ping["deliveryId"], "round": 2}
    assert second.headers["webhook-id"] == first.headers["webhook-id"] == ping["deliveryId"]
    assert json.loads(second.body) == json.loads(first.body)
    assert verified(endpoint["secret"], second)["type"] == "webhook.ping"


def test_another_consumer_cannot_see_test_redeliver_or_delete_an_endpoint(api, other_api):
    # Given the first consumer's endpoint and one of its deliveries
    with receiver() as up:
        endpoint = register(api, up.url)
        ping = api.post(url(api, f"/webhooks/{endpoint['id']}/ping"), timeout=30).json()
        up.wait_for(1, timeout=30)
        path = f"/webhooks/{endpoint['id']}"

        # Then to the second consumer it does not exist, exactly like an unknown id
        for method, suffix, body in [
            ("GET", "", None),
            ("GET", "/deliveries", None),
            ("POST", "/ping", None),
            ("POST", "/rotate-secret", None),
            ("POST", "/redeliveries", {"deliveryId": ping["deliveryId"]}),
            ("DELETE", "", None),
        ]:
            answer = other_api.request(method, url(other_api, path + suffix), json=body, timeout=30)
            unknown = other_api.request(
                method, url(other_api, "/webhooks/ep_unknown" + suffix), json=body, timeout=30
            )
            assert assert_problem(answer, 404)["detail"] == assert_problem(unknown, 404)["detail"], (
                method,
                suffix,
            )
        assert other_api.get(url(other_api, "/webhooks"), timeout=30).json() == {"items": []}
        time.sleep(1)

        # And nothing more reached the receiver, and the endpoint is still there for its owner
        assert len(up.received) == 1
    assert api.get(url(api, path), timeout=30).status_code == 200


def test_an_endpoint_lists_gets_and_deletes_without_its_secret(api):
    endpoint = register(api, "http://127.0.0.1:9/hook", description="listed")

    listed = api.get(url(api, "/webhooks"), timeout=30).json()["items"]
    got = api.get(url(api, f"/webhooks/{endpoint['id']}"), timeout=30).json()

    assert endpoint["id"] in [item["id"] for item in listed]
    assert all("secret" not in item for item in listed)
    assert "secret" not in got
    assert got["description"] == "listed"
    assert api.delete(url(api, f"/webhooks/{endpoint['id']}"), timeout=30).status_code == 204
    assert_problem(api.get(url(api, f"/webhooks/{endpoint['id']}"), timeout=30), 404)


def test_a_url_that_is_not_http_to_loopback_or_https_public_is_refused_naming_the_field(api):
    # Addresses only: none of these is ever contacted (the refusal is decided before any request)
    for target in ["http://10.0.0.1/hook", "http://169.254.169.254/latest/meta-data", "ftp://127.0.0.1/hook"]:
        problem = assert_problem(api.post(url(api, "/webhooks"), json={"url": target}, timeout=30), 422)
        assert [error["field"] for error in problem["errors"]] == ["url"], target


def test_with_the_deployed_rules_a_loopback_url_is_refused(tmp_path_factory):
    if DEPLOYED_API_URL:
        pytest.skip(LOCAL_ONLY)
    # Given a runtime switched to the deployed rules (https to public addresses only)
    deployed_rules = start_runtime(tmp_path_factory, "webhooks-public-only", "--webhooks-public-only")
    try:
        api = consumer(deployed_rules.api_url, deployed_rules.api_key())
        assert "https to public addresses only" in deployed_rules.run_output()

        # Then loopback is refused however it is written, at registration
        for target in [
            "http://127.0.0.1:9/hook",
            "https://127.0.0.1:9/hook",
            "https://localhost:9/hook",
            "https://[::1]:9/",
        ]:
            problem = assert_problem(api.post(url(api, "/webhooks"), json={"url": target}, timeout=30), 422)
            assert problem["errors"][0]["field"] == "url", target
            assert (
                "not public" in problem["errors"][0]["message"] or "https" in problem["errors"][0]["message"]
            )
    finally:
        deployed_rules.stop()


def test_a_delivery_waiting_at_a_sigkill_is_delivered_after_the_restart(tmp_path_factory):
    if DEPLOYED_API_URL:
        pytest.skip(LOCAL_ONLY)
    # Given a runtime whose schedule waits 8 s after a first attempt that is refused
    killed = start_runtime(
        tmp_path_factory, "webhooks-sigkill", environment={"WEBHOOK_RETRY_SCHEDULE": "0,8"}
    )
    api = consumer(killed.api_url, killed.api_key())
    port = closed_port()
    endpoint = register(api, f"http://127.0.0.1:{port}/hook")
    calculation = post(api, {"num1": 2, "num2": 1}).json()
    assert wait_for_result(api, calculation["id"]).status_code == 200
    deadline = time.monotonic() + 20
    while not (items := deliveries(api, endpoint["id"])) or not items[0]["attempts"]:
        assert time.monotonic() < deadline
        time.sleep(0.1)

    # When the runtime is killed during the wait, the receiver comes up, and the runtime restarts
    killed.kill()
    with receiver(port) as up:
        killed.start()
        try:
            assert "1 delivery(ies) that were in flight" in killed.run_output()
            (request,) = up.wait_for(1, timeout=30)
            time.sleep(2)

            # Then the delivery resumes and the event arrives once, verified
            assert len(up.received) == 1
            event = verified(endpoint["secret"], request)
            assert event["data"]["id"] == calculation["id"]
            delivery = wait_for_delivery(api, endpoint["id"], "succeeded")
            assert [a.get("statusCode") for a in delivery["attempts"]] == [None, 200]
        finally:
            killed.stop()
