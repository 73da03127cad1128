"""`python -m local` as a user meets it: the banner, a port already taken, a clean stop."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from local.__main__ import parse_settings
from local.banner import banner, endpoint_urls
from local.runtime import Reopened
from runtime_process import REPO_ROOT, LocalRuntime

URLS = {"API": "http://api", "Lambda": "http://lambda", "DynamoDB": "http://dynamodb"}


def test_it_starts_with_a_banner_naming_both_urls_and_stops_cleanly_on_sigterm(needs_local, tmp_path):
    runtime = LocalRuntime(tmp_path / "data", tmp_path / "run.log").start()

    exit_code = runtime.stop()

    output = runtime.output()
    assert exit_code == 0
    assert runtime.api_url in output
    assert runtime.lambda_url in output
    assert "curl -i -X POST" in output
    assert "aws lambda invoke" in output
    assert output.rstrip().endswith("Stopped.")


def test_a_restart_on_the_same_log_waits_for_its_own_banner(needs_local, tmp_path):
    # Given a runtime that was started and stopped once, its banner in the log
    runtime = LocalRuntime(tmp_path / "data", tmp_path / "run.log").start()
    assert runtime.stop() == 0

    # When it is started again, appending to the same log
    runtime.start()
    try:
        this_run = runtime.run_output()
    finally:
        assert runtime.stop() == 0

    # Then start() returned on the second run's own banner, not the first one's
    assert this_run.count("Ctrl-C stops it.") == 1
    assert "Stopped." not in this_run.split("Ctrl-C stops it.")[0]
    assert runtime.output().count("Ctrl-C stops it.") == 2


def test_a_restart_listens_on_the_ports_the_first_start_was_given(needs_local, tmp_path):
    # Given a runtime started on ports the system chose, then stopped
    runtime = LocalRuntime(tmp_path / "data", tmp_path / "run.log").start()
    first_urls = dict(runtime.urls)
    assert runtime.stop() == 0

    # When it is started again on the same data folder
    runtime.start()
    try:
        this_run = runtime.run_output()
    finally:
        assert runtime.stop() == 0

    # Then its banner names the same URLs as the first start's
    assert endpoint_urls(this_run) == first_urls


def test_the_developers_local_settings_do_not_reach_the_test_runtime(needs_local, tmp_path, monkeypatch):
    # Given a developer's shell that asks for the in-memory store and another API port
    monkeypatch.setenv("LOCAL_STORE", "memory")
    monkeypatch.setenv("LOCAL_API_PORT", "1")

    # When the tests start the runtime
    runtime = LocalRuntime(tmp_path / "data", tmp_path / "run.log").start()
    try:
        banner = runtime.run_output()
    finally:
        assert runtime.stop() == 0

    # Then it runs on SQLite in its data folder and on the port the tests chose
    assert f"SQLite, {tmp_path / 'data'}" in banner
    assert runtime.api_url in banner


def children_of(pid: int) -> dict[int, str]:
    """The processes whose parent is `pid` (whichever of its threads started them): their names."""
    found = {}
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":\t", 1) for line in status.read_text().splitlines() if ":\t" in line)
        except OSError:  # gone meanwhile
            continue
        if fields.get("PPid", "").strip() == str(pid):
            found[int(status.parent.name)] = fields["Name"].strip()
    return found


def worker_processes(pid: int, name: str) -> int:
    """Children of `pid` that are worker processes named `name`."""
    return sum(child_name == name for child_name in children_of(pid).values())


def started_workers(pid: int) -> tuple[int, int]:
    return worker_processes(pid, "api-worker"), worker_processes(pid, "projector")


def test_every_worker_process_is_started_at_start_up_without_a_request(needs_local, tmp_path):
    # Given a runtime with a pool of three API workers, and no request sent to it
    runtime = LocalRuntime(tmp_path / "data", tmp_path / "run.log", "--api-workers", "3").start()
    try:
        # When it has had a few seconds to warm up
        deadline = time.monotonic() + 30
        while (started := started_workers(runtime.process.pid)) != (3, 2) and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)

        # Then the three API workers and the status projector's two run in processes of their own
        assert started == (3, 2), children_of(runtime.process.pid)
        assert started_workers(runtime.process.pid) == (3, 2)
    finally:
        assert runtime.stop() == 0


def test_a_port_already_taken_stops_start_up_with_a_clear_message(needs_local, tmp_path):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]

        completed = subprocess.run(
            [
                sys.executable,
                "-m",
                "local",
                *("--api-port", "0", "--dynamodb-port", "0"),  # only the taken port can be in the way
                *("--lambda-port", str(port), "--data-dir", str(tmp_path)),
            ],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )

    assert completed.returncode != 0
    assert f"port {port} on 127.0.0.1 is already in use" in completed.stderr
    assert "--lambda-port" in completed.stderr
    assert "Traceback" not in completed.stderr


@pytest.mark.parametrize("argv", [["--api-port", "70000"], ["--lambda-port", "-1"], ["--api-port", "http"]])
def test_a_port_outside_0_to_65535_is_refused_with_a_clear_message(argv, monkeypatch, capsys):
    # Given no port settings in the environment
    for name in ("LOCAL_API_PORT", "LOCAL_LAMBDA_PORT"):
        monkeypatch.delenv(name, raising=False)

    # When the runtime's flags name a port that does not exist
    with pytest.raises(SystemExit) as stopped:
        parse_settings(argv)

    # Then it stops with argparse's usage error naming the flag and the range
    assert stopped.value.code == 2
    error = capsys.readouterr().err
    assert f"argument {argv[0]}: must be a port from 0 to 65535, got '{argv[1]}'" in error


def test_a_port_variable_outside_0_to_65535_is_refused_naming_the_variable(monkeypatch, capsys):
    # Given LOCAL_LAMBDA_PORT set to a port that does not exist
    monkeypatch.setenv("LOCAL_LAMBDA_PORT", "65536")

    # When the settings are read
    with pytest.raises(SystemExit) as stopped:
        parse_settings([])

    # Then the error names the variable and the range
    assert stopped.value.code == 2
    assert "LOCAL_LAMBDA_PORT must be a port from 0 to 65535, got '65536'" in capsys.readouterr().err


def test_ports_from_flags_and_variables_within_range_are_taken(monkeypatch):
    # Given a valid port in the environment and another as a flag
    monkeypatch.setenv("LOCAL_LAMBDA_PORT", "65535")

    # When the settings are read
    settings = parse_settings(["--api-port", "0"])

    # Then both are used as given
    assert (settings.api_port, settings.lambda_port) == (0, 65535)


def test_the_banner_reports_resumed_and_timed_out_executions_apart():
    # When the runtime found two executions to resume and one whose timeout had passed
    lines = banner(URLS, "in memory", "in memory", Reopened(resumed=2, timed_out=1), quotas=True)

    # Then the banner names each count on its own line
    assert "  Resumed          2 execution(s) that were in flight" in lines
    assert "  Timed out        1 execution(s) whose timeout passed while it was stopped" in lines


def test_the_banner_has_no_resume_lines_when_nothing_was_in_flight():
    lines = banner(URLS, "in memory", "in memory", Reopened(resumed=0, timed_out=0), quotas=True)

    assert not any("Resumed" in line or "Timed out" in line for line in lines)
