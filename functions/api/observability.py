"""The function's one Logger, Tracer and Metrics, shared by the handler, the routes and the problems.

One Metrics object matters: its namespace is set from the settings on each invocation, and every
metric any module adds must go out with it.
"""

import warnings

from aws_lambda_powertools import Logger, Metrics

from tracing import create_tracer

logger = Logger()
tracer = create_tracer()
metrics = Metrics()


def quiet_empty_metrics() -> None:
    """Reads publish no metric, by design: Powertools would warn about it on each of them (its
    docs suggest this filter)."""
    warnings.filterwarnings("ignore", "No application metrics to publish")


quiet_empty_metrics()


def start_invocation_metrics() -> None:
    """An invocation's metrics start empty.

    A flush empties the set, except where POWERTOOLS_METRICS_DISABLED is true (the local
    runtime): there the values pile up, and Powertools prints them itself, disabled or not,
    once a metric holds 100.
    """
    metrics.clear_metrics()
