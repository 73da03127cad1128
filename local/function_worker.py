"""One Lambda "execution environment": a process that imports a handler once and runs one event at a time.

Lambda never runs two events in one environment at once, and the API code relies on it
(Powertools keeps the current event on the resolver class), so the local API endpoint runs
a small pool of these processes; the status projector runs in a pool of its own, off the
runtime's process, as it runs in a function of its own deployed. A worker ends when its
parent's end of the pipe closes.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
import traceback
from dataclasses import dataclass, field, fields
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from local.function_loader import load_handler


@dataclass
class LambdaContext:
    """The attributes of Lambda's Python context object that handlers and Powertools read."""

    function_name: str
    function_version: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    aws_request_id: str
    log_group_name: str
    log_stream_name: str
    timeout_seconds: float
    _deadline: float = field(init=False)

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))

    def fields(self) -> dict[str, Any]:
        """What another process needs to build the same context (its deadline starts there)."""
        return {each.name: getattr(self, each.name) for each in fields(self) if each.init}


def name_process(name: str) -> None:
    """Show `name` as the process's name in ps and top (Linux: /proc/self/comm, 15 bytes at most)."""
    # Not Linux, or no /proc: the name is only for people looking at processes.
    with contextlib.suppress(OSError):
        Path("/proc/self/comm").write_text(name[:15])


def serve(
    conn: Connection,
    code_dir: Path,
    handler: str,
    environment: dict[str, str],
    process_name: str,
    tracebacks: bool = True,
) -> None:
    """Import `handler` (module:function) from `code_dir`, then answer events until the pipe closes;
    `tracebacks`: print the traceback of each error the function raises, as Lambda logs it."""
    # Ctrl-C reaches the whole process group; the parent decides when workers stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    name_process(process_name)
    os.environ.update(environment)
    try:
        # The process is this function's environment: its folder stays on the path for later imports.
        function = load_handler(handler, code_dir, keep_folder=True)
    except Exception:  # noqa: BLE001 (any import failure is the function's init error, reported by the parent)
        conn.send(("init-error", traceback.format_exc()))
        return
    conn.send(("ready", None))
    while True:
        try:
            event, context_fields = conn.recv()
        except (EOFError, OSError):
            return
        try:
            outcome: tuple[str, Any] = ("ok", function(event, LambdaContext(**context_fields)))
        except Exception as error:  # noqa: BLE001 (an unhandled error is the function's answer, as in Lambda)
            if tracebacks:
                traceback.print_exc()
            outcome = ("error", {"errorType": type(error).__name__, "errorMessage": str(error)})
        try:
            conn.send(outcome)
        except (BrokenPipeError, OSError):
            return
