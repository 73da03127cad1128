"""The soak: the local runtime under steady load for minutes, as a stack left running for a day of tests.

Clients start calculations with `Prefer: wait` back to back. Every few seconds the runtime's
resident memory is sampled; each calculation's time to result is kept with the minute it ended
in. What it reports: the RSS at the end of the first minute and at the end, the p99 of the first
and the last minute, and the bytes the data folder holds per finished calculation (SQLite store
plus the table's LevelDB folder, the store's write-ahead log apart).
"""

import threading
import time
from pathlib import Path
from typing import Any

from bench.measure import concurrent_load, milliseconds, percentile
from bench.process_cpu import rss_bytes
from bench.stack import Client, LocalRuntime, post_and_wait

SAMPLE_SECONDS = 5.0
MINUTE = 60.0


def folder_bytes(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def stored_bytes(runtime: LocalRuntime) -> dict[str, int]:
    """What the data folder holds: the store, its write-ahead log (bounded: SQLite writes it back into
    the store every 1,000 pages and then reuses it) and the table's folder."""
    database = runtime.data_dir / "executions.db"
    wal = database.with_name(database.name + "-wal")
    return {
        "store": database.stat().st_size,
        "store_write_ahead_log": wal.stat().st_size if wal.exists() else 0,
        "table": folder_bytes(runtime.data_dir / "dynamodb"),
    }


def soak(runtime: LocalRuntime, seconds: float, clients: int) -> dict[str, Any]:
    """Unmeasured first, as the throughput: a round that starts every API worker."""
    client = Client(runtime.api_url, runtime.api_key)
    concurrent_load(lambda i: post_and_wait(client, i), 4 * clients, clients)
    finished_before = 4 * clients
    started = time.monotonic()
    deadline = started + seconds
    lock = threading.Lock()
    timings: list[tuple[float, float]] = []  # (seconds since the start when it ended, time to result)
    failures = [0, 0]  # wrong, lost
    counter = iter(range(10**9))

    def run() -> None:
        while time.monotonic() < deadline:
            with lock:
                index = next(counter)
            begun = time.perf_counter()
            try:
                ok = post_and_wait(client, index)
            except Exception:  # noqa: BLE001 - a failed calculation is counted as lost
                with lock:
                    failures[1] += 1
                continue
            with lock:
                timings.append((time.monotonic() - started, time.perf_counter() - begun))
                failures[0] += not ok

    threads = [threading.Thread(target=run, name=f"soak-client-{n}") for n in range(clients)]
    for thread in threads:
        thread.start()
    rss: list[tuple[float, int]] = []
    while any(thread.is_alive() for thread in threads):
        rss.append((time.monotonic() - started, rss_bytes(runtime.pid)))
        time.sleep(SAMPLE_SECONDS)
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    after_first_minute = next((value for at, value in rss if at >= MINUTE), rss[-1][1])
    last = rss[-1][1]
    first = [took for at, took in timings if at < MINUTE]
    final = [took for at, took in timings if at >= elapsed - MINUTE]
    stored = stored_bytes(runtime)
    done = len(timings)
    return {
        "seconds": round(elapsed, 1),
        "clients": clients,
        "completed": done,
        "wrong": failures[0],
        "lost": failures[1],
        "per_second": round(done / elapsed, 1),
        "rss_mb_after_first_minute": round(after_first_minute / 2**20, 1),
        "rss_mb_at_end": round(last / 2**20, 1),
        "rss_growth_after_first_minute_pct": round((last / after_first_minute - 1) * 100, 1),
        "first_minute_p99_ms": milliseconds(percentile(first, 99)),
        "last_minute_p99_ms": milliseconds(percentile(final, 99)),
        "stored_bytes": stored,
        "stored_bytes_per_calculation": round((stored["store"] + stored["table"]) / (done + finished_before)),
    }
