"""Timing and load helpers shared by every measurement: percentiles, sequential and concurrent runs."""

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


def percentile(samples: list[float], pct: float) -> float:
    """Nearest-rank percentile, the same rule for every figure in the table."""
    if not samples:
        raise ValueError("no samples to take a percentile of")
    ordered = sorted(samples)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def milliseconds(seconds: float) -> float:
    return round(seconds * 1000, 2)


def latencies(call: Callable[[int], bool], count: int) -> tuple[list[float], int]:
    """Run `call(i)` `count` times one after another: each call's seconds, and how many went wrong."""
    seconds: list[float] = []
    wrong = 0
    for index in range(count):
        started = time.perf_counter()
        ok = call(index)
        seconds.append(time.perf_counter() - started)
        wrong += not ok
    return seconds, wrong


@dataclass(frozen=True)
class LoadResult:
    completed: int
    wrong: int
    lost: int
    elapsed_seconds: float

    @property
    def per_second(self) -> float:
        return round(self.completed / self.elapsed_seconds, 1)


def concurrent_load(call: Callable[[int], bool], count: int, clients: int) -> LoadResult:
    """`count` calls of `call(i)` from `clients` threads pulling from one queue of indexes.

    A call returning False is wrong; one that raises is lost (its error is kept for the report).
    """
    next_index = iter(range(count))
    lock = threading.Lock()
    outcomes: dict[str, int] = {"completed": 0, "wrong": 0, "lost": 0}
    errors: list[BaseException] = []

    def client() -> None:
        while True:
            with lock:
                index = next(next_index, None)
            if index is None:
                return
            try:
                ok = call(index)
            except Exception as error:  # noqa: BLE001 - a failed call is counted as lost, not fatal
                with lock:
                    outcomes["lost"] += 1
                    errors.append(error)
                continue
            with lock:
                outcomes["completed" if ok else "wrong"] += 1

    threads = [threading.Thread(target=client, name=f"bench-client-{n}") for n in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if errors:
        print(f"  {len(errors)} calls lost; first error: {errors[0]!r}")
    return LoadResult(outcomes["completed"], outcomes["wrong"], outcomes["lost"], elapsed)


def expected_document(num1: int, num2: int) -> dict[str, float]:
    """What the durable function must answer for two numbers with a non-zero divisor."""
    return {"Add": num1 + num2, "Subtract": num1 - num2, "Multiply": num1 * num2, "Division": num1 / num2}


def operands(index: int) -> tuple[int, int]:
    """Different numbers for every calculation, so a mixed-up answer is caught as wrong."""
    return index + 10, index % 7 + 1
