"""Durable function: runs Add, Subtract, Multiply and Division in parallel on two numbers.

Every branch is one named step, so each operation is checkpointed, retried by its own rule
and visible in the execution history. When CALCULATIONS_TABLE_NAME is set, a last named step,
Record, writes the result document to the calculations table. Code outside the steps only
validates and collects, and is deterministic, so replays reach the same decisions.
"""

import functools
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3
from aws_durable_execution_sdk_python.concurrency.models import BatchResult
from aws_durable_execution_sdk_python.config import (
    CompletionConfig,
    Duration,
    JitterStrategy,
    ParallelBranch,
    ParallelConfig,
    StepConfig,
)
from aws_durable_execution_sdk_python.context import DurableContext, StepContext
from aws_durable_execution_sdk_python.exceptions import StepError
from aws_durable_execution_sdk_python.execution import durable_execution
from aws_durable_execution_sdk_python.retries import (
    RetryDecision,
    RetryPresets,
    RetryStrategyConfig,
    create_retry_strategy,
)
from aws_lambda_powertools import Logger
from botocore.config import Config

from arithmetic import OPERATIONS, Number
from calculation_facts import calculation_status, is_finite_number, operations_failed, result_document
from calculation_records import (
    RETENTION_DAYS_DEFAULT,
    RETENTION_DAYS_MAX,
    RETENTION_DAYS_MIN,
    Write,
    record_outcome,
)
from durable_sdk_internals import wake_checkpoint_thread_on_stop

logger = Logger(service="math-durable")

wake_checkpoint_thread_on_stop()

RetryStrategy = Callable[[Exception, int], RetryDecision]


def transient_only(strategy: RetryStrategy) -> RetryStrategy:
    """Retry with `strategy`, except arithmetic failures: they fail the same way every time."""

    def decide(error: Exception, attempts_made: int) -> RetryDecision:
        if isinstance(error, ArithmeticError):
            return RetryDecision.no_retry()
        return strategy(error, attempts_made)

    return decide


# Retry rules per step, in one place. Transient errors: 3 attempts, 1 s then 2 s apart.
TRANSIENT_BACKOFF = transient_only(
    create_retry_strategy(
        RetryStrategyConfig(
            max_attempts=3,
            initial_delay=Duration.from_seconds(1),
            backoff_rate=2,
            jitter_strategy=JitterStrategy.NONE,
        )
    )
)
RETRY_RULES: dict[str, RetryStrategy] = {
    "Add": TRANSIENT_BACKOFF,
    "Subtract": TRANSIENT_BACKOFF,
    "Multiply": TRANSIENT_BACKOFF,
    "Division": RetryPresets.none(),
    "Record": TRANSIENT_BACKOFF,
}

# The SDK's default completion policy stops at the first failed branch; every operation's
# outcome belongs in the result, so wait for all four.
PARALLEL_CONFIG = ParallelConfig(completion_config=CompletionConfig.all_completed())

# A durable execution ARN ends `/durable-execution/<name>/<id>`.
EXECUTION_ARN_TAIL = re.compile(r"/durable-execution/(?P<name>[^/]+)/[^/]+$")


class SettingsError(ValueError):
    """An environment variable holds a value the function cannot use."""


@dataclass(frozen=True)
class Settings:
    calculations_table_name: str | None
    """The calculations table; unset, the Record step does not run."""
    retention_period_days: int
    """The function's RetentionPeriodInDays: a recorded item expires with its execution."""


@functools.cache
def get_settings() -> Settings:
    """The environment, read and validated once per container."""
    days = os.environ.get("RETENTION_PERIOD_DAYS", str(RETENTION_DAYS_DEFAULT))
    if not (days.isascii() and days.isdigit() and RETENTION_DAYS_MIN <= int(days) <= RETENTION_DAYS_MAX):
        raise SettingsError(
            f"RETENTION_PERIOD_DAYS must be a whole number from {RETENTION_DAYS_MIN} to "
            f"{RETENTION_DAYS_MAX}, got {days!r}"
        )
    return Settings(
        calculations_table_name=os.environ.get("CALCULATIONS_TABLE_NAME") or None,
        retention_period_days=int(days),
    )


@functools.cache
def dynamodb_client() -> Any:
    """The container's DynamoDB client, made on first use (AWS_ENDPOINT_URL_DYNAMODB reaches a local twin)."""
    return boto3.client("dynamodb", config=Config(connect_timeout=2, read_timeout=5))


class InvalidInputError(ValueError):
    """The execution input is not two finite JSON numbers."""


def read_number(event: Mapping[str, Any], field: str) -> Number:
    """A missing number is 0; anything but a finite int or float is refused, naming the field."""
    value = event.get(field, 0)
    # bool is an int subclass in Python but `true` is not a number in JSON.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInputError(f"{field} must be a number, got {type(value).__name__}")
    if is_finite_number(value):
        return value
    if isinstance(value, int):
        raise InvalidInputError(f"{field} must be a finite number, got an integer beyond 1.8e308")
    raise InvalidInputError(f"{field} must be a finite number, got {value}")


def read_input(event: Any) -> tuple[Number, Number]:
    """num1 and num2; other keys (the API's `calculation`: owner and id) are not the function's concern."""
    if not isinstance(event, Mapping):
        raise InvalidInputError(f"input must be a JSON object, got {type(event).__name__}")
    return read_number(event, "num1"), read_number(event, "num2")


def operation_branch(name: str, num1: Number, num2: Number) -> ParallelBranch:
    def compute(step_context: StepContext) -> Number:
        step_context.logger.info("operation started", extra={"operation": name})
        result = OPERATIONS[name](num1, num2)
        step_context.logger.info("operation succeeded", extra={"operation": name, "result": result})
        return result

    def run(context: DurableContext) -> Number:
        return context.step(compute, name=name, config=StepConfig(retry_strategy=RETRY_RULES[name]))

    return ParallelBranch(func=run, name=name)


def collect(names: list[str], batch: BatchResult) -> dict[str, Any]:
    """The original pattern's two documents: four results, or error_details beside them."""
    results: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for item in batch.all:
        name = names[item.index]
        if item.error is None and item.status.value == "SUCCEEDED":
            results[name] = item.result
        else:
            errors[name] = (item.error.message if item.error else None) or "operation failed"
    return result_document(results, errors)


def execution_name_of(execution_arn: str) -> str:
    match = EXECUTION_ARN_TAIL.search(execution_arn)
    if match is None:
        raise ValueError(f"not a durable execution ARN: {execution_arn}")
    return match["name"]


def record_result(
    document: dict[str, Any], execution_arn: str, settings: Settings
) -> Callable[[StepContext], bool]:
    """The Record step: the result document into the calculations table, once, if its item exists."""

    def record(step_context: StepContext) -> str:
        name = execution_name_of(execution_arn)
        written = record_outcome(
            dynamodb_client(),
            settings.calculations_table_name,
            name,
            status=calculation_status("SUCCEEDED", document),
            ended_at=datetime.now(UTC),
            retention_days=settings.retention_period_days,
            result=document,
            execution_arn=execution_arn,
        )
        if written is Write.NO_ITEM:
            # Deleted meanwhile, or started outside the API: nobody reads it, `make repair` can rebuild it.
            step_context.logger.warning("no calculation item", extra={"execution_name": name})
        else:
            message = "result recorded" if written is Write.RECORDED else "result already recorded"
            step_context.logger.info(message, extra={"execution_name": name})
        return written.value

    return record


@durable_execution
def lambda_handler(event: Any, context: DurableContext) -> dict[str, Any]:
    context.set_logger(logger)
    settings = get_settings()
    num1, num2 = read_input(event)
    context.logger.info("calculation started", extra={"num1": num1, "num2": num2})

    names = list(OPERATIONS)
    batch = context.parallel(
        [operation_branch(name, num1, num2) for name in names],
        name="Calculate",
        config=PARALLEL_CONFIG,
    )
    output = collect(names, batch)

    if operations_failed(output):
        context.logger.warning("calculation failed", extra={"errors": output["errors"]})
    else:
        context.logger.info("calculation succeeded", extra={"result": output})

    if settings.calculations_table_name:
        execution_arn = context.execution_context.durable_execution_arn
        try:
            context.step(
                record_result(output, execution_arn, settings),
                name="Record",
                config=StepConfig(retry_strategy=RETRY_RULES["Record"]),
            )
        except StepError as error:
            # The result stays in Lambda; the status projector reads it from there.
            context.logger.warning(
                "result not recorded", extra={"error_type": error.error_type, "error": error.message}
            )
    return output
