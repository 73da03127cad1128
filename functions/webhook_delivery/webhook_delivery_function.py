"""Durable function: one webhook delivery (one event to one endpoint), retried on a schedule for days.

Started by the status projector (a calculation's end), or by the API (a test ping, a
redelivery), with the execution name webhook_events derives from the event and the endpoint,
so a duplicate start is the same execution. Named steps, each checkpointed:

- `Open`: the delivery's item, pending, with this execution's ARN.
- `Attempt N`: reads the endpoint (a rotated secret signs from the next attempt), checks its URL
  and the address it resolves to (webhook_addresses), signs afresh (a fresh timestamp, the same
  `webhook-id`) and POSTs to that address with a timeout and no redirects; records the attempt.
  2xx ends the delivery; 410 Gone disables the endpoint and ends it; a deleted or disabled
  endpoint ends it too.
- Between attempts, a durable wait (`Wait N`): no compute is paid, and a restart resumes it.
  The wait is the schedule's (WEBHOOK_RETRY_SCHEDULE), or the receiver's Retry-After on a 429,
  502 or 503 when that is longer.
- `Close`: succeeded, or failed once the schedule is used up.
"""

import functools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aws_durable_execution_sdk_python.config import Duration, JitterStrategy, StepConfig
from aws_durable_execution_sdk_python.context import DurableContext, StepContext
from aws_durable_execution_sdk_python.execution import durable_execution
from aws_durable_execution_sdk_python.retries import RetryStrategyConfig, create_retry_strategy
from aws_lambda_powertools import Logger

import webhook_records
from aws_clients import create_client
from calculation_records import format_time
from delivery_http import DeliveryFailed, post
from durable_sdk_internals import wake_checkpoint_thread_on_stop
from settings_reader import read_settings, setting
from webhook_addresses import RefusedUrl, check_url
from webhook_settings import address_rules, webhooks_table
from webhook_signing import signed_headers

logger = Logger(service="webhook-delivery")

wake_checkpoint_thread_on_stop()

# Standard Webhooks' example schedule: 0, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h.
DEFAULT_SCHEDULE = "0,5,300,1800,7200,18000,36000,50400,72000,86400"
# A step's own failure (the table unreachable: throttled, a region's blip, locally its twin
# restarting) is retried for about 4 minutes (1, 2, 4 ... 60 s apart), so a delivery outlives a
# table outage that long: one that used up 3 tries in 3 s was lost, and never retried again.
STEP_CONFIG = StepConfig(
    retry_strategy=create_retry_strategy(
        RetryStrategyConfig(
            max_attempts=10,
            initial_delay=Duration.from_seconds(1),
            max_delay=Duration.from_seconds(60),
            backoff_rate=2,
            jitter_strategy=JitterStrategy.NONE,
        )
    )
)
RETRIED_STATUSES = frozenset({429, 502, 503})
DELIVERED, GONE, RETRY, ENDED = "delivered", "gone", "retry", "ended"


@dataclass(frozen=True)
class Settings:
    """Every environment variable the function reads."""

    webhooks_table_name: str = webhooks_table()
    retry_schedule: str = setting(
        "WEBHOOK_RETRY_SCHEDULE",
        DEFAULT_SCHEDULE,
        pattern=r"^\d{1,6}(,\d{1,6}){0,19}$",
        rule="1 to 20 comma-separated whole seconds, the wait before each attempt",
    )
    address_rules: str = address_rules()
    timeout_seconds: int = setting("WEBHOOK_TIMEOUT_SECONDS", 15, minimum=1, maximum=30)

    @property
    def schedule(self) -> list[int]:
        return [int(seconds) for seconds in self.retry_schedule.split(",")]


@functools.cache
def get_settings() -> Settings:
    return read_settings(Settings)


@functools.cache
def dynamodb_client() -> Any:
    return create_client("dynamodb")


class InvalidDeliveryInput(ValueError):
    """The execution input is not what webhook_events.delivery_input makes."""


@dataclass(frozen=True)
class DeliveryRequest:
    owner: str
    endpoint_id: str
    delivery_id: str
    round: int
    event: dict[str, Any]

    @classmethod
    def from_input(cls, event: Any) -> "DeliveryRequest":
        try:
            request = cls(
                owner=event["endpoint"]["owner"],
                endpoint_id=event["endpoint"]["id"],
                delivery_id=event["delivery"]["id"],
                round=int(event["delivery"]["round"]),
                event=event["event"],
            )
        except (KeyError, TypeError, ValueError) as error:
            raise InvalidDeliveryInput(f"not a delivery: {error!r}") from error
        if not re.fullmatch(r"[A-Za-z0-9_]{1,64}", request.delivery_id) or not isinstance(
            request.event, dict
        ):
            raise InvalidDeliveryInput("not a delivery: a bad id or event")
        return request


def open_delivery(
    request: DeliveryRequest, execution_arn: str, settings: Settings
) -> Callable[[StepContext], None]:
    def open_(step_context: StepContext) -> None:
        webhook_records.start_delivery(
            dynamodb_client(),
            settings.webhooks_table_name,
            owner=request.owner,
            endpoint_id=request.endpoint_id,
            delivery_id=request.delivery_id,
            event_type=request.event["type"],
            payload=request.event,
            round=request.round,
            execution_arn=execution_arn,
            now=datetime.now(UTC),
        )

    return open_


def attempt(
    request: DeliveryRequest, number: int, settings: Settings
) -> Callable[[StepContext], dict[str, Any]]:
    """One attempt: sign afresh, POST to the checked address, record what happened."""

    def send(step_context: StepContext) -> dict[str, Any]:
        client, table = dynamodb_client(), settings.webhooks_table_name
        fields = {"delivery_id": request.delivery_id, "attempt": number}
        endpoint = webhook_records.get_endpoint(client, table, request.owner, request.endpoint_id)
        if endpoint is None or endpoint.disabled:
            step_context.logger.info("endpoint deleted or disabled", extra=fields)
            return {"outcome": ENDED}
        now = datetime.now(UTC)
        record: dict[str, Any] = {"round": request.round, "number": number, "at": format_time(now)}
        outcome: dict[str, Any] = {"outcome": RETRY}
        try:
            target = check_url(endpoint.url, loopback_only=settings.address_rules == "loopback")
            body = json.dumps(request.event, separators=(",", ":")).encode()
            headers = signed_headers(
                endpoint.signing_secrets(now), request.delivery_id, int(now.timestamp()), body
            )
            answer = post(target, body, headers, settings.timeout_seconds)
        except (RefusedUrl, DeliveryFailed) as error:
            record["error"] = str(error)
        else:
            record.update(statusCode=answer.status, latencyMs=answer.latency_ms)
            if 200 <= answer.status < 300:
                outcome = {"outcome": DELIVERED}
            elif answer.status == 410:
                webhook_records.disable_endpoint(
                    client, table, request.owner, request.endpoint_id, "the receiver answered 410 Gone"
                )
                outcome = {"outcome": GONE}
            elif answer.status in RETRIED_STATUSES and answer.retry_after is not None:
                outcome["retryAfter"] = answer.retry_after
        webhook_records.record_attempt(client, table, request.endpoint_id, request.delivery_id, record)
        step_context.logger.info(
            "webhook attempt",
            extra={**fields, "status_code": record.get("statusCode"), "outcome": outcome["outcome"]},
        )
        return outcome

    return send


def close_delivery(
    request: DeliveryRequest, status: str, settings: Settings
) -> Callable[[StepContext], None]:
    def close(step_context: StepContext) -> None:
        webhook_records.end_delivery(
            dynamodb_client(),
            settings.webhooks_table_name,
            request.endpoint_id,
            request.delivery_id,
            request.round,
            status,
        )

    return close


@durable_execution
def lambda_handler(event: Any, context: DurableContext) -> dict[str, Any]:
    context.set_logger(logger)
    settings = get_settings()
    request = DeliveryRequest.from_input(event)
    execution_arn = context.execution_context.durable_execution_arn
    context.step(open_delivery(request, execution_arn, settings), name="Open", config=STEP_CONFIG)

    outcome: dict[str, Any] = {"outcome": RETRY}
    attempts = 0
    for number, delay in enumerate(settings.schedule, start=1):
        pause = max(delay, outcome.get("retryAfter", 0))
        if pause > 0:
            context.wait(Duration.from_seconds(pause), name=f"Wait {number}")
        outcome = context.step(
            attempt(request, number, settings), name=f"Attempt {number}", config=STEP_CONFIG
        )
        attempts = number
        if outcome["outcome"] != RETRY:
            break

    status = webhook_records.SUCCEEDED if outcome["outcome"] == DELIVERED else webhook_records.FAILED
    context.step(close_delivery(request, status, settings), name="Close", config=STEP_CONFIG)
    context.logger.info(
        "webhook delivery ended", extra={"delivery_id": request.delivery_id, "status": status}
    )
    return {"delivery": request.delivery_id, "status": status, "attempts": attempts}
