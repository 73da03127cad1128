"""The webhook events: their types, their payloads, and the names of their deliveries.

A calculation's end is one event (`calculation.succeeded`, `.failed`, `.stopped`, `.timed_out`);
its delivery to one endpoint is one delivery, whose id (the `webhook-id` every attempt carries)
and durable execution name are derived from the calculation, the event and the endpoint, so a
duplicate status event names the same execution and starts nothing new. A redelivery keeps the
id and starts another round: the round is part of the execution's name. The delivery function
takes `delivery_input`. Standard library only.
"""

import hashlib
import secrets
from datetime import datetime
from typing import Any

from calculation_records import Record, format_time

EVENT_TYPES = {
    "SUCCEEDED": "calculation.succeeded",
    "FAILED": "calculation.failed",
    "STOPPED": "calculation.stopped",
    "TIMED_OUT": "calculation.timed_out",
}
PING = "webhook.ping"
# The start of a delivery's execution name; the name is at most 64 characters.
EXECUTION_PREFIX = "whd-"


def _digest(*parts: str) -> str:
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _time_tag(moment: datetime) -> str:
    """`20261201T120000123456`: the id starts with the event's time, so ids sort as events do."""
    return format_time(moment).replace("-", "").replace(":", "").replace(".", "").rstrip("Z")


def delivery_id(event_type: str, execution_name: str, ended_at: datetime, endpoint_id: str) -> str:
    """The delivery of one calculation's end to one endpoint: the same for every duplicate event."""
    return f"msg_{_time_tag(ended_at)}_{_digest(event_type, execution_name, endpoint_id)[:20]}"


def ping_id(now: datetime) -> str:
    """A test ping's delivery: a new one each time."""
    return f"msg_{_time_tag(now)}_{secrets.token_hex(10)}"


def execution_name(endpoint_id: str, delivery: str, round: int) -> str:
    """The durable execution of one round of one delivery: 44 characters, `whd-<hex>`."""
    return EXECUTION_PREFIX + _digest(endpoint_id, delivery, str(round))[:40]


def calculation_event(record: Record, ended_at: datetime) -> dict[str, Any]:
    """A calculation's end: its summary, result or error, and its links (paths from the API's root)."""
    data: dict[str, Any] = {"id": record.id, "status": record.status}
    if record.started_at is not None:
        data["startedAt"] = format_time(record.started_at)
    data["endedAt"] = format_time(record.ended_at or ended_at)
    if record.result is not None:
        data["result"] = record.result
    if record.error_type or record.error_message:
        data["error"] = {"type": record.error_type, "message": record.error_message}
    base = f"/calculations/{record.id}"
    data["links"] = {"self": base, "result": f"{base}/result", "history": f"{base}/history"}
    return {"type": EVENT_TYPES[record.status], "timestamp": data["endedAt"], "data": data}


def ping_event(endpoint_id: str, now: datetime) -> dict[str, Any]:
    return {"type": PING, "timestamp": format_time(now), "data": {"endpointId": endpoint_id}}


def delivery_input(
    owner: str, endpoint_id: str, delivery: str, round: int, event: dict[str, Any]
) -> dict[str, Any]:
    """What the delivery function is started with."""
    return {
        "endpoint": {"owner": owner, "id": endpoint_id},
        "delivery": {"id": delivery, "round": round},
        "event": event,
    }
