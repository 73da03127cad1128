"""The webhooks table and the delivery function, through the API's clients; botocore errors translated.

webhook_records (the shared layer) owns every access to the table and webhook_dispatch the
start of a delivery; this module gives them the container's clients and names.
"""

from datetime import datetime, timedelta
from typing import Any

import webhook_records
from aws_calls import translated
from dynamodb_adapter import dynamodb_client
from lambda_adapter import lambda_client
from webhook_dispatch import start_delivery
from webhook_records import Delivery, Endpoint
from webhooks_settings import get_webhook_settings


def _table() -> str:
    return get_webhook_settings().webhooks_table_name


def count_endpoints(owner: str) -> int:
    with translated("dynamodb"):
        return webhook_records.count_endpoints(dynamodb_client(), _table(), owner)


def put_endpoint(endpoint: Endpoint) -> None:
    with translated("dynamodb"):
        webhook_records.put_endpoint(dynamodb_client(), _table(), endpoint)


def get_endpoint(owner: str, endpoint_id: str) -> Endpoint | None:
    with translated("dynamodb"):
        return webhook_records.get_endpoint(dynamodb_client(), _table(), owner, endpoint_id)


def list_endpoints(owner: str) -> list[Endpoint]:
    with translated("dynamodb"):
        return webhook_records.list_endpoints(dynamodb_client(), _table(), owner)


def delete_endpoint(owner: str, endpoint_id: str) -> bool:
    with translated("dynamodb"):
        return webhook_records.delete_endpoint(dynamodb_client(), _table(), owner, endpoint_id)


def rotate_secret(
    owner: str, endpoint_id: str, secret: str, now: datetime, overlap: timedelta
) -> Endpoint | None:
    with translated("dynamodb"):
        return webhook_records.rotate_secret(
            dynamodb_client(), _table(), owner, endpoint_id, secret, now, overlap
        )


def get_delivery(endpoint_id: str, delivery_id: str) -> Delivery | None:
    with translated("dynamodb"):
        return webhook_records.get_delivery(dynamodb_client(), _table(), endpoint_id, delivery_id)


def list_deliveries(endpoint_id: str, limit: int) -> list[Delivery]:
    with translated("dynamodb"):
        return webhook_records.list_deliveries(dynamodb_client(), _table(), endpoint_id, limit)


def start(owner: str, endpoint_id: str, delivery_id: str, round: int, event: dict[str, Any]) -> str:
    """Start one round of a delivery (idempotent by its name); the execution's ARN."""
    with translated("lambda"):
        return start_delivery(
            lambda_client(),
            get_webhook_settings().webhook_function_name,
            owner,
            endpoint_id,
            delivery_id,
            round,
            event,
        )
