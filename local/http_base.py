"""What the two local endpoints (Lambda and API) share as HTTP servers."""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


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
