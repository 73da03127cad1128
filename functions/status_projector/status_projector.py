"""Status projector: Lambda's durable execution status changes, projected onto the calculations table.

Lambda sends a "Durable Execution Status Change" event to EventBridge whenever one of the
function's executions changes status; EventBridge delivers each at least once, in no set order.
Every write here is conditional (calculation_records): a duplicate changes nothing, and a
RUNNING that arrives after the end leaves the end in place.

- RUNNING: the ARN, the start time and RUNNING, where the item has none yet.
- An end: the calculation's status and end time. A SUCCEEDED execution's result normally
  reaches the table through the function's Record step; when the item has no terminal status
  yet (the step disabled or failed), one GetDurableExecution reads the result from Lambda.
- No item (deleted by its consumer, expired, or an execution started outside the API): nothing
  is written, the event is logged and done. A late event never brings a calculation back, nor
  ends the new run of a deleted calculation's id (its item holds another ARN).
- A write that fails raises: Lambda retries the event, then sends it to the dead-letter queue.

An end then starts the calculation's webhook deliveries (webhook_trigger), from the item the
projector read when it found the end already recorded (the usual case: one read serves both).
"""

import functools
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, Field

from aws_clients import create_client
from calculation_facts import TERMINAL_STATUSES, calculation_status
from calculation_records import Record, Write, get_record, record_outcome, record_running
from settings_reader import calculations_table, read_settings, retention_period_days
from webhook_trigger import start_deliveries

logger = Logger(service="status-projector")


@dataclass(frozen=True)
class Settings:
    """Every environment variable the projector reads."""

    calculations_table_name: str = calculations_table()
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


class StatusChange(BaseModel):
    """The event's detail (the result is not in it)."""

    execution_arn: Annotated[str, Field(alias="durableExecutionArn", min_length=1)]
    execution_name: Annotated[str, Field(alias="durableExecutionName", min_length=1)]
    function_arn: Annotated[str, Field(alias="functionArn")]
    status: str
    started_at: Annotated[datetime, Field(alias="startTimestamp")]
    ended_at: Annotated[datetime | None, Field(alias="endTimestamp")] = None


class StatusChangeEvent(EventBridgeModel):
    detail: StatusChange


def execution_result(execution_arn: str) -> Any:
    """The result document Lambda holds for an execution, or None when it has none."""
    execution = lambda_client().get_durable_execution(
        DurableExecutionArn=execution_arn, IncludeExecutionData=True
    )
    result = execution.get("Result")
    return json.loads(result) if result else None


def project(event: StatusChangeEvent) -> Record | None:
    """Write what the event tells; the item as it ended when it was read and found ended already."""
    change = event.detail
    settings = get_settings()
    fields = {"execution_name": change.execution_name, "lambda_status": change.status}
    if change.status not in TERMINAL_STATUSES:
        written = record_running(
            dynamodb_client(),
            settings.calculations_table_name,
            change.execution_name,
            execution_arn=change.execution_arn,
            started_at=change.started_at,
        )
        logger.info("calculation running" if written is Write.RECORDED else "no calculation item", **fields)
        return None

    result = None
    if change.status == "SUCCEEDED":
        record = get_record(dynamodb_client(), settings.calculations_table_name, change.execution_name)
        if record is None:
            logger.info("no calculation item", **fields)
            return None
        if record.ended:
            logger.info("calculation already ended", **fields)
            return record
        if record.execution_arn not in (None, change.execution_arn):
            # A late event of a deleted calculation's execution, whose id runs again: not this one.
            logger.info("event of another execution", **fields)
            return None
        result = execution_result(change.execution_arn)
        if result is None:
            logger.warning("succeeded execution without a result", **fields)

    written = record_outcome(
        dynamodb_client(),
        settings.calculations_table_name,
        change.execution_name,
        status=calculation_status(change.status, result),
        ended_at=change.ended_at or event.time,
        retention_days=settings.retention_period_days,
        result=result,
        execution_arn=change.execution_arn,
        started_at=change.started_at,
    )
    messages = {
        Write.RECORDED: "calculation ended",
        Write.UNCHANGED: "calculation already ended",
        Write.NO_ITEM: "no calculation item",
    }
    logger.info(messages[written], **fields)
    return None


@logger.inject_lambda_context(correlation_id_path=correlation_paths.EVENT_BRIDGE)
@event_parser(model=StatusChangeEvent)
def lambda_handler(event: StatusChangeEvent, context: LambdaContext) -> None:
    ended = project(event)
    start_deliveries(event.detail.execution_name, event.detail.status, ended)
