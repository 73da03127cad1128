"""The local usage plan: a token bucket and a daily quota per API key, on a fake clock."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from cfnlint.decode import cfn_yaml

from local.usage_plan import DEFAULT_BURST, DEFAULT_QUOTA, DEFAULT_RATE, QUOTA_EXCEEDED, THROTTLED, UsagePlan

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"


class FakeClock:
    def __init__(self) -> None:
        self.seconds = 1000.0
        self.day = date(2026, 11, 29)

    def monotonic(self) -> float:
        return self.seconds

    def today(self) -> date:
        return self.day


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def plan(clock: FakeClock, rate: float = 25, burst: int = 50, quota: int = 10_000) -> UsagePlan:
    return UsagePlan(rate, burst, quota, clock=clock.monotonic, today=clock.today)


def admitted(usage_plan: UsagePlan, key_id: str, requests: int) -> list[str | None]:
    return [usage_plan.admit(key_id) for _ in range(requests)]


def test_a_new_key_may_send_a_full_burst_at_once_and_the_next_request_is_throttled(clock):
    usage_plan = plan(clock, rate=25, burst=50)

    answers = admitted(usage_plan, "key1", 51)

    assert answers[:50] == [None] * 50
    assert answers[50] == THROTTLED


def test_the_bucket_refills_at_the_rate(clock):
    # Given a key that used its whole burst
    usage_plan = plan(clock, rate=25, burst=50)
    admitted(usage_plan, "key1", 50)

    # When 200 ms pass: 25/s refills 5 requests
    clock.seconds += 0.2
    answers = admitted(usage_plan, "key1", 6)

    # Then five pass and the sixth is throttled
    assert answers == [None] * 5 + [THROTTLED]


def test_the_bucket_never_holds_more_than_the_burst(clock):
    # Given a key idle for an hour
    usage_plan = plan(clock, rate=25, burst=3)
    clock.seconds += 3600

    answers = admitted(usage_plan, "key1", 4)

    assert answers == [None, None, None, THROTTLED]


def test_each_key_has_its_own_bucket(clock):
    usage_plan = plan(clock, rate=1, burst=1)

    assert usage_plan.admit("key1") is None
    assert usage_plan.admit("key1") == THROTTLED
    assert usage_plan.admit("key2") is None


def test_over_the_quota_the_answer_is_quota_exceeded_until_the_next_utc_day(clock):
    # Given a quota of 3 a day and a bucket that never runs dry
    usage_plan = plan(clock, rate=1000, burst=1000, quota=3)
    assert admitted(usage_plan, "key1", 3) == [None, None, None]

    # When a fourth request comes the same day, then another the next day
    same_day = usage_plan.admit("key1")
    clock.day += timedelta(days=1)
    next_day = usage_plan.admit("key1")

    # Then the quota refuses the first and the new day's quota admits the second
    assert same_day == QUOTA_EXCEEDED
    assert next_day is None


def test_a_throttled_request_does_not_count_toward_the_quota(clock):
    # Given a quota of 2 and a bucket of 1 that refills once a second
    usage_plan = plan(clock, rate=1, burst=1, quota=2)

    # When the second request is throttled, and a third comes a second later
    answers = admitted(usage_plan, "key1", 2)
    clock.seconds += 1
    answers += admitted(usage_plan, "key1", 1)

    # Then the third still fits in the quota
    assert answers == [None, THROTTLED, None]


@pytest.mark.parametrize(("rate", "burst", "quota"), [(0, 1, 1), (1, 0, 1), (1, 1, 0)])
def test_a_plan_without_room_for_one_request_is_refused(rate, burst, quota):
    with pytest.raises(ValueError, match="at least 1"):
        UsagePlan(rate, burst, quota)


def test_the_local_plan_defaults_are_the_templates_parameter_defaults():
    # Given the deployed usage plan's parameters, read from template.yaml
    parameters = cfn_yaml.load(str(TEMPLATE))["Parameters"]

    # When the local plan's defaults are set beside the template's
    local = (DEFAULT_RATE, DEFAULT_BURST, DEFAULT_QUOTA)
    deployed = tuple(
        float(parameters[name]["Default"])
        for name in ("ApiThrottleRateLimit", "ApiThrottleBurstLimit", "ApiQuotaLimit")
    )

    # Then they are equal, and the quota counts per day in both
    assert local == deployed
    assert parameters["ApiQuotaPeriod"]["Default"] == "DAY"
