"""What the two local endpoints (Lambda and API) share as HTTP servers.

Each connection has time limits (ConnectionLimits): an idle keep-alive connection closes after
`idle_seconds`; a request must arrive whole (request line, headers and body) within
`request_seconds` of its first byte, however slowly it trickles, or it is answered 408 and
closed; the client must take an answer within `write_seconds`. At most `max_connections` are
open at once: a new one takes the place of the longest-idle keep-alive connection (closed, as
servers close idle keep-alive connections; clients reconnect), and when every connection is busy
it is answered 503 with Retry-After and closed at once, on the accepting thread, so it costs no
thread. The errors the server answers itself (a malformed request line
or headers, a body it cannot read, the limits above) are in the endpoint's own error style:
`error_answer`, never the standard library's HTML page.
"""

from __future__ import annotations

import contextlib
import io
import logging
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.message import Message
from email.utils import formatdate
from functools import lru_cache
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

from local.request_head import HeadRefused, read_head

logger = logging.getLogger("local.http")

RETRY_AFTER_SECONDS = 1
# Answers that carry no content, and so no Content-Length (RFC 9110 8.6).
BODILESS_STATUSES = frozenset({HTTPStatus.NO_CONTENT, HTTPStatus.NOT_MODIFIED})
# How long a new connection waits for the slot of an idle one closed for it.
SLOT_WAIT_SECONDS = 1.0


@dataclass(frozen=True)
class ConnectionLimits:
    """A connection's time limits in seconds, and how many one endpoint holds at once (the
    runtime's defaults here; the tests pass short ones)."""

    idle_seconds: float = 30.0
    request_seconds: float = 30.0
    write_seconds: float = 30.0
    max_connections: int = 128


DEFAULT_LIMITS = ConnectionLimits()


@dataclass(frozen=True)
class ErrorAnswer:
    """An error the server answers itself, in its endpoint's style: headers (no length) and body."""

    headers: list[tuple[str, str]]
    body: bytes


class BodyRefused(Exception):
    """The request's body cannot be read: answer `status` with `message`; the connection then closes."""

    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def body_length(headers: Message, limit: int) -> int:
    """The body's length by its one Content-Length (0 without one); BodyRefused if none is usable.

    Chunked bodies are refused with 411 rather than read: the server does not decode transfer
    codings. Two Content-Length headers are refused even when they agree, as a proxy in front
    could read either one.
    """
    if "Transfer-Encoding" in headers:
        raise BodyRefused(HTTPStatus.LENGTH_REQUIRED, "Length Required: send the body with a Content-Length")
    declared = headers.get_all("Content-Length") or []
    if len(declared) > 1:
        raise BodyRefused(HTTPStatus.BAD_REQUEST, "Send one Content-Length header, not several")
    if not declared:
        return 0
    if not (declared[0].isascii() and declared[0].isdigit()):
        raise BodyRefused(HTTPStatus.BAD_REQUEST, "Invalid Content-Length")
    length = int(declared[0])
    if length > limit:
        raise BodyRefused(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"Request must be smaller than {limit} bytes")
    return length


@lru_cache(maxsize=1)
def http_date(second: int) -> str:
    """An HTTP date (RFC 9110 5.6.7) of a Unix time in whole seconds."""
    return formatdate(second, usegmt=True)


def http_message(status: HTTPStatus, answer: ErrorAnswer) -> bytes:
    """A whole HTTP/1.1 answer that closes its connection, as bytes to write to a socket."""
    head = [f"HTTP/1.1 {status.value} {status.phrase}"]
    head += [f"{name}: {value}" for name, value in answer.headers]
    head += [f"Content-Length: {len(answer.body)}", "Connection: close", "", ""]
    return "\r\n".join(head).encode("latin-1") + answer.body


class RequestClock(io.RawIOBase):
    """A connection's reads, each allowed only the time its limit leaves.

    Idle, a read waits up to `idle_seconds`; the first byte of a request starts its clock, and
    every later read until `await_request` gets only what remains of `request_seconds`, so a
    client that trickles a byte at a time cannot keep the request open.
    """

    def __init__(self, connection: socket.socket, server: LocalServer) -> None:
        super().__init__()
        self._connection = connection
        self._server = server
        self._limits = server.limits
        self._deadline: float | None = None

    def await_request(self) -> None:
        self._deadline = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._deadline is None:
            self._connection.settimeout(self._limits.idle_seconds)
            self._server.waiting(self._connection)
        else:
            remaining = self._deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("the request did not arrive within its time limit")
            self._connection.settimeout(remaining)
        try:
            received = self._connection.recv_into(buffer)
        finally:
            self._server.working(self._connection)
        if received and self._deadline is None:
            self._deadline = time.monotonic() + self._limits.request_seconds
        return received


class LocalServer(ThreadingHTTPServer):
    """A thread per connection, up to `limits.max_connections`; a deep accept queue for bursts.

    Listens on IPv6 when its host is an IPv6 address; `::` also takes IPv4 clients (dual stack).
    """

    daemon_threads = True
    request_queue_size = 128

    def __init__(
        self,
        address: tuple[str, int],
        handler_class: type[PromptRequestHandler],
        limits: ConnectionLimits = DEFAULT_LIMITS,
    ) -> None:
        self.limits = limits
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self._slots = threading.BoundedSemaphore(limits.max_connections)
        # Connections waiting for their next request, and since when: the first to give way.
        self._idle: dict[socket.socket, float] = {}
        self._idle_lock = threading.Lock()
        super().__init__(address, handler_class)

    def server_bind(self) -> None:
        if self.address_family == socket.AF_INET6 and self.server_address[0] == "::":
            self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()

    def waiting(self, connection: socket.socket) -> None:
        """`connection` waits for its next request: it may be closed to make room for a new one."""
        with self._idle_lock:
            self._idle.setdefault(connection, time.monotonic())

    def working(self, connection: socket.socket) -> None:
        with self._idle_lock:
            self._idle.pop(connection, None)

    def _close_longest_idle(self) -> bool:
        """Close the connection idle the longest (its thread then ends); False when none is idle."""
        with self._idle_lock:
            if not self._idle:
                return False
            connection = min(self._idle, key=self._idle.__getitem__)
            del self._idle[connection]
        with contextlib.suppress(OSError):
            connection.shutdown(socket.SHUT_RDWR)
        return True

    def process_request(self, request: Any, client_address: Any) -> None:
        admitted = self._slots.acquire(blocking=False)
        while not admitted and self._close_longest_idle():
            admitted = self._slots.acquire(timeout=SLOT_WAIT_SECONDS)
        if not admitted:
            self._refuse(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client gone mid-request (reset, broken pipe) or too slow to take its answer is routine:
        one debug line, not the standard library's traceback on stderr. Anything else is a defect."""
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError | TimeoutError):
            logger.debug("connection from %s ended: %r", client_address[0], error)
        else:
            logger.exception("error serving a connection from %s", client_address[0])

    def _refuse(self, request: socket.socket) -> None:
        """503 and close, without blocking the accepting thread: the answer fits the send buffer."""
        status = HTTPStatus.SERVICE_UNAVAILABLE
        answer = self.RequestHandlerClass.error_answer(
            status, f"All {self.limits.max_connections} connections are busy: retry later"
        )
        answer = ErrorAnswer([*answer.headers, ("Retry-After", str(RETRY_AFTER_SECONDS))], answer.body)
        try:
            request.setblocking(False)
            request.send(http_message(status, answer))
            # What the client already sent is read, so that closing does not reset the connection
            # before the client reads the answer.
            request.recv(65536)
        except OSError:
            pass
        self.shutdown_request(request)


class PromptRequestHandler(BaseHTTPRequestHandler):
    """Keep-alive HTTP/1.1 whose answers leave at once, within the server's ConnectionLimits.

    A buffered writer sends headers and body together when the request is done, and
    TCP_NODELAY sends them at once: no response waits ~40 ms for the client's delayed ACK.
    """

    protocol_version = "HTTP/1.1"
    wbufsize = -1
    disable_nagle_algorithm = True
    server: LocalServer
    # An error the server answers itself, in the endpoint's style: each endpoint sets its own.
    error_answer: ClassVar[Callable[[HTTPStatus, str], ErrorAnswer]]
    # The client sent `Expect: 100-continue` and waits for it before it sends the body.
    continue_expected = False

    def version_string(self) -> str:
        """The Server header: the endpoint's name, not the interpreter behind it."""
        return self.server_version

    def setup(self) -> None:
        super().setup()
        self.rfile.close()  # the standard reader, replaced by one that keeps the time limits
        self._clock = RequestClock(self.connection, self.server)
        self.rfile = io.BufferedReader(self._clock)

    def handle_one_request(self) -> None:
        self._clock.await_request()
        super().handle_one_request()

    def finish(self) -> None:
        self.server.working(self.connection)
        super().finish()

    def parse_request(self) -> bool:
        """The request line and header fields (request_head), in place of the standard library's
        parsing; False once an error has been answered."""
        self.command = None  # an error before the method is known
        self.continue_expected = False
        self.request_version = self.protocol_version
        self.close_connection = True
        self.requestline = self.raw_requestline.decode("iso-8859-1").rstrip("\r\n")
        if not self.requestline.strip():
            return False
        try:
            line, self.headers = read_head(self.requestline, self.rfile.readline)
            self.command, self.path, self.request_version = line.method, line.target, line.version
        except HeadRefused as refused:
            self.command = refused.method
            self.send_error(refused.status, refused.message)
            return False
        except TimeoutError:
            self.send_error(HTTPStatus.REQUEST_TIMEOUT, "The request's headers did not arrive in time")
            return False
        connection = self.headers.get("Connection", "").lower()
        self.close_connection = connection == "close" or (not line.keeps_alive and connection != "keep-alive")
        # `100 Continue` is sent by read_body, once the body's length is accepted: a body refused
        # (413, 411...) is never asked for.
        self.continue_expected = self.headers.get("Expect", "").lower() == "100-continue" and line.keeps_alive
        return True

    def date_time_string(self, timestamp: float | None = None) -> str:
        """The Date header's value, formatted once a second rather than once an answer."""
        return http_date(int(time.time() if timestamp is None else timestamp))

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """The standard library's refusals (400, 414, 431, 505...) in the endpoint's style; then close."""
        status = HTTPStatus(code)
        detail = f"{message or status.phrase}: {explain}" if explain else message or status.description
        self.log_error("code %d, message %s", code, detail)
        self.close_connection = True
        answer = self.error_answer(status, detail)
        self.send_response(status)
        for name, value in answer.headers:
            self.send_header(name, value)
        self.send_content(status, answer.body)

    def send_content(self, status: int, body: bytes) -> None:
        """Content-Length, the end of the headers, and the body: a 204 or a 304 has neither length
        nor body (RFC 9110 8.6), and the answer to HEAD no body."""
        bodiless = status in BODILESS_STATUSES
        if not bodiless:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not bodiless and self.command != "HEAD":
            self.wfile.write(body)

    def end_headers(self) -> None:
        self.connection.settimeout(self.server.limits.write_seconds)
        if self.close_connection:  # tell the client this answer is the connection's last
            self.send_header("Connection", "close")
        super().end_headers()

    def read_body(self, limit: int) -> bytes:
        """The request's body, read by its Content-Length (after `100 Continue`, when the client
        expects it); BodyRefused if it has none usable, is too large, or does not arrive whole in time.

        A refused body is left unread, so the connection closes after the answer.
        """
        try:
            length = body_length(self.headers, limit)
            if length and self.continue_expected:
                # At once: the writer is buffered, and the client waits for it before the body.
                self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                self.wfile.flush()
            body = self.rfile.read(length) if length else b""
        except BodyRefused:
            self.close_connection = True
            raise
        except TimeoutError as error:
            self.close_connection = True
            message = "The request's body did not arrive in time"
            raise BodyRefused(HTTPStatus.REQUEST_TIMEOUT, message) from error
        if len(body) < length:
            self.close_connection = True
            raise BodyRefused(HTTPStatus.BAD_REQUEST, "The body is shorter than its Content-Length")
        return body
