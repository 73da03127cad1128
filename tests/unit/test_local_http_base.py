"""The local HTTP servers' pure helpers: a body's length and a raw answer."""

from __future__ import annotations

from email.message import Message
from http import HTTPStatus

import pytest

from local.http_base import BodyRefused, ErrorAnswer, body_length, http_message

LIMIT = 1000


def headers(*pairs: tuple[str, str]) -> Message:
    message = Message()
    for name, value in pairs:
        message[name] = value
    return message


def test_a_body_is_as_long_as_its_one_content_length():
    assert body_length(headers(("Content-Length", "12")), LIMIT) == 12


def test_a_request_without_content_length_has_no_body():
    assert body_length(headers(), LIMIT) == 0


@pytest.mark.parametrize(
    ("pairs", "status", "message"),
    [
        (
            (("Content-Length", "2"), ("Content-Length", "2")),
            400,
            "Send one Content-Length header, not several",
        ),
        (
            (("Content-Length", "2"), ("Content-Length", "7")),
            400,
            "Send one Content-Length header, not several",
        ),
        ((("Content-Length", "-5"),), 400, "Invalid Content-Length"),
        ((("Content-Length", "²"),), 400, "Invalid Content-Length"),
        ((("Content-Length", "1001"),), 413, "Request must be smaller than 1000 bytes"),
        ((("Transfer-Encoding", "chunked"),), 411, "Length Required: send the body with a Content-Length"),
        (
            (("Transfer-Encoding", "chunked"), ("Content-Length", "2")),
            411,
            "Length Required: send the body with a Content-Length",
        ),
    ],
)
def test_a_body_without_one_usable_length_is_refused(pairs, status, message):
    with pytest.raises(BodyRefused) as refused:
        body_length(headers(*pairs), LIMIT)

    assert refused.value.status == status
    assert refused.value.message == message


def test_a_raw_answer_carries_its_length_and_closes_the_connection():
    answer = ErrorAnswer([("Content-Type", "application/problem+json"), ("Retry-After", "1")], b'{"a": 1}')

    assert http_message(HTTPStatus.SERVICE_UNAVAILABLE, answer) == (
        b"HTTP/1.1 503 Service Unavailable\r\n"
        b"Content-Type: application/problem+json\r\n"
        b"Retry-After: 1\r\n"
        b"Content-Length: 8\r\n"
        b"Connection: close\r\n"
        b"\r\n"
        b'{"a": 1}'
    )
