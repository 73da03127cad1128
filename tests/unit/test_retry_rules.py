"""The steps' retry rules: which errors each step retries, how often and how far apart."""

import pytest

from retry_rules import RETRY_RULES


@pytest.mark.parametrize("step", ["Add", "Subtract", "Multiply", "Record"])
def test_a_transient_error_is_retried_after_1_then_2_seconds_then_given_up(step):
    # Given a step whose rule retries transient errors
    rule = RETRY_RULES[step]

    # When a transient error fails its first, second and third attempts
    decisions = [rule(ConnectionError("reset"), attempts) for attempts in (1, 2, 3)]

    # Then it is retried 1 s, then 2 s later, and not after the third attempt
    assert [decision.should_retry for decision in decisions] == [True, True, False]
    assert [decision.delay.to_seconds() for decision in decisions[:2]] == [1, 2]


@pytest.mark.parametrize("step", ["Add", "Subtract", "Multiply", "Record"])
@pytest.mark.parametrize("error", [ZeroDivisionError("division by zero"), OverflowError("result too large")])
def test_an_arithmetic_failure_is_never_retried(step, error):
    assert RETRY_RULES[step](error, 1).should_retry is False


def test_division_never_retries_even_a_transient_error():
    assert RETRY_RULES["Division"](ConnectionError("reset"), 1).should_retry is False
