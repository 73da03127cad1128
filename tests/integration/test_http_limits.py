"""The local HTTP servers' own limits and refusals, spoken to over raw sockets on 127.0.0.1.

The endpoints run in this process with short limits (ConnectionLimits), so that a slow or idle
client is cut off within a second or two; the runtime's defaults are longer (README).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import logging
import socket
import struct
import threading
import time
from collections.abc import Iterator

import pytest

from local.api_gateway import ApiServer, FunctionPool
from local.api_keys import ApiKey
from local.control_plane_quotas import ControlPlaneQuotas
from local.http_base import ConnectionLimits, LocalServer
from local.key_gate import KeyGate
from local.lambda_api import LambdaServer
from local.usage_plan import UsagePlan

KEY = ApiKey("limitkey01", "limits", "limits-key-value-0123456789-abcdefghijk")
LIMITS = ConnectionLimits(idle_seconds=1.0, request_seconds=1.0, write_seconds=5.0, max_connections=5)
OK_FUNCTION = """
def handler(event, context):
    return {"statusCode": 200, "headers": {"Content-Type": "text/plain"}, "body": "ok"}
"""


def serve(server: LocalServer) -> Iterator[tuple[str, int]]:
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[:2]
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def api_address(tmp_path_factory) -> Iterator[tuple[str, int]]:
    code = tmp_path_factory.mktemp("ok_function")
    (code / "ok_function.py").write_text(OK_FUNCTION)
    pool = FunctionPool("ok_function:handler", code, {}, max_workers=1)
    gate = KeyGate([KEY], UsagePlan(rate=10_000, burst=10_000, quota=1_000_000))
    yield from serve(ApiServer(("127.0.0.1", 0), pool, gate, LIMITS))
    pool.close()


@pytest.fixture(scope="module")
def lambda_address() -> Iterator[tuple[str, int]]:
    # Refused before any route runs: the runtime behind it is never reached.
    yield from serve(LambdaServer(("127.0.0.1", 0), None, ControlPlaneQuotas(False), LIMITS))  # type: ignore[arg-type]


def connect(address: tuple[str, int]) -> socket.socket:
    return socket.create_connection(address, timeout=10)


def answer(connection: socket.socket) -> tuple[int, http.client.HTTPMessage, bytes]:
    response = http.client.HTTPResponse(connection)
    response.begin()
    return response.status, response.headers, response.read()


def closed_after(connection: socket.socket) -> float:
    """Seconds until the server ends the connection (reads and drops whatever it answers)."""
    started = time.monotonic()
    try:
        while connection.recv(65536):
            pass
    except ConnectionResetError:
        pass
    return time.monotonic() - started


def assert_problem(status: int, headers: http.client.HTTPMessage, body: bytes, expected: int) -> dict:
    assert status == expected, body
    assert headers["Content-Type"] == "application/problem+json"
    assert headers["Connection"] == "close"
    problem = json.loads(body)
    assert set(problem) == {"type", "title", "status", "detail"}
    assert problem["status"] == expected
    assert problem["title"] == http.HTTPStatus(expected).phrase
    assert "Traceback" not in problem["detail"]
    return problem


def test_a_body_shorter_than_its_content_length_is_answered_408_at_the_request_limit(api_address):
    # Given a request that declares 100 bytes and sends 2, then waits
    with connect(api_address) as connection:
        started = time.monotonic()
        connection.sendall(
            b"POST /calculations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"x-api-key: " + KEY.value.encode() + b"\r\nContent-Length: 100\r\n\r\n{}"
        )

        # When the request limit (1 s here) passes
        status, headers, body = answer(connection)
        waited = time.monotonic() - started

        # Then the gateway answers 408 as a problem document and closes the connection
        assert_problem(status, headers, body, 408)
        assert 0.9 <= waited < 3
        assert closed_after(connection) < 1


def test_a_body_cut_short_by_the_client_is_refused_before_the_function_runs(api_address):
    # Given a request that declares 100 bytes, sends 2 and then ends its side of the connection
    with connect(api_address) as connection:
        connection.sendall(
            b"POST /calculations HTTP/1.1\r\nHost: x\r\nx-api-key: " + KEY.value.encode() + b"\r\n"
            b"Content-Length: 100\r\n\r\n{}"
        )
        connection.shutdown(socket.SHUT_WR)

        # When the gateway reads its body
        status, headers, body = answer(connection)

    # Then the gateway refuses it rather than hand the function 2 bytes of 100
    problem = assert_problem(status, headers, body, 400)
    assert problem["detail"] == "The body is shorter than its Content-Length"


def test_headers_that_never_end_are_answered_408_at_the_request_limit(api_address):
    # Given a request whose headers never reach their blank line
    with connect(api_address) as connection:
        started = time.monotonic()
        connection.sendall(b"GET /swagger HTTP/1.1\r\nHost: x\r\n")

        # When the request limit (1 s here) passes
        status, headers, body = answer(connection)

        # Then the gateway answers 408 as a problem document and closes the connection
        assert_problem(status, headers, body, 408)
        assert 0.9 <= time.monotonic() - started < 3


def test_headers_trickled_a_byte_at_a_time_are_cut_off_at_the_request_limit(api_address):
    # Given a client that sends its headers one byte every 0.1 s, for far longer than the limit
    with connect(api_address) as connection:
        request = b"GET /calculations HTTP/1.1\r\nHost: x\r\n" + b"X-Slow: " + b"a" * 60

        def trickle() -> None:
            for byte in request:
                try:
                    connection.send(bytes([byte]))
                except OSError:
                    return
                time.sleep(0.1)

        # When the server reads it
        threading.Thread(target=trickle, daemon=True).start()
        lasted = closed_after(connection)

        # Then the connection ends at the 1 s request limit, not after the 9 s the client would take
        assert 0.9 <= lasted < 3


def test_an_idle_keep_alive_connection_is_closed_at_the_idle_limit(api_address):
    # Given a connection that has sent one whole request and read its answer
    with connect(api_address) as connection:
        connection.sendall(b"GET /swagger HTTP/1.1\r\nHost: x\r\n\r\n")
        status, _, _ = answer(connection)
        assert status == 200

        # When the client then sends nothing
        idle = closed_after(connection)

        # Then the server closes it once the idle limit (1 s here) has passed
        assert 0.9 <= idle < 3


@pytest.mark.parametrize(
    ("version", "connection_header", "stays_open"),
    [
        pytest.param("HTTP/1.1", "", True, id="1.1"),
        pytest.param("HTTP/1.1", "Connection: close\r\n", False, id="1.1-close"),
        pytest.param("HTTP/1.0", "", False, id="1.0"),
        pytest.param("HTTP/1.0", "Connection: keep-alive\r\n", True, id="1.0-keep-alive"),
    ],
)
def test_a_connection_stays_open_as_its_version_and_connection_header_say(
    api_address, version, connection_header, stays_open
):
    # Given a connection that has sent one whole request and read its answer
    with connect(api_address) as connection:
        connection.sendall(f"GET /swagger {version}\r\nHost: x\r\n{connection_header}\r\n".encode())
        status, headers, _ = answer(connection)
        assert status == 200

        # Then the server keeps it for the next request, or says it closes it and does
        assert (headers["Connection"] == "close") is not stays_open
        if stays_open:
            connection.sendall(b"GET /swagger HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            assert answer(connection)[0] == 200
        else:
            assert closed_after(connection) < 1


@pytest.mark.parametrize("endpoint", ["api_address", "lambda_address"])
def test_expect_100_continue_is_answered_before_the_body_is_sent(endpoint, request):
    address = request.getfixturevalue(endpoint)
    body = b'{"num1": 1, "num2": 2}'
    with connect(address) as connection:
        # When a client sends its headers with Expect: 100-continue and waits before the body
        connection.sendall(
            b"POST /2015-03-31/functions/x/invocations HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
            b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body)
        )
        connection.settimeout(5)
        interim = connection.recv(65536)

        # Then it is told to go on at once, and the request is then answered
        assert interim.startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
        connection.sendall(body)
        final = interim.removeprefix(b"HTTP/1.1 100 Continue\r\n\r\n")
        while chunk := connection.recv(65536):
            final += chunk
    assert final.startswith(b"HTTP/1.1 ")


@pytest.mark.parametrize("endpoint", ["api_address", "lambda_address"])
def test_expect_100_continue_with_a_body_too_large_is_refused_without_asking_for_it(endpoint, request):
    address = request.getfixturevalue(endpoint)
    with connect(address) as connection:
        # When a client announces a body over the endpoint's limit and waits to be told to send it
        connection.sendall(
            b"POST /2015-03-31/functions/x/invocations HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
            b"Content-Length: 999999999\r\n\r\n"
        )
        received = b""
        while chunk := connection.recv(65536):
            received += chunk

    # Then the only answer is the refusal (a 100 first would have it send the body for nothing)
    assert received.startswith(b"HTTP/1.1 413 ")
    assert b"100 Continue" not in received
    assert b"\r\nConnection: close\r\n" in received


def served_again(address: tuple[str, int], timeout: float = 5.0) -> bool:
    """Whether a request is answered 200 within `timeout` seconds (retrying while refused 503)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with connect(address) as connection:
            connection.sendall(b"GET /swagger HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            if answer(connection)[0] == 200:
                return True
        time.sleep(0.05)
    return False


def test_idle_connections_beyond_the_cap_give_way_and_cost_no_thread(api_address):
    # Given a server capped at 5 connections, and 50 clients that connect and stay idle
    threads_before = threading.active_count()
    connections = [connect(api_address) for _ in range(50)]
    try:
        time.sleep(0.5)
        threads_while_open = threading.active_count()

        # When one more client sends a request
        with connect(api_address) as latest:
            latest.sendall(b"GET /swagger HTTP/1.1\r\nHost: x\r\n\r\n")
            status, _, _ = answer(latest)

        # Then it is answered, the idle ones having given way, oldest first, each closed without an
        # answer; at no point do more than 5 hold a thread
        assert status == 200
        for connection in connections[:40]:
            connection.settimeout(5)
            assert connection.recv(65536) == b""
    finally:
        for connection in connections:
            connection.close()
    assert threads_while_open - threads_before <= 5


def test_a_connection_beyond_the_cap_of_busy_ones_is_answered_503_and_costs_no_thread(api_address):
    # Given a server capped at 5 connections, each in the middle of a request (headers not ended)
    threads_before = threading.active_count()
    busy = [connect(api_address) for _ in range(5)]
    try:
        for connection in busy:
            connection.sendall(b"GET /swagger HTTP/1.1\r\nHost: x\r\n")
        time.sleep(0.3)

        # When one more client connects
        with connect(api_address) as refused:
            refused.settimeout(5)
            status, headers, body = answer(refused)
        threads_while_busy = threading.active_count()
    finally:
        for connection in busy:
            connection.close()
        # The next tests start once the server has let the busy connections go.
        assert served_again(api_address)

    # Then it is answered 503 with Retry-After and closed, and it had no thread of its own
    problem = assert_problem(status, headers, body, 503)
    assert headers["Retry-After"] == "1"
    assert problem["detail"] == "All 5 connections are busy: retry later"
    assert threads_while_busy - threads_before <= 5


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        pytest.param(
            b"GET /swagger HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n",
            431,
            id="header-line",
        ),
        pytest.param(
            b"GET /swagger HTTP/1.1\r\nHost: x\r\n"
            + b"".join(b"X-%d: 1\r\n" % n for n in range(101))
            + b"\r\n",
            431,
            id="too-many-headers",
        ),
        pytest.param(b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n", 414, id="uri-too-long"),
        pytest.param(b"GARBAGE\r\n\r\n", 400, id="bad-request-line"),
        pytest.param(b"GET /swagger HTTP/1.x\r\n\r\n", 400, id="bad-version-syntax"),
        pytest.param(b"GET /swagger HTTP/2.0\r\n\r\n", 505, id="http-2"),
        pytest.param(b"GET /swagger\r\n\r\n", 505, id="http-0.9"),
        pytest.param(
            b"POST /calculations HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n", 400, id="bad-length"
        ),
        pytest.param(
            b"POST /calculations HTTP/1.1\r\nHost: x\r\nContent-Length : 2\r\n\r\n{}",
            400,
            id="space-before-colon",
        ),
        pytest.param(b"GET /swagger HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n folded\r\n\r\n", 400, id="folded-line"),
        pytest.param(b"GET /swagger HTTP/1.1\r\n\r\n", 400, id="no-host"),
        pytest.param(b"GET /swagger HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, id="two-hosts"),
        pytest.param(
            b"GET /swagger HTTP/1.1\r\nHost: x\r\n" + (b"X-F: " + b"f" * 10_000 + b"\r\n") * 7 + b"\r\n",
            431,
            id="headers-too-large-in-all",
        ),
        pytest.param(
            b"POST /calculations HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n{}",
            400,
            id="two-equal-lengths",
        ),
        pytest.param(
            b"POST /calculations HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 7\r\n\r\n{}",
            400,
            id="two-different-lengths",
        ),
    ],
)
def test_a_malformed_request_is_answered_with_a_problem_document(api_address, request_bytes, status):
    # When a request the HTTP server itself cannot take arrives
    with connect(api_address) as connection:
        connection.sendall(request_bytes)
        answer_status, headers, body = answer(connection)

    # Then it is answered with its status as a problem document, and the connection closes
    assert_problem(answer_status, headers, body, status)


@pytest.mark.parametrize("endpoint", ["api_address", "lambda_address"])
def test_a_head_request_whose_headers_are_refused_gets_its_answer_without_a_body(endpoint, request):
    # When a HEAD request's header section breaks RFC 9112 (a space before the colon)
    with connect(request.getfixturevalue(endpoint)) as connection:
        connection.sendall(b"HEAD /swagger HTTP/1.1\r\nHost: x\r\nAccept : */*\r\n\r\n")
        received = b""
        while chunk := connection.recv(65536):
            received += chunk

    # Then the answer is the refusal's status and headers, and nothing after them (RFC 9110 9.3.2)
    head, _, after = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 ")
    assert b"Content-Length: " in head
    assert after == b""


def test_a_method_in_lower_case_is_not_its_upper_case_namesake(api_address):
    # When a request says `get` (methods are case-sensitive: GET is another method)
    with connect(api_address) as connection:
        connection.sendall(b"get /swagger HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        status, headers, body = answer(connection)

    # Then the gateway does not know it, and says so without calling the function
    problem = assert_problem(status, headers, body, 501)
    assert problem["detail"] == "No method get: methods are case-sensitive"


def test_a_method_in_lower_case_closes_its_connection(api_address):
    # When a keep-alive request says `get`
    with connect(api_address) as connection:
        connection.sendall(b"get /swagger HTTP/1.1\r\nHost: x\r\n\r\n")
        status, headers, _ = answer(connection)

        # Then the 501 says it is the connection's last, and a request sent after it gets no answer
        assert status == 501
        assert headers["Connection"] == "close"
        with contextlib.suppress(OSError):
            connection.sendall(b"GET /swagger HTTP/1.1\r\nHost: x\r\n\r\n")
        with contextlib.suppress(ConnectionResetError):
            assert connection.recv(65536) == b""


@pytest.mark.parametrize("sent", [b"GET /swagger HTTP/1.1\r\nHost: x\r\nX-Half: ", b"GET /swag"])
def test_a_client_that_resets_its_connection_mid_request_costs_one_quiet_line(
    api_address, caplog, capfd, sent
):
    # Given a client that sends part of a request, then resets the connection (RST, not FIN)
    caplog.set_level(logging.DEBUG, logger="local.http")
    connection = connect(api_address)
    connection.sendall(sent)
    time.sleep(0.2)
    connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    connection.close()

    # Then the server notes it in one debug line, with no traceback and no error
    deadline = time.monotonic() + 5
    while (
        not any("ended" in record.getMessage() for record in caplog.records) and time.monotonic() < deadline
    ):
        time.sleep(0.05)
    ended = [record for record in caplog.records if record.name == "local.http"]
    assert [record.levelno for record in ended] == [logging.DEBUG]
    assert "ConnectionResetError" in ended[0].getMessage()
    assert "Traceback" not in capfd.readouterr().err


def test_two_content_lengths_are_refused_before_the_function_runs(api_address):
    with connect(api_address) as connection:
        connection.sendall(
            b"POST /calculations HTTP/1.1\r\nHost: x\r\nx-api-key: " + KEY.value.encode() + b"\r\n"
            b"Content-Length: 2\r\nContent-Length: 2\r\n\r\n{}"
        )
        status, headers, body = answer(connection)

    problem = assert_problem(status, headers, body, 400)
    assert problem["detail"] == "Send one Content-Length header, not several"


@pytest.mark.parametrize(
    ("request_bytes", "status", "code"),
    [
        pytest.param(
            b"GET /x HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n",
            431,
            "InvalidRequestContentException",
            id="header-line",
        ),
        pytest.param(b"GET /x HTTP/2.0\r\n\r\n", 505, "ServiceException", id="http-2"),
        pytest.param(
            b"POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
            400,
            "InvalidRequestContentException",
            id="two-lengths",
        ),
        pytest.param(
            b"POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 9\r\n\r\n{}",
            408,
            "RequestTimeoutException",
            id="slow-body",
        ),
    ],
)
def test_the_lambda_endpoint_refuses_malformed_requests_with_lambdas_own_errors(
    lambda_address, request_bytes, status, code
):
    # When a request the HTTP server itself cannot take reaches the Lambda endpoint
    with connect(lambda_address) as connection:
        connection.sendall(request_bytes)
        answer_status, headers, body = answer(connection)

    # Then it is answered as Lambda answers errors: its code in X-Amzn-ErrorType, a JSON message
    assert answer_status == status
    assert headers["X-Amzn-ErrorType"] == code
    assert headers["Content-Type"] == "application/json"
    assert json.loads(body)["message"]


def test_the_server_header_names_the_endpoint_but_not_the_interpreter(api_address):
    with connect(api_address) as connection:
        connection.sendall(b"GET /swagger HTTP/1.1\r\nHost: x\r\n\r\n")
        status, headers, _ = answer(connection)

    assert status == 200
    assert headers["Server"] == "local-api-gateway"
