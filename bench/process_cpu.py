"""CPU time and memory of the local runtime's processes, by role, read from /proc (Linux only).

`python -m local` is one process (the durable function, the Lambda endpoint, the reconciler) with
children: dynalite (node), the status projector's workers and the API workers (Python, one per
environment, named in /proc/<pid>/comm by local/function_worker.py).
"""

import os
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
PAGE_BYTES = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
ROLES = ("runtime", "dynalite", "projector", "api_workers")


def available() -> bool:
    return (PROC / "self" / "stat").exists()


def _cpu_seconds(pid: int) -> float:
    """User plus system time of one process, in seconds (0 once it has gone)."""
    try:
        fields = (PROC / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    # After the command: state is field 3; utime and stime are fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) / TICKS_PER_SECOND


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        tasks = list((PROC / str(pid) / "task").iterdir())
    except OSError:
        return found
    for task in tasks:
        try:
            found += [int(child) for child in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def _role(pid: int) -> str:
    try:
        command = (PROC / str(pid) / "cmdline").read_bytes().split(b"\0")[0]
        name = (PROC / str(pid) / "comm").read_text().strip()
    except OSError:
        return "api_workers"
    if command.endswith(b"node"):
        return "dynalite"
    return "projector" if name == "projector" else "api_workers"


def cpu_by_role(runtime_pid: int) -> dict[str, float]:
    """CPU seconds used so far by the runtime process, dynalite, and the API workers together."""
    totals = dict.fromkeys(ROLES, 0.0)
    totals["runtime"] = _cpu_seconds(runtime_pid)
    pending = _children(runtime_pid)
    while pending:
        pid = pending.pop()
        totals[_role(pid)] += _cpu_seconds(pid)
        pending += _children(pid)
    return totals


def rss_bytes(pid: int) -> int:
    """The resident set of one process, in bytes (0 once it has gone)."""
    try:
        return int((PROC / str(pid) / "statm").read_text().split()[1]) * PAGE_BYTES
    except OSError:
        return 0


@dataclass(frozen=True)
class CpuMeter:
    """CPU used by each role between its creation and `per_calculation`."""

    runtime_pid: int
    start: dict[str, float]

    @classmethod
    def begin(cls, runtime_pid: int) -> "CpuMeter":
        return cls(runtime_pid, cpu_by_role(runtime_pid))

    def per_calculation(self, calculations: int) -> dict[str, float]:
        """Milliseconds of CPU per calculation, by role and in total."""
        now = cpu_by_role(self.runtime_pid)
        spent = {role: (now[role] - self.start[role]) * 1000 / max(1, calculations) for role in ROLES}
        spent["total"] = sum(spent.values())
        return {role: round(ms, 1) for role, ms in spent.items()}
