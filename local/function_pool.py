"""A pool of worker processes (see function_worker): a function's Lambda execution environments."""

from __future__ import annotations

import logging
import multiprocessing
import threading
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from local import function_worker
from local.environment import starting_process

logger = logging.getLogger("local.api")

WORKER_START_TIMEOUT_SECONDS = 60.0
# A worker the warm-up could not start is tried again this many times, after a pause each time.
WARM_ATTEMPTS = 3
WARM_RETRY_SECONDS = 0.5


class FunctionError(Exception):
    """The function failed to start or to answer; API Gateway answers 502."""


class IntegrationTimeout(Exception):
    """The function did not answer in time; API Gateway answers 504."""


class _Worker:
    def __init__(self, process: multiprocessing.process.BaseProcess, conn: Connection) -> None:
        self.process = process
        self.conn = conn

    def stop(self) -> None:
        self.conn.close()
        self.process.join(timeout=2)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(timeout=2)


class FunctionPool:
    """Up to `max_workers` worker processes, each running one event at a time.

    `warm` starts them all ahead of time; until it is done, a request that finds none idle starts one.
    """

    def __init__(
        self,
        handler: str,
        code_dir: Path,
        environment: dict[str, str],
        max_workers: int,
        *,
        function: str = "the API function",
        process_name: str = "api-worker",
        tracebacks: bool = True,
    ) -> None:
        """`handler` (module:function) is imported from `code_dir` in each worker; `function` names it
        in errors, `process_name` names its processes in ps; `tracebacks`: a worker prints the
        traceback of each error its function raises (the pool's caller logs the error in one line)."""
        self._handler = handler
        self._function = function
        self._process_name = process_name
        self._tracebacks = tracebacks
        self._code_dir = code_dir
        self._environment = environment
        self._max_workers = max_workers
        self._context = multiprocessing.get_context("spawn")
        self._cond = threading.Condition()
        self._idle: list[_Worker] = []
        self._all: set[_Worker] = set()
        self._starting = 0
        self._closed = False

    def warm(self) -> None:
        """Start every worker in the background, one after another, so a first burst finds them ready.

        One at a time leaves the other cores to the requests that arrive meanwhile; a request
        that finds no idle worker still starts its own while the pool is below its size.
        """

        def start_all() -> None:
            failures = 0
            while self._reserve():
                try:
                    worker = self._start_reserved()
                except FunctionError as error:
                    failures += 1
                    # A stop's signal reaches the whole process group, so a worker starting then
                    # dies of it just before the pool closes: that is no news either.
                    if self._closes_within(WARM_RETRY_SECONDS):
                        return
                    if failures >= WARM_ATTEMPTS:
                        logger.error("%s does not start: %s", self._function, error)
                        return
                    logger.warning("%s did not start, trying again: %s", self._function, error)
                    continue
                failures = 0
                self._release(worker)

        threading.Thread(target=start_all, name=f"{self._process_name}-warm", daemon=True).start()

    def _closes_within(self, seconds: float) -> bool:
        """Wait up to `seconds` for the pool to close; True if it did."""
        with self._cond:
            return self._cond.wait_for(lambda: self._closed, timeout=seconds)

    def started(self) -> int:
        """How many workers the pool holds."""
        with self._cond:
            return len(self._all)

    def start_one(self) -> None:
        """Start one worker now and wait for it: FunctionError if the function cannot start."""
        if self._reserve():
            self._release(self._start_reserved())

    def _reserve(self) -> bool:
        """Claim a place for one more worker; False when the pool is full or closing."""
        with self._cond:
            if self._closed or len(self._all) + self._starting >= self._max_workers:
                return False
            self._starting += 1
            return True

    def _start_reserved(self) -> _Worker:
        """Start the worker a `_reserve` made room for, and count it in the pool."""
        worker: _Worker | None = None
        try:
            worker = self._start_worker()
            return worker
        finally:
            with self._cond:
                self._starting -= 1
                if worker is not None:
                    self._all.add(worker)
                self._cond.notify()

    def _start_worker(self) -> _Worker:
        parent, child = self._context.Pipe()
        process = self._context.Process(
            target=function_worker.serve,
            args=(
                child,
                self._code_dir,
                self._handler,
                self._environment,
                self._process_name,
                self._tracebacks,
            ),
            name=self._process_name,
            daemon=True,
        )
        with starting_process():  # one at a time, whichever pool starts it
            process.start()
        child.close()
        worker = _Worker(process, parent)
        if not parent.poll(WORKER_START_TIMEOUT_SECONDS):
            worker.stop()
            raise FunctionError(f"{self._function} did not start in time")
        try:
            kind, detail = parent.recv()
        except EOFError as error:
            worker.stop()
            raise FunctionError(
                f"{self._function}'s process exited while starting (exit code {process.exitcode})"
            ) from error
        if kind != "ready":
            worker.stop()
            raise FunctionError(detail)
        return worker

    def _acquire(self) -> _Worker:
        with self._cond:
            while True:
                if self._closed:
                    raise FunctionError(f"{self._function} is stopping")
                if self._idle:
                    return self._idle.pop()
                if len(self._all) + self._starting < self._max_workers:
                    self._starting += 1
                    break
                self._cond.wait()
        return self._start_reserved()

    def _release(self, worker: _Worker) -> None:
        with self._cond:
            if self._closed:
                worker.stop()
                return
            self._idle.append(worker)
            self._cond.notify()

    def _discard(self, worker: _Worker) -> None:
        worker.stop()
        with self._cond:
            self._all.discard(worker)
            self._cond.notify()

    def invoke(self, event: dict[str, Any], context_fields: dict[str, Any], timeout_seconds: float) -> Any:
        """The function's answer to `event`; FunctionError or IntegrationTimeout when it has none."""
        worker = self._acquire()
        try:
            worker.conn.send((event, context_fields))
            if not worker.conn.poll(timeout_seconds):
                self._discard(worker)
                raise IntegrationTimeout
            kind, result = worker.conn.recv()
        except (EOFError, OSError) as error:
            self._discard(worker)
            raise FunctionError(f"{self._function}'s process exited") from error
        self._release(worker)
        if kind != "ok":
            raise FunctionError(f"{result['errorType']}: {result['errorMessage']}")
        return result

    def close(self) -> None:
        with self._cond:
            self._closed = True
            workers = list(self._all)
            self._idle.clear()
            self._cond.notify_all()
        for worker in workers:
            worker.stop()
