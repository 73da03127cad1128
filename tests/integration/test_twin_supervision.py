"""The table's twin (dynalite) killed, frozen or gone for good, under a few clients: the runtime
restarts it on the same data and port, the API answers 503 problem+json with Retry-After while it
is down and never hangs, and no acknowledged calculation is lost."""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest
import requests

from api_helpers import PROBLEM, consumer, post, url, wait_for_result
from conftest import NO_CONTROL_PLANE_QUOTAS, UNLIMITED, start_runtime
from local.dynamodb_twin import RESTART_ATTEMPTS
from test_local_table import dynalite_processes, wait_until

CLIENTS = 4
POSTS = 60
KILL_AFTER = 15  # acknowledged calculations before dynalite is killed
# The API's worst case for one AWS call is 20 s (functions/api/aws_calls.py); the gateway's own
# integration timeout is 29 s. A request that outlives that hangs.
HANG_SECONDS = 29


def expected(n: int) -> dict:
    return {"Add": n + 3, "Subtract": n - 3, "Multiply": n * 3, "Division": n / 3}


def assert_unavailable(response: requests.Response) -> None:
    """The API's answer while the table is down: 503 problem+json with Retry-After."""
    assert response.status_code == 503, response.text
    assert response.headers["Content-Type"] == PROBLEM
    assert int(response.headers["Retry-After"]) > 0


@pytest.fixture
def twin_runtime(needs_local, tmp_path_factory):
    runtime = start_runtime(tmp_path_factory, "twin-supervision", *UNLIMITED, NO_CONTROL_PLANE_QUOTAS)
    yield runtime
    if runtime.process is not None and runtime.process.poll() is None:
        runtime.stop()


def only_dynalite(runtime) -> int:
    assert wait_until(lambda: len(dynalite_processes(runtime.data_dir)) == 1)
    return dynalite_processes(runtime.data_dir)[0]


def test_a_killed_dynalite_is_restarted_and_no_acknowledged_calculation_is_lost(twin_runtime, report):
    # Given a runtime with its twin, and a few clients sending calculations
    api = consumer(twin_runtime.api_url, twin_runtime.api_key())
    first = only_dynalite(twin_runtime)
    acknowledged: dict[str, int] = {}
    unavailable: list[requests.Response] = []
    lock = threading.Lock()
    enough = threading.Event()

    def send(n: int) -> None:
        response = post(api, {"num1": n, "num2": 3}, **{"Idempotency-Key": f"kill-{n}"})
        with lock:
            if response.status_code == 503:
                unavailable.append(response)
                return
            assert response.status_code in (200, 202), response.text
            acknowledged[response.json()["id"]] = n
            if len(acknowledged) >= KILL_AFTER:
                enough.set()

    with ThreadPoolExecutor(CLIENTS) as pool:
        futures = [pool.submit(send, n) for n in range(POSTS)]
        # When dynalite is killed while calculations arrive
        assert enough.wait(timeout=60)
        os.kill(first, signal.SIGKILL)
        for future in futures:
            future.result()

    # Then the runtime says so and starts another dynalite on the same data folder and port
    assert wait_until(lambda: dynalite_processes(twin_runtime.data_dir) not in ([], [first]), timeout=30)
    assert wait_until(lambda: "dynalite restarted" in twin_runtime.run_output(), timeout=30)
    assert "dynalite was ended by SIGKILL" in twin_runtime.run_output()
    # And what was refused meanwhile was a 503 problem with Retry-After
    for response in unavailable:
        assert_unavailable(response)
    # And the API recovers by itself: a retry of every refused calculation is acknowledged
    for n in range(POSTS):
        if f"kill-{n}" not in acknowledged:
            send(n)
    assert len(acknowledged) == POSTS
    # And every acknowledged calculation ends with its own result
    for calculation_id, n in acknowledged.items():
        response = wait_for_result(api, calculation_id, timeout=60)
        assert response.status_code == 200, response.text
        assert response.json() == expected(n)
    report("dynalite SIGKILL", f"{POSTS} acknowledged, {len(unavailable)} answered 503 while down, 0 lost")


def test_a_dynalite_killed_again_and_again_is_always_restarted(twin_runtime):
    # Given a runtime whose dynalite is killed more times in a row than the restarts it tries for
    # a dynalite that fails by itself, each new one as soon as it appears (often while it starts)
    api = consumer(twin_runtime.api_url, twin_runtime.api_key())
    killed: list[int] = []
    for _ in range(RESTART_ATTEMPTS + 2):
        assert wait_until(lambda: set(dynalite_processes(twin_runtime.data_dir)) - set(killed), timeout=30)
        victim = next(iter(set(dynalite_processes(twin_runtime.data_dir)) - set(killed)))
        os.kill(victim, signal.SIGKILL)
        killed.append(victim)

    # Then the runtime keeps restarting it and serves again, with no error line and no exit
    assert wait_until(lambda: set(dynalite_processes(twin_runtime.data_dir)) - set(killed), timeout=30)
    answered = wait_until(lambda: post(api, {"num1": 8, "num2": 4}).status_code in (200, 202), timeout=30)
    assert answered, twin_runtime.run_output()[-3000:]
    assert twin_runtime.process.poll() is None
    assert "could not be restarted" not in twin_runtime.run_output()


def test_a_frozen_dynalite_gets_503s_within_the_client_timeouts_and_then_answers_again(twin_runtime):
    # Given a runtime whose dynalite is frozen
    api = consumer(twin_runtime.api_url, twin_runtime.api_key())
    frozen = only_dynalite(twin_runtime)
    os.kill(frozen, signal.SIGSTOP)
    try:
        # When a few clients send calculations and reads meanwhile
        def timed(request) -> tuple[float, requests.Response]:
            started = time.monotonic()
            response = request()
            return time.monotonic() - started, response

        requests_ = [
            lambda: post(api, {"num1": 1, "num2": 2}),
            lambda: api.get(url(api, "/calculations"), timeout=60),
            lambda: api.get(url(api, "/calculations/frozen-unknown"), timeout=60),
        ]
        with ThreadPoolExecutor(len(requests_)) as pool:
            answers = list(pool.map(timed, requests_))
    finally:
        os.kill(frozen, signal.SIGCONT)

    # Then each is answered 503 problem+json with Retry-After, within the API's timeouts
    for seconds, response in answers:
        assert seconds < HANG_SECONDS
        assert_unavailable(response)
    # And once dynalite runs again, the same dynalite (nothing restarted it) answers as before
    response = post(api, {"num1": 10, "num2": 5})
    assert response.status_code in (200, 202), response.text
    assert dynalite_processes(twin_runtime.data_dir) == [frozen]


def bound(server: socket.socket, port: int) -> bool:
    """Whether `server` could bind 127.0.0.1:`port` now."""
    try:
        server.bind(("127.0.0.1", port))
    except OSError:
        return False
    return True


def test_a_dynalite_that_cannot_be_restarted_stops_the_runtime_with_one_line(twin_runtime):
    # Given a runtime whose dynalite is killed, and its port taken by another process before the
    # runtime can restart it (the runtime is frozen meanwhile)
    port = urlsplit(twin_runtime.urls["DynamoDB"]).port
    first = only_dynalite(twin_runtime)
    with socket.socket() as squatter:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        twin_runtime.process.send_signal(signal.SIGSTOP)
        try:
            os.kill(first, signal.SIGKILL)
            assert wait_until(lambda: dynalite_processes(twin_runtime.data_dir) == [], timeout=5)
            # The killed dynalite's connections may hold the port for a moment while they close.
            assert wait_until(lambda: bound(squatter, port), timeout=10)
            squatter.listen()
        finally:
            twin_runtime.process.send_signal(signal.SIGCONT)

        # When the runtime has tried what it can
        code = twin_runtime.process.wait(timeout=60)

    # Then it exits non-zero with one line saying why, and no dynalite is left
    assert code != 0
    output = twin_runtime.run_output()
    assert output.strip().splitlines()[-1] == (
        f"error: dynalite exited and could not be restarted in 5 attempts: port {port} on 127.0.0.1 is "
        f"taken by another process. The table's data are kept in {twin_runtime.data_dir / 'dynamodb'}."
    )
    assert "Traceback" not in output
    assert dynalite_processes(twin_runtime.data_dir) == []
