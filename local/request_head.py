"""An HTTP/1.1 request's head: its request line and its header fields, read as RFC 9112 writes them.

The standard library reads header fields through its e-mail parser, three times slower. This
reads them a line at a time, at most 100 fields in at most 64 KiB in all (431 beyond either:
128 connections cannot hold more than 8 MiB of headers), and refuses with 400 what RFC 9112
forbids: a method that is not a token, a field without a colon, whitespace before the colon, a
folded line, CR or NUL inside a value, and an HTTP/1.1 request without exactly one Host. The
e-mail parser instead ended the header section at such a line, silently, and left the fields
after it to be read as the body, or as the next request.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from http.client import HTTPMessage

MAX_HEAD_BYTES = 65536  # the header section, every line and its line ending
MAX_FIELDS = 100
# RFC 9110 5.1: a field name is a token.
FIELD_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# RFC 9112 2.3: HTTP-version = "HTTP/" DIGIT "." DIGIT (more digits are read, and refused as too new).
VERSION = re.compile(r"HTTP/(\d{1,10})\.(\d{1,10})")
# Characters no field value may hold (RFC 9110 5.5): the lines are already split at LF.
FORBIDDEN_IN_VALUE = re.compile(r"[\r\x00]")
END_OF_HEAD = (b"\r\n", b"\n", b"")


class HeadRefused(Exception):
    """The request's head cannot be taken: answer `status` with `message`, then close."""

    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.method: str | None = None  # once the request line was read: a HEAD's answer has no body


@dataclass(frozen=True)
class RequestLine:
    method: str
    target: str
    version: str  # as sent: "HTTP/1.1"
    keeps_alive: bool  # HTTP/1.1 keeps the connection open unless a header says otherwise


def read_head(line: str, readline: Callable[[int], bytes]) -> tuple[RequestLine, HTTPMessage]:
    """The request line (already read) and the header fields that follow it."""
    request = request_line(line)
    try:
        fields = header_fields(readline)
        if request.keeps_alive and len(fields.get_all("Host") or []) != 1:  # HTTP/1.1 and later
            raise HeadRefused(HTTPStatus.BAD_REQUEST, "Send one Host header")
    except HeadRefused as refused:
        refused.method = request.method
        raise
    return request, fields


def request_line(line: str) -> RequestLine:
    """`method SP request-target SP HTTP-version`; HeadRefused for anything else.

    A line of two words is HTTP/0.9, and HTTP/2 and later do not come as a text request line:
    both get 505.
    """
    words = line.split()
    if len(words) == 2:
        raise HeadRefused(HTTPStatus.HTTP_VERSION_NOT_SUPPORTED, "Send HTTP/1.1 or HTTP/1.0")
    if len(words) != 3:
        raise HeadRefused(HTTPStatus.BAD_REQUEST, f"Bad request syntax ({line!r})")
    method, target, version = words
    if not FIELD_NAME.fullmatch(method):  # a method is a token, as a field name is
        raise HeadRefused(HTTPStatus.BAD_REQUEST, f"Bad request method ({method!r})")
    match = VERSION.fullmatch(version)
    if not match:
        raise HeadRefused(HTTPStatus.BAD_REQUEST, f"Bad request version ({version!r})")
    number = int(match.group(1)), int(match.group(2))
    if number >= (2, 0):
        raise HeadRefused(HTTPStatus.HTTP_VERSION_NOT_SUPPORTED, f"Invalid HTTP version ({version[5:]})")
    if target.startswith("//"):  # a path read as a scheme-less URL by clients that follow it
        target = "/" + target.lstrip("/")
    return RequestLine(method, target, version, keeps_alive=number >= (1, 1))


def header_fields(readline: Callable[[int], bytes]) -> HTTPMessage:
    """The header fields up to the empty line (or the end of the stream), in the order sent."""
    fields = HTTPMessage()
    count = 0
    left = MAX_HEAD_BYTES
    while True:
        raw = readline(left + 1)
        left -= len(raw)
        if left < 0:
            raise HeadRefused(
                HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE,
                f"Headers too large: more than {MAX_HEAD_BYTES} bytes",
            )
        if raw in END_OF_HEAD:
            return fields
        count += 1
        if count > MAX_FIELDS:
            raise HeadRefused(
                HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, f"Too many headers: more than {MAX_FIELDS}"
            )
        name, colon, value = raw.decode("iso-8859-1").removesuffix("\n").removesuffix("\r").partition(":")
        if not colon or not FIELD_NAME.fullmatch(name):
            # Named by its place and, before a colon, its name: never its value (an API key's).
            place = f"header line {count}" + (f" ({name[:60]!r})" if colon else ", which has no colon")
            raise HeadRefused(HTTPStatus.BAD_REQUEST, f"Bad {place}: a field is `name: value`")
        value = value.strip(" \t")
        if FORBIDDEN_IN_VALUE.search(value):
            raise HeadRefused(HTTPStatus.BAD_REQUEST, f"Bad character in the value of header {name}")
        fields[name] = value
