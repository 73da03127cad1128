"""Run every measurement, print one table and write it as JSON (see the README's Performance section)."""

import argparse
import time
from pathlib import Path
from typing import Any

from bench import ROOT, cold, console_render, inprocess, peer, soak, stack, webhooks
from bench.measure import expected_document
from bench.report import Row, machine, ratio, table, write_json

SECTIONS = ("inprocess", "cold", "stack", "peer", "soak", "console", "webhooks")
# Webhook deliveries timed one by one, and deliveries waiting at the SIGKILL.
WEBHOOK_DELIVERIES = 100
WEBHOOKS_AT_SIGKILL = 20


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--sequential", type=int, default=300, help="calculations timed one by one")
    parser.add_argument("--total", type=int, default=500, help="calculations for throughput")
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients for throughput")
    parser.add_argument("--cold-runs", type=int, default=7, help="fresh processes per cold-start figure")
    parser.add_argument("--soak-seconds", type=int, default=600, help="length of the soak (a fresh runtime)")
    parser.add_argument("--soak-clients", type=int, default=8, help="concurrent clients during the soak")
    parser.add_argument("--output", type=Path, default=ROOT / "bench-results.json")
    parser.add_argument("--only", choices=SECTIONS, action="append", help="run only these sections")
    args = parser.parse_args()
    for name in ("sequential", "total", "clients", "cold_runs", "soak_seconds", "soak_clients"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.only and "stack" in args.only and "inprocess" not in args.only:
        parser.error("--only stack needs --only inprocess too: its figures are compared with that baseline")
    # Said now, not after the other sections' minutes.
    if (not args.only or "console" in args.only) and (message := console_render.missing_browser()):
        parser.error(f"{message}; or leave the console out with --only")
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


def stack_rows(figures: dict[str, Any]) -> list[Row]:
    base, ttr, load = figures["baseline"], figures["time_to_result"], figures["throughput"]
    cpu = load["cpu_ms_per_calculation"]
    in_process = f"{base['p50_ms']} / {base['p99_ms']} (in-process)"
    rows = [
        Row(
            f"Time to result, POST + poll Location every {ttr['poll_interval_ms']:g} ms, p50 / p99 (ms)",
            f"{ttr['poll_p50_ms']} / {ttr['poll_p99_ms']}",
            in_process,
            ratio(ttr["poll_p50_ms"], base["p50_ms"]),
        ),
        Row(
            "Time to result, POST with Prefer: wait, p50 / p99 (ms)",
            f"{ttr['prefer_wait_p50_ms']} / {ttr['prefer_wait_p99_ms']}",
            in_process,
            ratio(ttr["prefer_wait_p50_ms"], base["p50_ms"]),
            "p50 <= 2x in-process",
            ttr["prefer_wait_p50_ms"] <= 2 * base["p50_ms"],
        ),
        Row(
            f"Throughput, {load['n']} from {load['clients']} clients (calc/s)",
            f"{load['per_second']}",
            f"{base['throughput_per_s']} (in-process)",
            ratio(load["per_second"], base["throughput_per_s"]),
            "ratio >= 0.5",
            load["per_second"] >= 0.5 * base["throughput_per_s"],
        ),
        Row(
            "CPU per calculation under that load, runtime / dynalite / projector / API workers / total (ms)",
            " / ".join(
                f"{cpu[role]:g}" for role in ("runtime", "dynalite", "projector", "api_workers", "total")
            ),
            target="runtime <= 10, total <= 20",
            met=cpu["runtime"] <= 10 and cpu["total"] <= 20,
        ),
        Row(
            "Calculations lost / wrong (throughput and sequential runs)",
            f"{load['lost']} / {load['wrong'] + ttr['poll_wrong'] + ttr['prefer_wait_wrong']}",
            f"{base['lost']} / {base['wrong'] + base['sequential_wrong']}",
            "",
            "0 / 0",
            load["lost"] == 0 and load["wrong"] + ttr["poll_wrong"] + ttr["prefer_wait_wrong"] == 0,
        ),
    ]
    calls = dict(figures["control_plane_calls"])
    flow, flow_load = calls.pop("flow"), figures["flow_throughput"]
    dynamodb = sum(count for call, count in flow["calls"].items() if call.startswith("dynamodb:"))
    rows += [
        Row(
            "Control-plane calls per calculation, POST → poll status → result, every request cold",
            f"{flow['control_plane']} ({flow['status_polls']} polls; DynamoDB {dynamodb}, Invoke 1)",
            target="0",
            met=flow["control_plane"] == 0 and flow["result"] == expected_document(10, 5),
        ),
        Row(
            f"Throughput, POST → poll every {flow_load['poll_interval_ms']:g} ms → result, "
            f"{flow_load['clients']} clients, AWS default control-plane rates on (calc/s)",
            f"{flow_load['per_second']} ({flow_load['throttled']} throttled, {flow_load['lost']} lost, "
            f"{flow_load['wrong']} wrong)",
            "30/s (GetDurableExecution quota)",
            ratio(flow_load["per_second"], 30),
            "> 30/s, 0 throttled",
            flow_load["per_second"] > 30
            and flow_load["throttled"] == 0
            and flow_load["lost"] + flow_load["wrong"] == 0,
        ),
    ]
    reads = ("GET /calculations", "GET /calculations/{id}", "GET /calculations/{id}/result")
    for endpoint, counts in calls.items():
        read = endpoint in reads
        rows.append(
            Row(
                f"Lambda control-plane calls, {endpoint} (cold / warm)",
                f"{counts['cold']} / {counts['warm']}",
                target="0 / 0" if read else "",
                met=counts["cold"] == counts["warm"] == 0 if read else None,
            )
        )
    return rows


def webhook_rows(figures: dict[str, Any]) -> list[Row]:
    latency, kill = figures["webhook_latency"], figures["webhook_sigkill"]
    return [
        Row(
            f"Webhooks: calculation end to first delivery attempt, {latency['n']} one by one, p50 / p99 (ms)",
            f"{latency['p50_ms']} / {latency['p99_ms']}",
            target="p99 <= 1000 ms",
            met=latency["p99_ms"] <= 1000 and latency["received"] == latency["n"],
        ),
        Row(
            f"Webhooks: requests a consumer makes per {webhooks.SLOW_CALCULATION_SECONDS} s calculation",
            f"{latency['requests_with_webhook']} (the POST; the end arrives)",
            f"{latency['requests_polling']} (polling every {webhooks.POLL_SECONDS} s)",
        ),
        Row(
            f"Webhooks: deliveries lost / duplicated, {kill['n']} waiting to retry at a SIGKILL",
            f"{kill['lost']} / {kill['duplicates']}",
            target="0 lost",
            met=kill["lost"] == 0,
        ),
    ]


def cold_rows(figures: dict[str, Any]) -> list[Row]:
    start, warm = figures["cold_start"], figures["warm_handler"]
    return [
        Row(
            f"API cold start: imports + first request (median of {start['runs']}, ms)",
            f"{start['api_ms']}",
            f"{start['bare_ms']} (bare Powertools)",
            ratio(start["api_ms"], start["bare_ms"]),
            "<= 1.2x",
            start["api_ms"] <= 1.2 * start["bare_ms"],
        ),
        Row(
            "Warm handler time, status read of a finished calculation, p50 (ms)",
            f"{warm['status_read_finished_p50_ms']}",
            target="<= 2 ms",
            met=warm["status_read_finished_p50_ms"] <= 2,
        ),
        Row(
            "Warm handler time, POST /calculations (Lambda answered in-process), p50 (ms)",
            f"{warm['start_p50_ms']}",
            target="<= 2 ms",
            met=warm["start_p50_ms"] <= 2,
        ),
    ]


def peer_rows(figures: dict[str, Any]) -> list[Row]:
    run = figures["peer"]
    clients, poll = run["clients"], run["poll_interval_ms"]
    ours, theirs = run["ours_concurrent"], run["peer_concurrent"]
    one, their_one = run["ours_one"], run["peer_one"]
    workload = f"Invoke + poll GetDurableExecution every {poll:g} ms"

    def ahead(lower_is_better: bool, mine: float, other: float) -> str:
        return "ahead" if (mine < other if lower_is_better else mine > other) else "behind"

    def latency(label: str, mine: dict[str, Any], other: dict[str, Any]) -> Row:
        verdicts = [ahead(True, mine[key], other[key]) for key in ("p50_ms", "p99_ms")]
        return Row(
            f"{label} p50 / p99 (ms): {verdicts[0]} / {verdicts[1]}",
            f"{mine['p50_ms']} / {mine['p99_ms']}",
            f"{other['p50_ms']} / {other['p99_ms']} (dex-local-runner)",
            ratio(mine["p50_ms"], other["p50_ms"]),
        )

    return [
        Row(
            f"Peer, {workload}, {clients} clients (calc/s): "
            f"{ahead(False, ours['per_second'], theirs['per_second'])}",
            f"{ours['per_second']} ({ours['lost']} lost, {ours['wrong']} wrong)",
            f"{theirs['per_second']} (dex-local-runner; {theirs['lost']} lost, {theirs['wrong']} wrong)",
            ratio(ours["per_second"], theirs["per_second"]),
            "ahead: throughput, p50, p99",
            ours["per_second"] > theirs["per_second"]
            and ours["p50_ms"] < theirs["p50_ms"]
            and ours["p99_ms"] < theirs["p99_ms"],
        ),
        latency(f"  {clients} clients", ours, theirs),
        latency("  1 client", one, their_one),
        Row(
            f"  CPU per calculation, {clients} clients, all our processes / the peer's (ms)",
            f"{ours['cpu_ms_per_calculation']:g}",
            f"{theirs['cpu_ms_per_calculation']:g} (dex-local-runner)",
            ratio(ours["cpu_ms_per_calculation"], theirs["cpu_ms_per_calculation"]),
        ),
    ]


def soak_rows(figures: dict[str, Any]) -> list[Row]:
    run = figures["soak"]
    stored = run["stored_bytes"]
    growth, first, last = (
        run["rss_growth_after_first_minute_pct"],
        run["first_minute_p99_ms"],
        run["last_minute_p99_ms"],
    )
    return [
        Row(
            f"Soak, {run['seconds']:g} s x {run['clients']} clients: calculations (calc/s, lost, wrong)",
            f"{run['completed']} ({run['per_second']}/s, {run['lost']} lost, {run['wrong']} wrong)",
            target="0 lost, 0 wrong",
            met=run["lost"] + run["wrong"] == 0,
        ),
        Row(
            "  runtime RSS after the first minute / at the end (MB, growth)",
            f"{run['rss_mb_after_first_minute']} / {run['rss_mb_at_end']} ({growth:+g}%)",
            target="growth <= 10%",
            met=growth <= 10,
        ),
        Row(
            "  time to result p99, first / last minute (ms)",
            f"{first} / {last}",
            ratio=ratio(last, first),
            target="last <= 1.5x first",
            met=last <= 1.5 * first,
        ),
        Row(
            "  stored bytes per finished calculation, store + table",
            f"{run['stored_bytes_per_calculation']:,} ({stored['store']:,} + {stored['table']:,} bytes; "
            f"write-ahead log {stored['store_write_ahead_log']:,})",
            target="<= 4,096",
            met=run["stored_bytes_per_calculation"] <= 4096,
        ),
    ]


def console_rows(figures: dict[str, Any]) -> list[Row]:
    render = figures["console_timeline"]
    return [
        Row(
            f"Console timeline of a {render['operations']:,}-operation history ({render['bars']} bars), "
            f"chromium, draw / open to painted, median of {render['openings']} (ms)",
            f"{render['render_ms']} / {render['painted_ms']}",
            target="painted < 1000 ms",
            met=render["painted_ms"] < 1000,
        )
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
    if "cold" in sections:
        print("API cold start and warm handler time, in fresh processes ...")
        figures["cold_start"] = cold.cold_start(args.cold_runs)
        figures["warm_handler"] = cold.warm(300)
        rows.extend(cold_rows(figures))
    if "stack" in sections:
        print("local runtime over HTTP, AWS default control-plane rates on: latency, throughput, calls ...")
        with stack.local_runtime() as runtime:
            figures["time_to_result"] = stack.time_to_result(runtime, args.sequential)
            figures["throughput"] = stack.throughput(runtime, args.total, args.clients)
            figures["flow_throughput"] = stack.flow_throughput(runtime, args.total, args.clients)
            figures["control_plane_calls"] = stack.control_plane_calls(runtime)
        rows.extend(stack_rows(figures))

    if "peer" in sections:
        print("side by side with dex-local-runner: Invoke, poll GetDurableExecution every 5 ms ...")
        figures["peer"] = peer.compare(args.total, args.sequential, args.clients)
        rows.extend(peer_rows(figures))

    if "soak" in sections:
        print(f"soak: a fresh local runtime, {args.soak_clients} clients for {args.soak_seconds} s ...")
        with stack.local_runtime() as runtime:
            figures["soak"] = soak.soak(runtime, args.soak_seconds, args.soak_clients)
        rows.extend(soak_rows(figures))

    if "console" in sections:
        print("console timeline of a synthetic 1,000-operation history, in chromium ...")
        figures["console_timeline"] = console_render.timeline_render(1000)
        rows.extend(console_rows(figures))

    if "webhooks" in sections:
        print("webhooks on the local runtime: end to first attempt, a SIGKILL during the retry wait ...")
        figures["webhook_latency"] = webhooks.first_attempt_latency(WEBHOOK_DELIVERIES)
        figures["webhook_sigkill"] = webhooks.sigkill_during_wait(WEBHOOKS_AT_SIGKILL)
        rows.extend(webhook_rows(figures))

    info["bench_seconds"] = round(time.perf_counter() - started, 1)
    print()
    print(table(rows))
    write_json(args.output, rows, figures, info)
    print(f"\nwritten to {args.output.name} in {info['bench_seconds']} s")


if __name__ == "__main__":
    main()
