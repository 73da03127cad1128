"""The API's metrics: one set per invocation, and no noise where metrics are disabled (locally)."""

from __future__ import annotations

import json
import warnings

import pytest
from aws_lambda_powertools.metrics import MetricUnit

import app
from events import FakeLambdaContext, rest_event
from observability import metrics, quiet_empty_metrics

INVOCATIONS = 120  # beyond the 100 values at which Powertools prints a metric's set by itself


@pytest.fixture
def counting_route(api_environment, monkeypatch):
    """Each request adds one metric, as a start does."""

    def resolve(event, context):
        metrics.add_metric(name="CalculationsStarted", unit=MetricUnit.Count, value=1)
        return {"statusCode": 202, "body": ""}

    monkeypatch.setattr(app.app, "resolve", resolve)
    metrics.clear_metrics()


def emf_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{") and '"_aws"' in line]


def test_with_metrics_disabled_nothing_is_printed_however_many_invocations(
    counting_route, monkeypatch, capsys
):
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")

    for _ in range(INVOCATIONS):
        app.lambda_handler(rest_event("POST", "/calculations"), FakeLambdaContext())

    assert emf_lines(capsys.readouterr().out) == []


def test_with_metrics_enabled_each_invocation_publishes_its_own_value(counting_route, monkeypatch, capsys):
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")

    for _ in range(3):
        app.lambda_handler(rest_event("POST", "/calculations"), FakeLambdaContext())

    published = emf_lines(capsys.readouterr().out)
    assert [document["CalculationsStarted"] for document in published] == [[1.0], [1.0], [1.0]]


def test_a_request_that_adds_no_metric_warns_of_nothing(api_environment, monkeypatch):
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    monkeypatch.setattr(app.app, "resolve", lambda event, context: {"statusCode": 200, "body": ""})

    def warnings_of_a_read(quiet: bool) -> list[str]:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")  # every warning, whatever the test run filters
            if quiet:
                quiet_empty_metrics()
            app.lambda_handler(rest_event("GET", "/calculations"), FakeLambdaContext())
        return [str(warning.message) for warning in caught]

    assert any("No application metrics" in message for message in warnings_of_a_read(quiet=False))
    assert warnings_of_a_read(quiet=True) == []
