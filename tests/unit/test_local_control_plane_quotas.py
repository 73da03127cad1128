"""The local Lambda endpoint's control-plane rates, on a fake clock: AWS's defaults, per operation."""

from __future__ import annotations

import pytest

from local.control_plane_quotas import ControlPlaneQuotas


class FakeClock:
    def __init__(self) -> None:
        self.seconds = 1000.0

    def monotonic(self) -> float:
        return self.seconds


def admitted_at_once(quotas: ControlPlaneQuotas, operation: str) -> int:
    """How many calls of `operation` pass before the first one refused, at one instant."""
    count = 0
    while quotas.retry_after(operation) is None:
        count += 1
        assert count <= 10_000, f"{operation} is not limited"
    return count


@pytest.mark.parametrize(
    ("operation", "per_second"),
    [
        ("ListDurableExecutionsByFunction", 15),
        ("GetDurableExecution", 30),
        ("GetDurableExecutionHistory", 15),
        ("StopDurableExecution", 300),
    ],
)
def test_each_operation_passes_aws_default_calls_per_second(operation, per_second):
    # Given the default rates on a clock that moves only when told
    clock = FakeClock()
    quotas = ControlPlaneQuotas(enabled=True, clock=clock.monotonic)

    # When calls come all at once, then again one second later
    first_second = admitted_at_once(quotas, operation)
    clock.seconds += 1
    next_second = admitted_at_once(quotas, operation)

    # Then each second lets AWS's default number through, and refuses the next with a retry
    assert (first_second, next_second) == (per_second, per_second)
    assert quotas.retry_after(operation) == 1


def test_invoke_is_not_limited_and_disabled_quotas_limit_nothing():
    clock = FakeClock()
    enabled = ControlPlaneQuotas(enabled=True, clock=clock.monotonic)
    disabled = ControlPlaneQuotas(enabled=False, clock=clock.monotonic)

    assert all(enabled.retry_after("Invoke") is None for _ in range(1000))
    assert all(disabled.retry_after("GetDurableExecutionHistory") is None for _ in range(1000))
