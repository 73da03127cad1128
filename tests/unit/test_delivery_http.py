"""Retry-After as a receiver sends it: seconds or an HTTP date, capped at a day."""

from datetime import UTC, datetime

import pytest

from delivery_http import retry_after_seconds

NOW = datetime(2026, 11, 29, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("120", 120),
        ("Sun, 29 Nov 2026 12:00:30 GMT", 30),
        ("Sun, 29 Nov 2026 11:00:00 GMT", 0),
        ("9999999", 86400),
        (None, None),
        ("", None),
        ("soon", None),
        ("-5", None),
    ],
)
def test_retry_after_is_read_as_seconds_from_now(header, seconds):
    assert retry_after_seconds(header, NOW) == seconds
