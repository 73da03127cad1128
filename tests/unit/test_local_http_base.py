"""The local HTTP servers' pure helpers: a body's length, raw answers, addresses and URLs."""

from __future__ import annotations

from email.message import Message
from http import HTTPStatus

import pytest

from local.banner import endpoint_urls, listening_lines
from local.command_line import parse_settings
from local.http_base import (
    BodyRefused,
    ErrorAnswer,
    body_length,
    client_ip,
    http_message,
    local_url,
    socket_address,
)

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


@pytest.mark.parametrize(
    ("address", "written"),
    [
        (("127.0.0.1", 3000), "127.0.0.1:3000"),
        (("0.0.0.0", 3000), "0.0.0.0:3000"),
        (("::", 3000, 0, 0), "[::]:3000"),
        (("::1", 3000, 0, 0), "[::1]:3000"),
    ],
)
def test_a_bound_address_is_written_with_ipv6_hosts_in_brackets(address, written):
    assert socket_address(address) == written


@pytest.mark.parametrize(
    ("address", "url"),
    [
        (("127.0.0.1", 3001), "http://127.0.0.1:3001"),
        (("0.0.0.0", 3000), "http://127.0.0.1:3000"),
        (("::", 3000, 0, 0), "http://[::1]:3000"),
        (("192.0.2.7", 3000), "http://192.0.2.7:3000"),
    ],
)
def test_a_wildcard_address_is_reached_through_loopback(address, url):
    assert local_url(address) == url


@pytest.mark.parametrize(
    ("address", "client"),
    [("::ffff:127.0.0.1", "127.0.0.1"), ("127.0.0.1", "127.0.0.1"), ("::1", "::1")],
)
def test_an_ipv4_client_of_a_dual_stack_socket_is_named_by_its_ipv4_address(address, client):
    assert client_ip(address) == client


def test_the_banner_names_where_each_endpoint_listens():
    addresses = {"API": "0.0.0.0:3000", "Lambda": "127.0.0.1:3001", "DynamoDB": "127.0.0.1:3002"}

    assert listening_lines(addresses, exposed=False) == [
        "  Listening on     API 0.0.0.0:3000, Lambda 127.0.0.1:3001, DynamoDB 127.0.0.1:3002"
    ]
    assert listening_lines(addresses, exposed=True)[1] == (
        "  Exposed          Lambda and DynamoDB answer whoever reaches them, unauthenticated"
    )


def test_the_banners_ipv6_urls_are_read_back():
    banner = "  API endpoint     http://[::1]:3000\n  Lambda endpoint  http://127.0.0.1:3001   function f\n"

    assert endpoint_urls(banner) == {"API": "http://[::1]:3000", "Lambda": "http://127.0.0.1:3001"}


def test_the_internal_endpoints_are_exposed_only_when_asked(monkeypatch):
    monkeypatch.delenv("LOCAL_EXPOSE_INTERNAL_ENDPOINTS", raising=False)
    assert parse_settings(["--host", "0.0.0.0"]).expose_internal_endpoints is False
    assert parse_settings(["--expose-internal-endpoints"]).expose_internal_endpoints is True

    monkeypatch.setenv("LOCAL_EXPOSE_INTERNAL_ENDPOINTS", "on")
    assert parse_settings([]).expose_internal_endpoints is True
