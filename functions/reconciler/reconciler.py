"""Reconciler: the calculations table's open items compared with Lambda, and mended, on a schedule.

The table can drift from Lambda: an API container stopped between the item and the Invoke, a
status event lost or dead-lettered, a Record write out of retries. Every minute (EventBridge
Scheduler deployed; every few seconds in the local runtime, which runs this same code) it reads
the open items from the sparse `byOpenShard` index, shard by shard, never a Scan, and for each
one older than GRACE_SECONDS (the projector and the Record step normally settle it first):

- with an ARN: GetDurableExecution. Ended: its outcome is recorded (status, result, error).
  Running: left. Unknown to Lambda (deleted outside the API, or forgotten): the item is deleted,
  since the calculation will never end and the table only mirrors Lambda; a retry with the same
  Idempotency-Key starts it again.
- no ARN, within its start deadline: left (the API is still starting it), no Lambda call.
- no ARN, past its deadline (an abandoned start): ListDurableExecutionsByFunction by name. Found:
  its ARN is recorded, and its outcome if it has ended (one GetDurableExecution). Not found: the
  item is deleted, on condition that it still has no ARN.

Lambda's control plane is paced well under the account's default quotas (GetDurableExecution
30/s, ListDurableExecutionsByFunction 15/s), leaving most to the API and the projector:
GET_RATE and LIST_RATE per second, at most GET_BUDGET and LIST_BUDGET calls a run, so a run
ends well within its minute. What a run leaves is picked up by the next, oldest first.
"""

import functools
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from aws_clients import create_client
from calculation_facts import TERMINAL_STATUSES
from calculation_records import (
    OPEN_SHARDS,
    Record,
    Write,
    forget_abandoned,
    forget_vanished,
    query_open,
    record_execution_end,
    record_running,
)
from pacing import Pace
from settings_reader import calculations_table, math_function_name, read_settings, retention_period_days

logger = Logger(service="reconciler")

# Younger items are left to the API, the Record step and the projector.
GRACE_SECONDS = 10
GET_RATE, GET_BUDGET = 10.0, 200
LIST_RATE, LIST_BUDGET = 5.0, 100


@dataclass(frozen=True)
class Settings:
    """Every environment variable the reconciler reads."""

    calculations_table_name: str = calculations_table()
    math_function_name: str = math_function_name()
    retention_period_days: int = retention_period_days()


@functools.cache
def get_settings() -> Settings:
    """The environment, read and validated once per container."""
    return read_settings(Settings)


@functools.cache
def dynamodb_client() -> Any:
    return create_client("dynamodb")


@functools.cache
def lambda_client() -> Any:
    return create_client("lambda")


@dataclass
class Reconciler:
    """One run's clients, target and pace. `now` is the wall clock the item times compare with."""

    dynamodb: Any
    lambda_: Any
    table: str
    function_name: str
    retention_days: int
    gets: Pace
    lists: Pace
    now: Callable[[], datetime] = lambda: datetime.now(UTC)

    def run(self) -> Counter[str]:
        """Every open item older than the grace period, each shard oldest first: what was done, counted."""
        counts: Counter[str] = Counter()
        started_before = self.now() - timedelta(seconds=GRACE_SECONDS)
        for shard in range(OPEN_SHARDS):
            start_key = None
            while True:
                records, start_key = query_open(
                    self.dynamodb, self.table, str(shard), started_before, start_key
                )
                for record in records:
                    counts[self.mend(record)] += 1
                if start_key is None:
                    break
        return counts

    def mend(self, record: Record) -> str:
        """Bring one open item in line with Lambda; what it did, in a few words."""
        if record.ended:
            return "already ended"
        if record.execution_arn is not None:
            return self._follow(record.execution_name, record.execution_arn)
        if not record.abandoned(self.now()):
            return "still starting"
        return self._find(record.execution_name)

    def _follow(self, name: str, arn: str) -> str:
        if not self.gets.take():
            return "deferred"
        try:
            execution = self.lambda_.get_durable_execution(DurableExecutionArn=arn, IncludeExecutionData=True)
        except self.lambda_.exceptions.ResourceNotFoundException:
            # Gone from Lambda (deleted outside the API, or forgotten): it will never end.
            forgotten = forget_vanished(self.dynamodb, self.table, name, arn)
            return "vanished: deleted" if forgotten else "changed meanwhile"
        if execution["Status"] not in TERMINAL_STATUSES:
            return "running"
        return self._record_end(execution)

    def _find(self, name: str) -> str:
        if not self.lists.take():
            return "deferred"
        function, _, qualifier = self.function_name.rpartition(":")
        listed = self.lambda_.list_durable_executions_by_function(
            FunctionName=function, Qualifier=qualifier, DurableExecutionName=name
        ).get("DurableExecutions", [])
        # Lambda's name filter is not documented as exact: only this name counts, newest first.
        matching = sorted(
            (summary for summary in listed if summary["DurableExecutionName"] == name),
            key=lambda summary: summary["StartTimestamp"],
            reverse=True,
        )
        if not matching:
            forgotten = forget_abandoned(self.dynamodb, self.table, name, self.now())
            return "abandoned: deleted" if forgotten else "changed meanwhile"
        summary = matching[0]
        arn = summary["DurableExecutionArn"]
        if summary["Status"] in TERMINAL_STATUSES and self.gets.take():
            execution = self.lambda_.get_durable_execution(DurableExecutionArn=arn, IncludeExecutionData=True)
            return self._record_end(execution)
        # Running, or ended with no Get left this run: the ARN now, the outcome next run.
        written = record_running(self.dynamodb, self.table, name, execution_arn=arn)
        return "started: arn recorded" if written is Write.RECORDED else "changed meanwhile"

    def _record_end(self, execution: dict[str, Any]) -> str:
        written = record_execution_end(
            self.dynamodb, self.table, execution, retention_days=self.retention_days, now=self.now()
        )
        return {
            Write.RECORDED: "ended: recorded",
            Write.UNCHANGED: "already ended",
            Write.NO_ITEM: "changed meanwhile",
        }[written]


def reconciler(settings: Settings, dynamodb: Any, lambda_: Any) -> Reconciler:
    """A run's reconciler, paced at GET_RATE and LIST_RATE, within GET_BUDGET and LIST_BUDGET."""
    return Reconciler(
        dynamodb=dynamodb,
        lambda_=lambda_,
        table=settings.calculations_table_name,
        function_name=settings.math_function_name,
        retention_days=settings.retention_period_days,
        gets=Pace(GET_RATE, GET_BUDGET),
        lists=Pace(LIST_RATE, LIST_BUDGET),
    )


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    counts = reconciler(get_settings(), dynamodb_client(), lambda_client()).run()
    logger.info("table reconciled", counts=dict(counts))
    return dict(counts)
