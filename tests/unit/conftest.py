"""Fixtures for the API tests: settings in the environment, stubbed AWS clients, a caller."""

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any

import pytest
from botocore.stub import Stubber

from events import API_ENVIRONMENT, NOW, FakeLambdaContext, rest_event, strict_json


@dataclass
class ApiResponse:
    status: int
    headers: dict[str, str]
    text: str
    json: Any = field(default=None)


@pytest.fixture
def api_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A fresh container: the API's settings in the environment and every cache empty."""
    import service
    import settings

    for name, value in API_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_ENDPOINT_URL_LAMBDA", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    settings.get_settings.cache_clear()
    service.clear_caches()
    yield
    settings.get_settings.cache_clear()
    service.clear_caches()


@pytest.fixture
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The service's clock stopped at events.NOW (start times, expiry, the end of a stop)."""
    import service

    class FixedClock(datetime):
        @classmethod
        def now(cls, tz: tzinfo | None = None) -> datetime:
            return NOW

    monkeypatch.setattr(service, "datetime", FixedClock)


@pytest.fixture
def lambda_stub(api_environment: None) -> Iterator[Stubber]:
    """botocore's Stubber on the container's Lambda client: every call must be expected.

    With nothing queued, a test proves the request made no Lambda call: the stub refuses any.
    """
    import lambda_adapter

    with Stubber(lambda_adapter.lambda_client()) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


@pytest.fixture
def table_stub(api_environment: None) -> Iterator[Stubber]:
    """botocore's Stubber on the container's DynamoDB client: every call must be expected."""
    import dynamodb_adapter

    with Stubber(dynamodb_adapter.dynamodb_client()) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


@pytest.fixture
def stubs(lambda_stub: Stubber, table_stub: Stubber) -> None:
    """Both AWS clients stubbed: a request may only make the calls its test queued."""


@pytest.fixture
def call(api_environment: None):
    """Send one request through lambda_handler; check every answer is clean JSON without a trace."""
    from app import lambda_handler

    def send(method: str, url: str, body: Any = None, headers: dict[str, str] | None = None, **options: Any):
        event = rest_event(method, url, body=body, headers=headers, **options)
        result = lambda_handler(event, FakeLambdaContext())
        headers_out = {name: values[-1] for name, values in (result.get("multiValueHeaders") or {}).items()}
        headers_out.update(result.get("headers") or {})
        text = result["body"] or ""
        assert "Traceback" not in text
        assert 'File "' not in text
        content_type = headers_out.get("Content-Type", "")
        parsed = strict_json(text) if content_type.endswith("json") and text else None
        return ApiResponse(status=result["statusCode"], headers=headers_out, text=text, json=parsed)

    return send
