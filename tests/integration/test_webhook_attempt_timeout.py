"""One webhook attempt (functions/webhook_delivery/delivery_http.py) against receivers on 127.0.0.1:
the timeout is the whole attempt's, however the receiver answers."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from delivery_http import DeliveryFailed, post
from webhook_addresses import Target

TIMEOUT_SECONDS = 1.0
# The receivers below would keep an attempt this long if only each read had a timeout.
TRICKLE_SECONDS = 20.0


def receiver(answer: Callable[[socket.socket], None]) -> Iterator[int]:
    """A one-connection receiver on 127.0.0.1 that reads the request's head, then runs `answer`."""
    server = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        connection, _ = server.accept()
        with connection:
            connection.recv(65536)
            with contextlib.suppress(OSError):  # the client went away: what the test expects
                answer(connection)
            stop.wait(TRICKLE_SECONDS)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        server.close()


def trickled(head: bytes) -> Callable[[socket.socket], None]:
    def answer(connection: socket.socket) -> None:
        connection.sendall(head)
        for _ in range(int(TRICKLE_SECONDS / 0.2)):
            connection.sendall(b"x")
            time.sleep(0.2)

    return answer


@pytest.fixture(
    params=[
        pytest.param(b"HTTP/1.1 200 OK\r\nX-Slow: ", id="trickled-headers"),
        pytest.param(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n", id="trickled-body"),
        # An answer that will close the connection: http.client lets go of the socket (sock = None)
        pytest.param(b"HTTP/1.0 200 OK\r\nContent-Length: 1000\r\n\r\n", id="trickled-body-http-1.0"),
        pytest.param(
            b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1000\r\n\r\n",
            id="trickled-body-connection-close",
        ),
        pytest.param(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n", id="trickled-body-until-close"),
    ]
)
def trickling_port(request) -> Iterator[int]:
    yield from receiver(trickled(request.param))


def target(port: int) -> Target:
    return Target("http", "127.0.0.1", port, "/hook", "127.0.0.1")


def test_a_receiver_that_trickles_its_answer_is_cut_off_at_the_timeout(trickling_port):
    # When the receiver sends its answer a byte at a time, each byte well within the timeout
    started = time.monotonic()
    with pytest.raises(DeliveryFailed) as failed:
        post(target(trickling_port), b"{}", {}, TIMEOUT_SECONDS)

    # Then the attempt ends once the timeout has passed in all, and says so
    assert str(failed.value) == "the receiver did not answer within 1 s"
    assert time.monotonic() - started < TRICKLE_SECONDS / 2


def test_an_answer_within_the_timeout_is_read():
    def answer(connection: socket.socket) -> None:
        connection.sendall(b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 7\r\nContent-Length: 2\r\n\r\nno")

    for port in receiver(answer):
        result = post(target(port), b"{}", {}, TIMEOUT_SECONDS)

    assert (result.status, result.retry_after) == (429, 7)


def test_a_refused_connection_fails_with_its_own_reason():
    with socket.socket() as placeholder:
        placeholder.bind(("127.0.0.1", 0))
        port = placeholder.getsockname()[1]  # bound, never listening: connections are refused

        with pytest.raises(DeliveryFailed) as failed:
            post(target(port), b"{}", {}, TIMEOUT_SECONDS)

    assert str(failed.value).startswith("ConnectionRefusedError")
