"""Retention, enforced locally as deployed: an ended execution and its table item go after the period.

In AWS, Lambda forgets an execution its retention period after it ended, and DynamoDB's TTL
removes the calculation's item once its `expiresAt` has passed. dynalite has no TTL, and the
testing package keeps executions for good, so locally a thread does both, every few seconds: for
each execution that ended longer ago than the period (`--retention-seconds`, by default
RETENTION_PERIOD_DAYS), it deletes the table item while that item still holds the
execution's ARN (a calculation id run again keeps its new item), then the execution. The item goes
first: a runtime killed in between finds the execution again at its next sweep; the other way
round, an item would outlive its execution for good.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from aws_clients import create_client
from calculation_records import key
from local.hosted_function import TABLE_NAME
from local.runtime import DurableRuntime

logger = logging.getLogger("local.retention")

# At most this many executions each sweep: a long-stopped runtime catches up over a few sweeps.
SWEEP_BATCH = 500
LONGEST_PAUSE_SECONDS = 60.0
SHORTEST_PAUSE_SECONDS = 0.5


def sweep_pause(period_seconds: float) -> float:
    """Seconds between sweeps: a quarter of the period, within half a second and a minute."""
    return min(LONGEST_PAUSE_SECONDS, max(SHORTEST_PAUSE_SECONDS, period_seconds / 4))


class RetentionSweeper:
    """Every `sweep_pause(period)` seconds, forgets what ended more than `period_seconds` ago."""

    def __init__(self, runtime: DurableRuntime, period_seconds: float, table_client: Any = None) -> None:
        """`table_client`: the DynamoDB client to delete items with (None: one like every function's)."""
        self.runtime = runtime
        self.period = timedelta(seconds=period_seconds)
        self._given_client = table_client
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run_forever, name="retention", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def sweep(self, now: datetime | None = None) -> int:
        """Forget up to SWEEP_BATCH expired executions and their items; how many were forgotten."""
        moment = (now or datetime.now(UTC)) - self.period
        forgotten = 0
        for arn, name in self.runtime.store.ended_before(moment, SWEEP_BATCH):
            if name is not None:
                self._delete_item(name, arn)
            if self.runtime.forget(arn):
                forgotten += 1
        return forgotten

    def _delete_item(self, execution_name: str, execution_arn: str) -> None:
        client = self._client
        # No item, or one of another run of the same id: not this execution's to delete.
        with contextlib.suppress(client.exceptions.ConditionalCheckFailedException):
            client.delete_item(
                TableName=TABLE_NAME,
                Key=key(execution_name),
                ConditionExpression="executionArn = :arn",
                ExpressionAttributeValues={":arn": {"S": execution_arn}},
            )

    @functools.cached_property
    def _client(self) -> Any:
        """Made on first use, once the environment names the twin."""
        return self._given_client or create_client("dynamodb")

    def _run_forever(self) -> None:
        pause = sweep_pause(self.period.total_seconds())
        while not self._stopping.wait(pause):
            try:
                self.sweep()
            except (BotoCoreError, ClientError) as error:
                logger.warning("retention sweep failed, trying again in %s s: %s", pause, error)

    def close(self) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5.0)
