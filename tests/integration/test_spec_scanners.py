"""The API security linters teams run on a spec, on openapi.yaml: Spectral with the OWASP ruleset, Redocly.

Both are pinned in package-lock.json (`make test` runs `npm ci`) and run from node_modules with no
network: the rulesets load from node_modules, Redocly's telemetry and update check are off. The
exceptions, each with its reason, are in .spectral.yaml; anything else they report fails here,
listed by rule.
"""

import json
import os
import subprocess
from collections import Counter
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
BIN = REPO_ROOT / "node_modules" / ".bin"
SPEC = "openapi.yaml"
TIMEOUT_SECONDS = 180
# Spectral's severities in its JSON report.
ERROR, WARNING = 0, 1


def run_tool(name: str, *arguments: str) -> subprocess.CompletedProcess[str]:
    tool = BIN / name
    assert tool.exists(), f"{name} is not installed: `make test` runs `npm ci`"
    environment = {**os.environ, "REDOCLY_TELEMETRY": "off", "REDOCLY_SUPPRESS_UPDATE_NOTICE": "true"}
    return subprocess.run(
        [str(tool), *arguments],
        cwd=REPO_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )


def spectral_findings() -> list[dict]:
    result = run_tool("spectral", "lint", SPEC, "--ruleset", ".spectral.yaml", "--format", "json", "--quiet")
    assert result.stdout.strip().startswith("["), f"spectral printed no report:\n{result.stderr}"
    return json.loads(result.stdout)


def by_rule(findings: list[dict]) -> dict[str, int]:
    return dict(sorted(Counter(finding["code"] for finding in findings).items()))


def test_spectral_owasp_finds_no_error_in_the_spec() -> None:
    errors = [finding for finding in spectral_findings() if finding["severity"] == ERROR]
    assert by_rule(errors) == {}, f"spectral errors by rule: {by_rule(errors)}"


def test_spectral_owasp_finds_no_warning_in_the_spec() -> None:
    warnings = [finding for finding in spectral_findings() if finding["severity"] == WARNING]
    assert by_rule(warnings) == {}, f"spectral warnings by rule: {by_rule(warnings)}"


def test_redocly_lint_finds_no_error_or_warning_in_the_spec() -> None:
    result = run_tool("redocly", "lint", SPEC, "--format", "json")
    report = json.loads(result.stdout[result.stdout.index("{") :])
    findings = [
        f"{problem['severity']} {problem['ruleId']}: {problem['message']}" for problem in report["problems"]
    ]

    assert findings == []
    assert report["totals"] == {"errors": 0, "warnings": 0, "ignored": 0}
