"""`python -m local` as a user meets it: the banner, a port already taken, a clean stop."""

from __future__ import annotations

import socket
import subprocess
import sys

from runtime_process import REPO_ROOT, LocalRuntime


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


def test_a_port_already_taken_stops_start_up_with_a_clear_message(needs_local, tmp_path):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]

        completed = subprocess.run(
            [sys.executable, "-m", "local", "--lambda-port", str(port), "--data-dir", str(tmp_path)],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )

    assert completed.returncode != 0
    assert f"port {port} on 127.0.0.1 is already in use" in completed.stderr
    assert "--lambda-port" in completed.stderr
    assert "Traceback" not in completed.stderr
