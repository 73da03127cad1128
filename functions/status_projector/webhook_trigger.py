"""A calculation's end starts its webhook deliveries: one per endpoint of its owner subscribed to the event.

Called by the projector for every status change; only a terminal one of a calculation with an
owner starts anything. The event is built from the calculation's item as it ended (a terminal
status never moves, so every duplicate builds the same event), and each delivery's execution
name comes from the event and the endpoint: a duplicate status event starts nothing new.
Unset WEBHOOKS_TABLE_NAME or WEBHOOK_FUNCTION_NAME (a stack without webhooks): nothing runs.
"""

import functools
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

from aws_clients import create_client
from calculation_facts import TERMINAL_STATUSES
from calculation_records import Record, get_record
from settings_reader import TABLE_NAME_PATTERN, calculations_table, read_settings, setting
from webhook_dispatch import start_delivery
from webhook_events import EVENT_TYPES, calculation_event, delivery_id
from webhook_records import list_endpoints

logger = Logger(service="status-projector")


@dataclass(frozen=True)
class TriggerSettings:
    calculations_table_name: str = calculations_table()
    webhooks_table_name: str | None = setting(
        "WEBHOOKS_TABLE_NAME", None, pattern=TABLE_NAME_PATTERN, rule="a table"
    )
    webhook_function_name: str | None = setting(
        "WEBHOOK_FUNCTION_NAME",
        None,
        pattern=r"^[A-Za-z0-9_:.$-]{1,200}:[A-Za-z0-9_$-]{1,128}$",
        rule="alias-qualified",
    )


@functools.cache
def get_settings() -> TriggerSettings:
    return read_settings(TriggerSettings)


@functools.cache
def dynamodb_client() -> Any:
    return create_client("dynamodb")


@functools.cache
def lambda_client() -> Any:
    return create_client("lambda")


def start_deliveries(execution_name: str, lambda_status: str, ended: Record | None = None) -> int:
    """Start the deliveries of a calculation's end; how many were started (or found started).

    `ended`: the item as it ended, if the caller has just read it; otherwise it is read here.
    """
    settings = get_settings()
    if lambda_status not in TERMINAL_STATUSES or not (
        settings.webhooks_table_name and settings.webhook_function_name
    ):
        return 0
    record = ended or get_record(dynamodb_client(), settings.calculations_table_name, execution_name)
    if record is None or record.owner is None or not record.ended or record.ended_at is None:
        return 0
    event = calculation_event(record, record.ended_at)
    endpoints = [
        endpoint
        for endpoint in list_endpoints(dynamodb_client(), settings.webhooks_table_name, record.owner)
        if event["type"] in endpoint.events and not endpoint.disabled
    ]
    for endpoint in endpoints:
        delivery = delivery_id(EVENT_TYPES[record.status], execution_name, record.ended_at, endpoint.id)
        try:
            start_delivery(
                lambda_client(), settings.webhook_function_name, record.owner, endpoint.id, delivery, 1, event
            )
        except ClientError as error:
            # Started before with another input: only if the item changed since, which an end never does.
            if error.response.get("Error", {}).get("Code") != "DurableExecutionAlreadyStartedException":
                raise
            logger.warning("delivery already started with another event", delivery_id=delivery)
    if endpoints:
        logger.info("webhook deliveries started", execution_name=execution_name, deliveries=len(endpoints))
    return len(endpoints)
