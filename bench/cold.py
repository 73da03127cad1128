"""API cold start against a bare Powertools resolver, each in fresh interpreters; warm handler time."""

import json
import os
import statistics
import subprocess
import sys
from typing import Any

from bench import ROOT


def probe(*arguments: str, environment: dict[str, str] | None = None) -> dict[str, Any]:
    """Run `python -m bench.probe ...` in a fresh interpreter and read its JSON answer."""
    completed = subprocess.run(
        [sys.executable, "-m", "bench.probe", *arguments],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env=os.environ | (environment or {}),
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"probe {' '.join(arguments)} failed:\n{completed.stderr[-3000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def cold_start(runs: int) -> dict[str, Any]:
    """Medians over `runs` fresh processes each, alternating so drift in load hits both alike."""
    api: list[float] = []
    bare: list[float] = []
    probe("cold-start", "bare")  # fill the OS file cache for both before timing
    probe("cold-start", "api")
    for _ in range(runs):
        bare.append(probe("cold-start", "bare")["first_request_ms"])
        api.append(probe("cold-start", "api")["first_request_ms"])
    return {
        "runs": runs,
        "api_ms": round(statistics.median(api), 1),
        "bare_ms": round(statistics.median(bare), 1),
        "api_samples_ms": api,
        "bare_samples_ms": bare,
    }


def warm(requests: int) -> dict[str, Any]:
    return probe("warm", "--requests", str(requests))
