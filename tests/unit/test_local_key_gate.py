"""The local API Gateway's key check: a known x-api-key, then the usage plan, as the deployed stage."""

from __future__ import annotations

import pytest

from local.api_keys import ApiKey
from local.key_gate import INVALID_API_KEY, KeyGate, Refused
from local.usage_plan import QUOTA_EXCEEDED, THROTTLED, UsagePlan

KEY = ApiKey("gatekey001", "first", "first-consumer-key-value-0001")
OTHER = ApiKey("gatekey002", "second", "second-consumer-key-value-002")


class StillClock:
    """A clock that never moves, so a bucket never refills."""

    def monotonic(self) -> float:
        return 1000.0


def gate(rate: float = 1000, burst: int = 1000, quota: int = 1_000_000) -> KeyGate:
    return KeyGate([KEY, OTHER], UsagePlan(rate, burst, quota, clock=StillClock().monotonic))


def refusal(key_gate: KeyGate, method: str, resource: str, api_key: str | None) -> str:
    with pytest.raises(Refused) as refused:
        key_gate.admit(method, resource, api_key)
    return refused.value.response_type


@pytest.mark.parametrize(
    ("method", "resource"),
    [("OPTIONS", "/calculations"), ("OPTIONS", "/calculations/{id}"), ("GET", "/swagger")],
)
def test_preflights_and_the_swagger_page_pass_without_a_key(method, resource):
    # Given a gate whose plan admits nothing more than one request
    key_gate = gate(burst=1, quota=1)

    # When a preflight or the Swagger page comes without a key, twice
    answers = [key_gate.admit(method, resource, None) for _ in range(2)]

    # Then both pass, with no key and no usage counted
    assert answers == [None, None]


@pytest.mark.parametrize("api_key", [None, "", "not-a-key-anybody-has-0001", KEY.id])
def test_a_missing_or_unknown_key_is_refused_as_invalid(api_key):
    assert refusal(gate(), "GET", "/calculations", api_key) == INVALID_API_KEY


def test_the_swagger_resource_needs_a_key_for_any_method_but_get():
    assert refusal(gate(), "POST", "/swagger", None) == INVALID_API_KEY


def test_a_known_key_is_admitted_as_its_own_consumer():
    key_gate = gate()

    assert key_gate.admit("POST", "/calculations", KEY.value) == KEY
    assert key_gate.admit("GET", "/calculations/{id}", OTHER.value) == OTHER


def test_past_the_burst_the_plan_throttles_the_key_and_not_the_other_one():
    # Given a plan with a burst of 2 on a clock that never refills it
    key_gate = gate(burst=2)
    key_gate.admit("GET", "/calculations", KEY.value)
    key_gate.admit("GET", "/calculations", KEY.value)

    # When the same key sends a third request, and another key its first
    throttled = refusal(key_gate, "GET", "/calculations", KEY.value)
    other = key_gate.admit("GET", "/calculations", OTHER.value)

    # Then the plan's THROTTLED refuses the first and admits the second
    assert throttled == THROTTLED
    assert other == OTHER


def test_past_the_quota_the_plan_refuses_the_key_as_quota_exceeded():
    # Given a plan of 1 request a day
    key_gate = gate(quota=1)
    key_gate.admit("GET", "/calculations", KEY.value)

    # When the key sends a second one the same day
    answer = refusal(key_gate, "GET", "/calculations", KEY.value)

    # Then the plan's QUOTA_EXCEEDED refuses it
    assert answer == QUOTA_EXCEEDED
