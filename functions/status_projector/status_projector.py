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
"""

import functools
import json
import os
from datetime import datetime
from typing import Annotated, Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from calculation_facts import TERMINAL_STATUSES, calculation_status
from calculation_records import (
    RETENTION_DAYS_DEFAULT,
    RETENTION_DAYS_MAX,
    RETENTION_DAYS_MIN,
    Record,
    Write,
    record_outcome,
    record_running,
)

logger = Logger(service="status-projector")

CLIENT_CONFIG = Config(connect_timeout=2, read_timeout=5)


class SettingsError(RuntimeError):
    """A required setting is missing or invalid: the function cannot project events."""


class Settings(BaseModel):
    """Every environment variable the projector reads."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    calculations_table_name: Annotated[str, Field(alias="CALCULATIONS_TABLE_NAME", min_length=3)]
    retention_period_days: Annotated[
        int, Field(alias="RETENTION_PERIOD_DAYS", ge=RETENTION_DAYS_MIN, le=RETENTION_DAYS_MAX)
    ] = RETENTION_DAYS_DEFAULT


@functools.cache
def get_settings() -> Settings:
    """The environment, read and validated once per container."""
    try:
        return Settings.model_validate(dict(os.environ))
    except ValidationError as error:
        problems = "; ".join(f"{problem['loc'][0]}: {problem['msg']}" for problem in error.errors())
        raise SettingsError(problems) from None


@functools.cache
def dynamodb_client() -> Any:
    return boto3.client("dynamodb", config=CLIENT_CONFIG)


@functools.cache
def lambda_client() -> Any:
    return boto3.client("lambda", config=CLIENT_CONFIG)


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


def current_record(execution_name: str) -> Record | None:
    item = (
        dynamodb_client()
        .get_item(
            TableName=get_settings().calculations_table_name,
            Key={"executionName": {"S": execution_name}},
            ProjectionExpression="executionName, #status, executionArn",
            ExpressionAttributeNames={"#status": "status"},
            ConsistentRead=True,
        )
        .get("Item")
    )
    return Record.from_item(item) if item else None


def execution_result(execution_arn: str) -> Any:
    """The result document Lambda holds for an execution, or None when it has none."""
    execution = lambda_client().get_durable_execution(
        DurableExecutionArn=execution_arn, IncludeExecutionData=True
    )
    result = execution.get("Result")
    return json.loads(result) if result else None


def project(event: StatusChangeEvent) -> None:
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
        return

    result = None
    if change.status == "SUCCEEDED":
        record = current_record(change.execution_name)
        if record is None:
            logger.info("no calculation item", **fields)
            return
        if record.ended:
            logger.info("calculation already ended", **fields)
            return
        if record.execution_arn not in (None, change.execution_arn):
            # A late event of a deleted calculation's execution, whose id runs again: not this one.
            logger.info("event of another execution", **fields)
            return
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


@logger.inject_lambda_context(correlation_id_path=correlation_paths.EVENT_BRIDGE)
@event_parser(model=StatusChangeEvent)
def lambda_handler(event: StatusChangeEvent, context: LambdaContext) -> None:
    project(event)
