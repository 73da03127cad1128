"""Repair or rebuild the calculations table from Lambda: `make repair` (an operator's command).

For lost status-change events (an item still RUNNING, or without its result, after its execution
ended) and for a table restored from a backup (items missing for executions started since). It
lists the durable function's executions (ListDurableExecutionsByFunction, 15/s by default in an
account) and reads the ones whose item is missing or behind (GetDurableExecution, 30/s), each
paced under a rate of its own that leaves the rest of the account's quota to the API and the
status projector. Writes use the same conditional writes as the projector, so running it twice,
or beside the live projector, changes nothing wrong.

An execution started by the API carries its owner and id in its input (`calculation`), so its
item can be rebuilt whole. Executions started outside the API have no owner: they are counted
and left out, as the API never shows them.

Credentials and region come from the usual AWS configuration (AWS_PROFILE, AWS_REGION, or
AWS_ENDPOINT_URL_LAMBDA / AWS_ENDPOINT_URL_DYNAMODB for the local runtime).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import boto3

# The functions' shared layer (on PYTHONPATH, see the Makefile): the item format and the writes.
from calculation_facts import TERMINAL_STATUSES
from calculation_records import (
    RETENTION_DAYS_DEFAULT,
    RETENTION_DAYS_MAX,
    RETENTION_DAYS_MIN,
    Record,
    Write,
    get_record,
    put_new,
    record_execution_end,
    record_missing_result,
    record_running,
)
from pacing import Pace

LIST_PAGE_SIZE = 1000


def positive_rate(value: str) -> float:
    try:
        rate = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number of calls per second, got {value!r}") from None
    if not 0 < rate <= 1000:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1000 calls per second, got {value}")
    return rate


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="repair_table", description=__doc__.split("\n\n")[0])
    parser.add_argument("--function-name", required=True, help="the durable function's name or ARN")
    parser.add_argument("--table", required=True, help="the calculations table's name")
    parser.add_argument(
        "--retention-days",
        type=int,
        default=RETENTION_DAYS_DEFAULT,
        help=f"the function's RetentionPeriodInDays (default {RETENTION_DAYS_DEFAULT})",
    )
    parser.add_argument(
        "--since", type=datetime.fromisoformat, help="only executions started after this ISO 8601 time"
    )
    parser.add_argument(
        "--list-rate", type=positive_rate, default=5.0, help="List calls per second (default 5)"
    )
    parser.add_argument(
        "--get-rate", type=positive_rate, default=10.0, help="Get calls per second (default 10)"
    )
    parser.add_argument("--dry-run", action="store_true", help="report what would change, write nothing")
    args = parser.parse_args(argv)
    if not RETENTION_DAYS_MIN <= args.retention_days <= RETENTION_DAYS_MAX:
        parser.error(f"--retention-days must be from {RETENTION_DAYS_MIN} to {RETENTION_DAYS_MAX}")
    if args.since is not None and args.since.tzinfo is None:
        args.since = args.since.replace(tzinfo=UTC)
    return args


def needs_repair(record: Record | None, lambda_status: str) -> bool:
    """Whether Lambda knows more than the item: missing, or ended in Lambda but not in the table."""
    if record is None:
        return True
    if lambda_status in TERMINAL_STATUSES and not record.ended:
        return True
    return lambda_status == "SUCCEEDED" and record.result is None


def rebuild(dynamodb: Any, table: str, execution: dict[str, Any], retention_days: int) -> str:
    """Write what the item lacks from GetDurableExecution's answer; the outcome counted."""
    name = execution["DurableExecutionName"]
    started_at: datetime = execution["StartTimestamp"]
    payload = json.loads(execution.get("InputPayload") or "{}")
    calculation = payload.get("calculation") if isinstance(payload, dict) else None
    if not isinstance(calculation, dict) or not {"owner", "id"} <= set(calculation):
        return "skipped: started outside the API"
    request = {key: payload[key] for key in ("num1", "num2") if key in payload}
    owner, calculation_id = str(calculation["owner"]), str(calculation["id"])
    rebuilt = put_new(
        dynamodb, table, name, owner, calculation_id, request, started_at, execution["DurableExecutionArn"]
    )
    outcome = "rebuilt" if rebuilt else "repaired"
    status = execution["Status"]
    if status not in TERMINAL_STATUSES:
        record_running(
            dynamodb, table, name, execution_arn=execution["DurableExecutionArn"], started_at=started_at
        )
        return outcome
    ended = record_execution_end(
        dynamodb, table, execution, retention_days=retention_days, now=datetime.now(UTC)
    )
    if ended is Write.UNCHANGED and status == "SUCCEEDED" and execution.get("Result"):
        # Ended already, but without the result (an end recorded when Lambda had none to give).
        record_missing_result(dynamodb, table, name, json.loads(execution["Result"]))
    return outcome


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    lambda_client = boto3.client("lambda")
    dynamodb = boto3.client("dynamodb")
    list_pace, get_pace = Pace(args.list_rate), Pace(args.get_rate)
    counts: Counter[str] = Counter()
    marker: str | None = None
    while True:
        list_pace.take()
        page = lambda_client.list_durable_executions_by_function(
            FunctionName=args.function_name,
            MaxItems=LIST_PAGE_SIZE,
            **({"StartedAfter": args.since} if args.since else {}),
            **({"Marker": marker} if marker else {}),
        )
        for summary in page.get("DurableExecutions", []):
            counts["listed"] += 1
            name = summary["DurableExecutionName"]
            record = get_record(dynamodb, args.table, name)
            if not needs_repair(record, summary["Status"]):
                counts["up to date"] += 1
                continue
            if args.dry_run:
                counts["would repair" if record else "would rebuild"] += 1
                continue
            get_pace.take()
            execution = lambda_client.get_durable_execution(
                DurableExecutionArn=summary["DurableExecutionArn"], IncludeExecutionData=True
            )
            counts[rebuild(dynamodb, args.table, execution, args.retention_days)] += 1
        marker = page.get("NextMarker")
        if not marker:
            break
    print(", ".join(f"{what}: {count}" for what, count in counts.items()) or "no executions")
    return 0


if __name__ == "__main__":
    sys.exit(main())
