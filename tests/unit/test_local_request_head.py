"""Reading a request's head: the request line and the header fields, as RFC 9112 writes them."""

from __future__ import annotations

import io
from http import HTTPStatus

import pytest

from local.request_head import MAX_FIELDS, MAX_HEAD_BYTES, HeadRefused, header_fields, read_head, request_line


def fields(raw: bytes):
    return header_fields(io.BytesIO(raw).readline)


def test_a_request_line_gives_the_method_the_target_and_the_version():
    line = request_line("POST /calculations?x=1 HTTP/1.1")

    assert (line.method, line.target, line.version, line.keeps_alive) == (
        "POST",
        "/calculations?x=1",
        "HTTP/1.1",
        True,
    )


def test_http_1_0_closes_the_connection_unless_asked_otherwise():
    assert request_line("GET / HTTP/1.0").keeps_alive is False


def test_a_target_starting_with_two_slashes_is_one_path():
    assert request_line("GET //evil.example/x HTTP/1.1").target == "/evil.example/x"


@pytest.mark.parametrize(
    ("line", "status"),
    [
        pytest.param("GARBAGE", HTTPStatus.BAD_REQUEST, id="one-word"),
        pytest.param("GET / HTTP/1.1 extra", HTTPStatus.BAD_REQUEST, id="four-words"),
        pytest.param("GET / HTTP/1.x", HTTPStatus.BAD_REQUEST, id="bad-version"),
        pytest.param("GET / HTTPS/1.1", HTTPStatus.BAD_REQUEST, id="not-http"),
        pytest.param("GET / HTTP/1.1.1", HTTPStatus.BAD_REQUEST, id="three-numbers"),
        pytest.param("GET / HTTP/" + "1" * 11 + ".1", HTTPStatus.BAD_REQUEST, id="unreasonable-number"),
        pytest.param("GET /", HTTPStatus.HTTP_VERSION_NOT_SUPPORTED, id="http-0.9"),
        pytest.param("POST /calculations", HTTPStatus.HTTP_VERSION_NOT_SUPPORTED, id="http-0.9-post"),
        pytest.param("GET / HTTP/2.0", HTTPStatus.HTTP_VERSION_NOT_SUPPORTED, id="http-2"),
        pytest.param("G(E)T / HTTP/1.1", HTTPStatus.BAD_REQUEST, id="method-not-a-token"),
    ],
)
def test_a_malformed_request_line_is_refused(line, status):
    with pytest.raises(HeadRefused) as refused:
        request_line(line)

    assert refused.value.status == status


def test_header_fields_are_read_in_order_up_to_the_empty_line_and_the_body_stays_unread():
    stream = io.BytesIO(
        b"Host: x\r\nX-Api-Key: k1 \r\nAccept:\tapplication/json\r\nAccept: text/html\r\n\r\n{}"
    )

    headers = header_fields(stream.readline)

    assert headers.items() == [
        ("Host", "x"),
        ("X-Api-Key", "k1"),
        ("Accept", "application/json"),
        ("Accept", "text/html"),
    ]
    assert headers["x-api-key"] == "k1"  # names are matched without regard to case
    assert headers.get_all("accept") == ["application/json", "text/html"]
    assert stream.read() == b"{}"


def test_bare_line_feeds_and_an_early_end_of_stream_end_the_fields():
    assert fields(b"Host: x\nA: b\n\n").items() == [("Host", "x"), ("A", "b")]
    assert fields(b"Host: x\r\n").items() == [("Host", "x")]


def test_an_empty_value_is_a_value():
    assert fields(b"X-Empty:\r\n\r\n").get_all("X-Empty") == [""]


def test_values_are_read_as_latin_1():
    assert fields(b"X-Name: caf\xe9\r\n\r\n")["X-Name"] == "caf\xe9"


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"Content-Length : 2\r\n\r\n", id="space-before-colon"),
        pytest.param(b"Bad Header: x\r\n\r\n", id="space-in-name"),
        pytest.param(b"no colon here\r\n\r\n", id="no-colon"),
        pytest.param(b": no name\r\n\r\n", id="empty-name"),
        pytest.param(b"X-A: 1\r\n  folded\r\n\r\n", id="obs-fold"),
        pytest.param(b"X-A: a\rb\r\n\r\n", id="bare-cr-in-value"),
        pytest.param(b"X-A: a\x00b\r\n\r\n", id="nul-in-value"),
        pytest.param(b"X-A: a\r\r\n\r\n", id="bare-cr-before-the-line-end"),
        pytest.param(b"X(A): 1\r\n\r\n", id="separator-in-name"),
    ],
)
def test_a_line_rfc_9112_forbids_is_refused_rather_than_ending_the_fields(raw):
    with pytest.raises(HeadRefused) as refused:
        fields(raw)

    assert refused.value.status == HTTPStatus.BAD_REQUEST


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            b"Host: x\r\nX-Api-Key : secret-key-value\r\n\r\n",
            "Bad header line 2 ('X-Api-Key '): a field is `name: value`",
        ),
        (b"  secret-key-value\r\n\r\n", "Bad header line 1, which has no colon: a field is `name: value`"),
    ],
    ids=["space-before-colon", "no-colon"],
)
def test_a_refused_line_is_named_without_its_value(raw, message):
    # Given a line that is not a field, holding a secret after its name (or without a name)
    with pytest.raises(HeadRefused) as refused:
        fields(raw)

    # Then the refusal, which the client and the log see, names the line but not the secret
    assert refused.value.message == message
    assert "secret" not in refused.value.message


def test_a_field_line_over_the_limit_is_431():
    with pytest.raises(HeadRefused) as refused:
        fields(b"X-Big: " + b"a" * MAX_HEAD_BYTES + b"\r\n\r\n")

    assert refused.value.status == HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE


def test_fields_of_exactly_the_limit_in_all_are_taken_and_one_byte_more_is_431():
    # Two fields and the empty line: the limit counts every byte of the header section.
    first = b"X-A: " + b"a" * 1000 + b"\r\n"
    second_length = MAX_HEAD_BYTES - len(first) - len(b"\r\n")
    second = b"X-B: " + b"b" * (second_length - len(b"X-B: \r\n")) + b"\r\n"

    assert len(fields(first + second + b"\r\n")) == 2
    with pytest.raises(HeadRefused) as refused:
        fields(first + second.replace(b"X-B: ", b"X-B: b") + b"\r\n")
    assert refused.value.status == HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE


def test_many_fields_each_under_the_line_limit_are_431_once_they_are_too_large_in_all():
    line = b"X-F: " + b"f" * 10_000 + b"\r\n"

    with pytest.raises(HeadRefused) as refused:
        fields(line * 7 + b"\r\n")

    assert refused.value.status == HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE


def test_more_fields_than_the_limit_is_431_and_the_limit_itself_is_taken():
    many = b"".join(b"X-%d: 1\r\n" % n for n in range(MAX_FIELDS))

    assert len(fields(many + b"\r\n")) == MAX_FIELDS
    with pytest.raises(HeadRefused) as refused:
        fields(many + b"X-Last: 1\r\n\r\n")
    assert refused.value.status == HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE


def test_an_http_1_1_request_has_one_host():
    line, headers = read_head("GET / HTTP/1.1", io.BytesIO(b"Host: example\r\n\r\n").readline)

    assert (line.method, headers["Host"]) == ("GET", "example")


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"Accept: */*\r\n\r\n", id="no-host"),
        pytest.param(b"Host: a\r\nHost: b\r\n\r\n", id="two-hosts"),
    ],
)
def test_an_http_1_1_request_without_exactly_one_host_is_refused(raw):
    with pytest.raises(HeadRefused) as refused:
        read_head("GET / HTTP/1.1", io.BytesIO(raw).readline)

    assert refused.value.status == HTTPStatus.BAD_REQUEST
    assert refused.value.message == "Send one Host header"


def test_an_http_1_0_request_may_leave_out_the_host():
    line, headers = read_head("GET / HTTP/1.0", io.BytesIO(b"\r\n").readline)

    assert (line.version, headers.get("Host")) == ("HTTP/1.0", None)


def test_an_http_1_1_request_written_with_a_leading_zero_needs_its_host_too():
    with pytest.raises(HeadRefused):
        read_head("GET / HTTP/1.01", io.BytesIO(b"\r\n").readline)
