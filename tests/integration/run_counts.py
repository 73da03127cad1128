"""How many integration tests ran and how many were skipped, and why: printed at the end of every
run, so a run against a deployed stack says what it did not check, and a local run how many
deployed-only tests it left out."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

INTEGRATION = "tests/integration/"
DEPLOYED_ONLY = "deployed only"


def skip_reason(report: Any) -> str:
    """A skip's reason as pytest words it ("Skipped: " left out)."""
    longrepr = report.longrepr
    reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
    return reason.removeprefix("Skipped: ")


def summary_lines(reports: Iterable[Any], deployed_url: str) -> list[str]:
    """The lines to print, from the run's test reports (each with nodeid, outcome, when, longrepr)."""
    ran: Counter[str] = Counter()
    skipped: Counter[str] = Counter()
    for report in reports:
        if not report.nodeid.startswith(INTEGRATION):
            continue
        if report.outcome == "skipped":
            skipped[skip_reason(report)] += 1
        elif report.when == "call":
            ran[report.outcome] += 1
        elif report.outcome == "failed":  # a fixture failed: the test errored before it ran
            ran["errored"] += 1
    if deployed_url:
        outcomes = ", ".join(f"{count} {outcome}" for outcome, count in sorted(ran.items())) or "none"
        lines = [
            f"against {deployed_url}: {sum(ran.values())} integration tests ran ({outcomes}), "
            f"{sum(skipped.values())} skipped"
        ]
        lines += [f"  {count} skipped: {reason}" for reason, count in skipped.most_common()]
        return lines
    deployed_only = sum(count for reason, count in skipped.items() if reason.startswith(DEPLOYED_ONLY))
    return [f"{deployed_only} deployed-only integration tests skipped (CALCULATIONS_API_URL is not set)"]
