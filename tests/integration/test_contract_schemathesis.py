"""Property-based contract testing: schemathesis generates requests from openapi.yaml.

Every check is on (no 5xx, responses match the documented schema, status codes, headers and
content types, invalid input refused, valid input accepted, 405 for undeclared methods, requests
without a valid API key refused), over
the examples, coverage, fuzzing and stateful phases, bounded by a number of examples per
operation and a fixed seed so a run is repeatable. tests/integration/schemathesis.toml holds the
settings and says why each one is there.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import requests

from conftest import DEPLOYED_API_URL
from runtime_process import REPO_ROOT

SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
CONFIG = Path(__file__).with_name("schemathesis.toml")
MAX_EXAMPLES = 60
SEED = 20251201
# start, list, status, result, history, stop, delete; the webhooks: create, list, get, delete,
# rotate, ping, deliveries, redeliver
OPERATIONS = 15
# Deployed, API Gateway answers a method no route declares itself, with its 404 problem ("no such
# route"), before the function's 405 (README "Run it locally"); test_api_flows.py checks each side.
DEPLOYED_EXCLUDED_CHECKS = ("--exclude-checks", "unsupported_method")


def test_schemathesis_finds_no_contract_violation(api_url: str, api: requests.Session, tmp_path, report):
    report_path = tmp_path / "schemathesis.json"
    command = [
        str(SCHEMATHESIS),
        "--config-file",
        str(CONFIG),
        "run",
        str(REPO_ROOT / "openapi.yaml"),
        "--url",
        api_url,
        "--checks",
        "all",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--seed",
        str(SEED),
        # One worker: hypothesis parses lambda sources with ast, which Python 3.11 cannot do
        # from two threads at once ("AST constructor recursion depth mismatch").
        "--workers",
        "1",
        "--request-timeout",
        "35",
        "--generation-database",
        "none",
        "--no-color",
        "--report",
        "json",
        "--report-json-path",
        str(report_path),
        # The first consumer's key on every request; `ignored_auth` also sends requests without
        # it (and with a wrong one) and checks that they are refused, deployed and locally alike.
        "--header",
        f"x-api-key: {api.headers['x-api-key']}",
        *(DEPLOYED_EXCLUDED_CHECKS if DEPLOYED_API_URL else ()),
    ]

    result = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False, cwd=tmp_path)
    summary = json.loads(report_path.read_text(encoding="utf-8"))
    cases, failures, errors = summary["test_cases"], summary["failures"], summary["errors"]
    report(
        "schemathesis",
        f"schemathesis: {cases['generated']} cases over {summary['operations']['tested']} operations "
        f"in {summary['running_time']:.0f} s, {len(failures)} failures, {len(errors)} errors",
    )

    assert result.returncode == 0, result.stdout[-20000:] + result.stderr[-5000:]
    assert summary["operations"]["tested"] == summary["operations"]["total"] == OPERATIONS
    assert cases["generated"] >= OPERATIONS * 10
    assert failures == []
    assert errors == []
