"""Durable function: runs Add, Subtract, Multiply and Division in parallel on two numbers.

Every branch is one named step, so each operation is checkpointed, retried by its own rule
and visible in the execution history. When CALCULATIONS_TABLE_NAME is set, a last named step,
Record, writes the result document to the calculations table. Code outside the steps only
validates and collects, and is deterministic, so replays reach the same decisions.
"""

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aws_durable_execution_sdk_python.concurrency.models import BatchResult
from aws_durable_execution_sdk_python.config import (
    CompletionConfig,
    ParallelBranch,
    ParallelConfig,
    StepConfig,
)
from aws_durable_execution_sdk_python.context import DurableContext, StepContext
from aws_durable_execution_sdk_python.exceptions import StepError
from aws_durable_execution_sdk_python.execution import durable_execution
from aws_lambda_powertools import Logger

from arithmetic import OPERATIONS, Number
from aws_clients import create_client
from calculation_facts import calculation_status, is_finite_number, operations_failed, result_document
from calculation_records import Write, record_outcome
from durable_sdk_internals import wake_checkpoint_thread_on_stop
from retry_rules import RETRY_RULES
from settings_reader import calculations_table, read_settings, retention_period_days

logger = Logger(service="math-durable")

wake_checkpoint_thread_on_stop()

# The SDK's default completion policy stops at the first failed branch; every operation's
# outcome belongs in the result, so wait for all four.
PARALLEL_CONFIG = ParallelConfig(completion_config=CompletionConfig.all_completed())

# A durable execution ARN ends `/durable-execution/<name>/<id>`.
EXECUTION_ARN_TAIL = re.compile(r"/durable-execution/(?P<name>[^/]+)/[^/]+$")


@dataclass(frozen=True)
class Settings:
    """Every environment variable the function reads."""

    calculations_table_name: str | None = calculations_table(default=None)
    """The calculations table; unset, the Record step does not run."""
    retention_period_days: int = retention_period_days()


@functools.cache
def get_settings() -> Settings:
    """The environment, read and validated once per container."""
    return read_settings(Settings)


@functools.cache
def dynamodb_client() -> Any:
    """The container's DynamoDB client, made on first use (AWS_ENDPOINT_URL_DYNAMODB reaches a local twin)."""
    return create_client("dynamodb")


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
) -> Callable[[StepContext], str]:
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
            before_lambda_ends=True,
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
