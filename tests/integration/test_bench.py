"""`make bench` keeps working: a tiny run of every section prints the table and writes the JSON.

It checks that the figures exist and that no calculation was lost or wrong; how fast they are
is the benchmark's business, never a test's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from runtime_process import REPO_ROOT, function_path

TINY_RUN = [
    sys.executable,
    "-m",
    "bench",
    "--sequential",
    "5",
    "--total",
    "24",
    "--clients",
    "4",
    "--cold-runs",
    "1",
    "--soak-seconds",
    "5",
    "--soak-clients",
    "2",
]
SECTIONS = {
    "baseline",
    "invocation",
    "operations",
    "cold_start",
    "time_to_result",
    "throughput",
    "peer",
    "soak",
}


def test_a_tiny_bench_run_prints_every_figure_and_loses_nothing(needs_local, tmp_path):
    output = tmp_path / "bench.json"

    completed = subprocess.run(
        [*TINY_RUN, "--output", str(output)],
        cwd=REPO_ROOT,
        env=os.environ | {"PYTHONPATH": function_path()},
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert completed.returncode == 0, completed.stderr[-3000:]
    assert "Throughput" in completed.stdout
    assert "API cold start" in completed.stdout
    figures = json.loads(output.read_text())["figures"]
    assert set(figures) >= SECTIONS
    assert figures["throughput"]["lost"] == figures["throughput"]["wrong"] == 0
    assert figures["time_to_result"]["poll_wrong"] == figures["time_to_result"]["prefer_wait_wrong"] == 0
    assert figures["control_plane_calls"]
    assert set(figures["throughput"]["cpu_ms_per_calculation"]) == {
        "runtime",
        "dynalite",
        "projector",
        "api_workers",
        "total",
    }
    for side in ("ours_concurrent", "ours_one", "peer_concurrent", "peer_one"):
        assert figures["peer"][side]["completed"] > 0
        assert figures["peer"][side]["lost"] == figures["peer"][side]["wrong"] == 0
    assert "dex-local-runner" in completed.stdout
    assert figures["soak"]["completed"] > 0
    assert figures["soak"]["lost"] == figures["soak"]["wrong"] == 0
    assert figures["soak"]["stored_bytes_per_calculation"] > 0
