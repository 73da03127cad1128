"""The worker pools (local/function_pool.py): a worker that dies while starting is started again; a
function's error is its answer."""

from __future__ import annotations

import logging
import time

import pytest

from local.api_gateway import context_fields
from local.function_pool import FunctionError, FunctionPool

# Exits without a word the first time it is imported (the marker file does not exist yet), as a
# process killed while it starts would; imports normally after that.
FLAKY_FUNCTION = """
import os
import pathlib

marker = pathlib.Path(os.environ["FLAKY_MARKER"])
if not marker.exists():
    marker.write_text("started once")
    os._exit(3)


def handler(event, context):
    return "ok"
"""


def test_a_worker_that_dies_while_the_pool_warms_up_is_started_again(tmp_path, caplog):
    # Given a function whose first process dies while it starts
    (tmp_path / "flaky_function.py").write_text(FLAKY_FUNCTION)
    environment = {"FLAKY_MARKER": str(tmp_path / "marker")}
    pool = FunctionPool("flaky_function:handler", tmp_path, environment, max_workers=2, function="flaky")

    # When the pool warms up
    try:
        with caplog.at_level(logging.WARNING, logger="local.api"):
            pool.warm()
            deadline = time.monotonic() + 60
            while pool.started() < 2 and time.monotonic() < deadline:
                time.sleep(0.05)
            answer = pool.invoke({}, context_fields("request-1"), timeout_seconds=10)
    finally:
        pool.close()

    # Then it starts that worker again, says why with the exit code, and ends up full and answering
    assert pool.started() == 2
    assert answer == "ok"
    said = "flaky did not start, trying again: flaky's process exited while starting (exit code 3)"
    assert said in caplog.text


# Killed by SIGTERM while it starts, as a worker starting when the whole process group is told to stop.
TERMINATED_FUNCTION = """
import os
import pathlib
import signal

pathlib.Path(os.environ["TERMINATED_MARKER"]).write_text("starting")
os.kill(os.getpid(), signal.SIGTERM)
"""


def test_a_worker_killed_while_starting_just_before_the_pool_closes_is_not_reported(tmp_path, caplog):
    # Given a pool warming up whose starting worker is killed by a stop's SIGTERM
    (tmp_path / "terminated_function.py").write_text(TERMINATED_FUNCTION)
    marker = tmp_path / "marker"
    pool = FunctionPool(
        "terminated_function:handler", tmp_path, {"TERMINATED_MARKER": str(marker)}, max_workers=1
    )
    with caplog.at_level(logging.WARNING, logger="local.api"):
        pool.warm()
        deadline = time.monotonic() + 60
        while not marker.exists() and time.monotonic() < deadline:
            time.sleep(0.01)

        # When the pool closes a moment later, as the runtime stops
        time.sleep(0.2)
        pool.close()
        time.sleep(1)

    # Then nothing says the function did not start
    assert marker.exists()
    assert "did not start" not in caplog.text
    assert "does not start" not in caplog.text


FAILING_FUNCTION = """
def handler(event, context):
    raise ValueError("no such thing")
"""


@pytest.mark.parametrize("tracebacks", [True, False])
def test_an_error_the_function_raises_is_its_answer_and_its_traceback_is_printed_only_if_asked(
    tmp_path, capfd, tracebacks
):
    # Given a function that raises, in a pool that prints its workers' tracebacks or does not
    (tmp_path / "failing_function.py").write_text(FAILING_FUNCTION)
    pool = FunctionPool("failing_function:handler", tmp_path, {}, max_workers=1, tracebacks=tracebacks)

    # When it is invoked
    try:
        with pytest.raises(FunctionError) as error:
            pool.invoke({}, context_fields("request-1"), timeout_seconds=30)
    finally:
        pool.close()

    # Then the error is the answer, in one line, and the worker's traceback is printed only if asked
    assert str(error.value) == "ValueError: no such thing"
    printed = capfd.readouterr().err
    assert ("Traceback (most recent call last)" in printed) is tracebacks
