"""The webhooks' contract: the endpoint requests and documents, the deliveries, and the events sent."""

from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, field_validator

from calculation_facts import CALCULATION_ID_PATTERN
from models import (
    ID_MAX_LENGTH,
    INT32_MAX,
    Answer,
    ApiModel,
    CalculationStatus,
    ErrorType,
    Link,
    Message,
    ResultDocument,
    Timestamp,
)
from webhook_addresses import MAX_URL_LENGTH

# How many endpoints one consumer may register.
ENDPOINTS_PER_CONSUMER = 10
DESCRIPTION_MAX_LENGTH = 256
ENDPOINT_ID_PATTERN = r"^ep_[0-9a-f]{24}$"
DELIVERY_ID_PATTERN = r"^msg_[0-9T]{21}_[0-9a-f]{20}$"
SECRET_PATTERN = r"^whsec_[A-Za-z0-9+/]{32,88}={0,2}$"
DELIVERIES_MAX_ITEMS = 50
ATTEMPTS_MAX_ITEMS = 200
# Text of one line: no control characters.
LINE_PATTERN = r"^[^\x00-\x1f\x7f]*$"
EVENT_TYPE_PATTERN = r"^[a-z_]{1,32}\.[a-z_]{1,32}$"
INT32 = {"format": "int32"}


class EventType(StrEnum):
    SUCCEEDED = "calculation.succeeded"
    FAILED = "calculation.failed"
    STOPPED = "calculation.stopped"
    TIMED_OUT = "calculation.timed_out"


EndpointId = Annotated[
    str, Field(pattern=ENDPOINT_ID_PATTERN, max_length=27, examples=["ep_0123456789abcdef01234567"])
]
DeliveryId = Annotated[
    str,
    Field(
        pattern=DELIVERY_ID_PATTERN,
        max_length=46,
        description="The delivery's `webhook-id`, the same on every attempt and redelivery",
        examples=["msg_20261201T120000123456_0123456789abcdef0123"],
    ),
]
Url = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_URL_LENGTH,
        json_schema_extra={"format": "uri"},
        description=(
            "Where events are POSTed: `https`, to a host whose every address is public (private, loopback, "
            "link-local and multicast addresses are refused, now and at each attempt). The local runtime "
            "accepts `http` or `https` to loopback only (127.0.0.1, [::1], localhost)."
        ),
        examples=["https://example.com/webhooks/calculations"],
    ),
]


class WebhookRequest(Answer):
    """An endpoint to register. (An Answer's schema: a field left out is absent, never null.)"""

    model_config = ConfigDict(extra="forbid")

    url: Url
    events: Annotated[
        list[EventType] | None,
        Field(
            min_length=1,
            max_length=len(EventType),
            description="The event types to receive; every calculation event when left out",
            examples=[["calculation.succeeded", "calculation.failed"]],
        ),
    ] = None
    description: Annotated[
        str | None,
        Field(
            max_length=DESCRIPTION_MAX_LENGTH,
            pattern=LINE_PATTERN,
            description="Your own note about the endpoint, one line",
            examples=["billing"],
        ),
    ] = None

    @field_validator("events")
    @classmethod
    def _each_event_once(cls, events: list[EventType] | None) -> list[EventType] | None:
        """The event types are a set: one named twice is kept once, in its first place."""
        return list(dict.fromkeys(events)) if events is not None else None


class RedeliveryRequest(Answer):
    """Which delivery to send again."""

    model_config = ConfigDict(extra="forbid")

    delivery_id: Annotated[DeliveryId, Field(alias="deliveryId")]


class WebhookLinks(ApiModel):
    self_: Annotated[Link, Field(alias="self", description="This endpoint")]
    deliveries: Annotated[Link, Field(description="Its deliveries and their attempts")]


class WebhookEndpoint(ApiModel):
    id: Annotated[EndpointId, Field(description="The endpoint's id")]
    url: Url
    events: Annotated[
        list[EventType], Field(description="The event types it receives", max_length=len(EventType))
    ]
    description: Annotated[
        str | None, Field(max_length=DESCRIPTION_MAX_LENGTH, pattern=LINE_PATTERN, description="Your note")
    ] = None
    disabled: Annotated[
        bool, Field(description="True once its receiver answered 410 Gone: nothing is sent to it")
    ]
    disabled_reason: Annotated[
        str | None, Field(max_length=256, pattern=LINE_PATTERN, description="Why it was disabled")
    ] = None
    created_at: Annotated[Timestamp, Field(description="When it was registered")]
    links: WebhookLinks


class WebhookEndpointWithSecret(WebhookEndpoint):
    secret: Annotated[
        str,
        Field(
            pattern=SECRET_PATTERN,
            max_length=94,
            description=(
                "The signing secret (`whsec_` and base64): shown in this answer only. Verify each "
                "delivery's `webhook-signature` with it (Standard Webhooks v1)."
            ),
            examples=["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
        ),
    ]


class WebhookEndpointList(ApiModel):
    items: Annotated[
        list[WebhookEndpoint], Field(max_length=ENDPOINTS_PER_CONSUMER, description="Oldest first")
    ]


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class DeliveryAttempt(ApiModel):
    round: Annotated[
        int, Field(ge=1, le=INT32_MAX, json_schema_extra=INT32, description="1, then one more per redelivery")
    ]
    number: Annotated[
        int, Field(ge=1, le=20, json_schema_extra=INT32, description="The attempt's number within its round")
    ]
    at: Annotated[Timestamp, Field(description="When it was sent")]
    status_code: Annotated[
        int | None,
        Field(
            ge=100,
            le=599,
            json_schema_extra=INT32,
            description="The receiver's answer; absent when none came",
        ),
    ] = None
    latency_ms: Annotated[
        int | None,
        Field(ge=0, le=INT32_MAX, json_schema_extra=INT32, description="Milliseconds until the answer"),
    ] = None
    error: Annotated[
        Message | None, Field(description="Why no answer came (refused address, timeout...)")
    ] = None


class Delivery(ApiModel):
    id: DeliveryId
    event_type: Annotated[
        str,
        Field(
            max_length=65,
            pattern=EVENT_TYPE_PATTERN,
            description="The event's type",
            examples=["calculation.succeeded"],
        ),
    ]
    status: Annotated[DeliveryStatus, Field(description="pending while attempts remain; succeeded on a 2xx")]
    round: Annotated[
        int,
        Field(
            ge=1,
            le=INT32_MAX,
            json_schema_extra=INT32,
            description="How many times it was started (redeliveries add one)",
        ),
    ]
    created_at: Annotated[Timestamp, Field(description="When the first round started")]
    attempts: Annotated[
        list[DeliveryAttempt], Field(max_length=ATTEMPTS_MAX_ITEMS, description="Oldest first")
    ]


class DeliveryList(ApiModel):
    items: Annotated[list[Delivery], Field(max_length=DELIVERIES_MAX_ITEMS, description="Newest first")]


class Redelivery(ApiModel):
    delivery_id: DeliveryId
    round: Annotated[
        int, Field(ge=2, le=INT32_MAX, json_schema_extra=INT32, description="The round now started")
    ]


class Ping(ApiModel):
    delivery_id: DeliveryId


# The events, as the `webhooks` section of the spec documents them (what a receiver gets).


class EventLinks(ApiModel):
    self_: Annotated[Link, Field(alias="self", description="The calculation, from the API's root")]
    result: Annotated[Link, Field(description="Its result document")]
    history: Annotated[Link, Field(description="Its per-operation history")]


class EventError(ApiModel):
    type: Annotated[ErrorType | None, Field(description="The error's type")] = None
    message: Annotated[Message | None, Field(description="The error's message")] = None


class CalculationEventData(ApiModel):
    id: Annotated[
        str,
        Field(max_length=ID_MAX_LENGTH, pattern=CALCULATION_ID_PATTERN, description="The calculation's id"),
    ]
    status: CalculationStatus
    started_at: Annotated[Timestamp | None, Field(description="When it started")] = None
    ended_at: Annotated[Timestamp, Field(description="When it ended")]
    result: Annotated[ResultDocument | None, Field(description="The result document, when it has one")] = None
    error: Annotated[EventError | None, Field(description="Why it ended without a result")] = None
    links: EventLinks


class CalculationEvent(ApiModel):
    """What a delivery POSTs, signed as Standard Webhooks v1 (webhook-id, -timestamp, -signature)."""

    type: EventType
    timestamp: Annotated[Timestamp, Field(description="When the calculation ended")]
    data: CalculationEventData


class PingEventData(ApiModel):
    endpoint_id: EndpointId


class PingEvent(ApiModel):
    """What a test ping POSTs (`POST /webhooks/{id}/ping`)."""

    type: Literal["webhook.ping"]
    timestamp: Timestamp
    data: PingEventData


def endpoint_document(endpoint: Any, base_path: str, secret: str | None = None) -> dict[str, Any]:
    """A stored endpoint (webhook_records.Endpoint) as the contract's document."""
    base = f"{base_path}/webhooks/{endpoint.id}"
    fields = dict(
        id=endpoint.id,
        url=endpoint.url,
        events=endpoint.events,
        description=endpoint.description,
        disabled=endpoint.disabled,
        disabled_reason=endpoint.disabled_reason,
        created_at=endpoint.created_at,
        links=WebhookLinks(self_=base, deliveries=f"{base}/deliveries"),
    )
    if secret is None:
        return WebhookEndpoint(**fields).document()
    return WebhookEndpointWithSecret(**fields, secret=secret).document()


def delivery_document(delivery: Any) -> dict[str, Any]:
    return Delivery(
        id=delivery.id,
        event_type=delivery.event_type,
        status=delivery.status,
        round=delivery.round,
        created_at=delivery.created_at,
        attempts=[DeliveryAttempt.model_validate(a) for a in delivery.attempts],
    ).model_dump(mode="json", by_alias=True, exclude_none=True)
