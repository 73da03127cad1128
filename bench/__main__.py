"""Run every measurement, print one table and write it as JSON (see the README's Performance section)."""

import argparse
import time
from pathlib import Path
from typing import Any

from bench import ROOT, inprocess
from bench.report import Row, machine, ratio, table, write_json

SECTIONS = ("inprocess", "cold", "stack")


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--sequential", type=int, default=300, help="calculations timed one by one")
    parser.add_argument("--total", type=int, default=500, help="calculations for throughput")
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients for throughput")
    parser.add_argument("--cold-runs", type=int, default=7, help="fresh processes per cold-start figure")
    parser.add_argument("--output", type=Path, default=ROOT / "bench-results.json")
    parser.add_argument("--only", choices=SECTIONS, action="append", help="run only these sections")
    args = parser.parse_args()
    for name in ("sequential", "total", "clients", "cold_runs"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    return args


def inprocess_rows(figures: dict[str, Any]) -> list[Row]:
    invocation = figures["invocation"]
    shipped, poll, product = invocation["sdk_default"], invocation["poll_5ms"], invocation["product"]
    ops = figures["operations"]
    kinds = ", ".join(f"{count} {kind}" for kind, count in ops["operations_by_type"].items())
    return [
        Row(
            "Durable invocation duration, billed (median ms)",
            f"{product['invocation_ms']}",
            f"{shipped['invocation_ms']} (SDK as shipped)",
            ratio(product["invocation_ms"], shipped["invocation_ms"]),
        ),
        Row(
            "  same, SDK stop poll shortened to 5 ms instead",
            f"{poll['invocation_ms']}",
            f"{shipped['invocation_ms']}",
            ratio(poll["invocation_ms"], shipped["invocation_ms"]),
        ),
        Row("  of which the four operations (Calculate, ms)", f"{product['operations_ms']}"),
        Row(
            "Durable operations per calculation",
            f"{ops['durable_operations']} ({kinds})",
        ),
        Row(
            "Checkpoint calls per calculation (median / max)",
            f"{ops['checkpoint_calls_median']:g} / {ops['checkpoint_calls_max']}"
            f" ({ops['operation_updates']} updates)",
        ),
    ]


def main() -> None:
    args = arguments()
    sections = args.only or list(SECTIONS)
    info = machine()
    started = time.perf_counter()
    figures: dict[str, Any] = {}
    rows: list[Row] = []

    print(f"bench on {info['cpus']} x {info['cpu']}, Python {info['python']}")
    if "inprocess" in sections:
        print("in-process runner: baseline, invocation duration, operations ...")
        figures["baseline"] = inprocess.baseline(args.sequential, args.total, args.clients)
        figures["invocation"] = inprocess.invocation_duration(30)
        figures["operations"] = inprocess.operations_per_calculation(20)
        base = figures["baseline"]
        rows.append(
            Row(
                "Baseline: in-process runner, time to result p50 / p99 (ms)",
                f"{base['p50_ms']} / {base['p99_ms']}",
            )
        )
        rows.append(
            Row(
                f"Baseline: in-process runner, throughput ({args.clients} clients, calc/s)",
                f"{base['throughput_per_s']} ({base['lost']} lost, {base['wrong']} wrong)",
            )
        )
        rows.extend(inprocess_rows(figures))

    info["bench_seconds"] = round(time.perf_counter() - started, 1)
    print()
    print(table(rows))
    write_json(args.output, rows, figures, info)
    print(f"\nwritten to {args.output.name} in {info['bench_seconds']} s")


if __name__ == "__main__":
    main()
