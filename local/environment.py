"""The runtime's environment variables, and the processes it starts: one at a time.

A child process starts as a fork of the runtime followed by an exec that reads the runtime's
environment. Setting a variable on another thread at that moment can move the environment's
memory under the exec, which then fails, and the child exits with code 255 without a word (the
API pool's first worker did, now and then, while the runtime set the reconciler's variable).
So variables are set here only, and every process starts inside `starting_process`.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

_LOCK = threading.Lock()


def set_variables(values: Mapping[str, str], *, keep_existing: bool = False) -> None:
    """Set `values` in the runtime's environment (`keep_existing`: only those not set yet)."""
    with _LOCK:
        for name, value in values.items():
            if not (keep_existing and name in os.environ):
                os.environ[name] = value


@contextmanager
def starting_process() -> Iterator[None]:
    """Start a process inside this: no variable changes until its exec is done."""
    with _LOCK:
        yield
