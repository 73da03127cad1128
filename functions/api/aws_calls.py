"""What every AWS call of the API shares: its attempts (aws_clients makes the clients), and how
botocore errors become the few named exceptions of errors.py (so no AWS wording reaches a caller)."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from errors import Throttled, Unavailable, UpstreamError
from settings import RETRY_AFTER_MAX_SECONDS, get_settings

# Each call: 2 attempts of at most 2 s to connect and 5 s to read, with the standard mode's
# backoff between them (at most 1 s; 6 s if AWS sends x-amz-retry-after): 15 s, at the very
# worst 20 s, under API Gateway's 29 s, so a caller whose AWS call hangs gets the API's own 503.
CALL_ATTEMPTS = 2
THROTTLING_CODES = frozenset(
    {
        "TooManyRequestsException",  # Lambda
        "ThrottlingException",  # DynamoDB, and AWS generally
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
    }
)


def error_code(error: ClientError) -> str:
    return error.response.get("Error", {}).get("Code", "")


@contextmanager
def translated(service: str, expected: dict[str, type[Exception]] | None = None) -> Iterator[None]:
    """Turn botocore errors into errors.py's exceptions; `expected` maps codes to the caller's own."""
    try:
        yield
    except ClientError as error:
        code = error_code(error)
        if expected and code in expected:
            raise expected[code]() from error
        if code in THROTTLING_CODES:
            raise Throttled(service, _retry_after(error.response.get("retryAfterSeconds"))) from error
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        if code in ("ServiceException", "InternalServerError", "ServiceUnavailable") or status >= 500:
            raise Unavailable(f"{service} failed ({code})", service, code) from error
        raise UpstreamError(f"{service} refused the call ({code})", service, code) from error
    except BotoCoreError as error:
        raise Unavailable(f"{service} could not be reached ({type(error).__name__})", service) from error


def _retry_after(value: Any) -> int:
    try:
        return min(max(1, int(value)), RETRY_AFTER_MAX_SECONDS)
    except (TypeError, ValueError):
        return get_settings().retry_after_seconds
