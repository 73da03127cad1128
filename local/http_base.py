"""What the two local endpoints (Lambda and API) share as HTTP servers."""

from __future__ import annotations

from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class BodyRefused(Exception):
    """The request's body cannot be read: answer `status` with `message`; the connection then closes."""

    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class LocalServer(ThreadingHTTPServer):
    """A thread per connection; a deep accept queue for bursts of concurrent clients."""

    daemon_threads = True
    request_queue_size = 128


class PromptRequestHandler(BaseHTTPRequestHandler):
    """Keep-alive HTTP/1.1 whose answers leave at once.

    A buffered writer sends headers and body together when the request is done, and
    TCP_NODELAY sends them at once: no response waits ~40 ms for the client's delayed ACK.
    """

    protocol_version = "HTTP/1.1"
    wbufsize = -1
    disable_nagle_algorithm = True

    def end_headers(self) -> None:
        if self.close_connection:  # tell the client this answer is the connection's last
            self.send_header("Connection", "close")
        super().end_headers()

    def read_body(self, limit: int) -> bytes:
        """The request's body, read by its Content-Length; BodyRefused if it has none usable or is too large.

        A refused body is left unread, so the connection closes after the answer. Chunked bodies
        are refused with 411 rather than read: the server does not decode transfer codings.
        """
        if "Transfer-Encoding" in self.headers:
            self.close_connection = True
            raise BodyRefused(
                HTTPStatus.LENGTH_REQUIRED, "Length Required: send the body with a Content-Length"
            )
        declared = self.headers.get("Content-Length")
        if declared is None:
            return b""
        if not (declared.isascii() and declared.isdigit()):
            self.close_connection = True
            raise BodyRefused(HTTPStatus.BAD_REQUEST, "Invalid Content-Length")
        length = int(declared)
        if length > limit:
            self.close_connection = True
            raise BodyRefused(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"Request must be smaller than {limit} bytes"
            )
        return self.rfile.read(length) if length else b""
