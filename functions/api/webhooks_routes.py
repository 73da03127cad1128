"""The `/webhooks` resource: a consumer's endpoints, their secrets, test pings and deliveries.

Each route takes validated input, makes one webhooks_service call and answers with a contract
model; the service's named exceptions are mapped to problems here (this router's handlers).
"""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path

import webhooks_service
from calculation_facts import CALCULATION_ID_PATTERN
from http_responses import NO_STORE, base_path, json_response, problem_response
from identity import caller_owner
from models import ID_MAX_LENGTH
from observability import logger, tracer
from openapi_docs import responses
from routing import TableRouter
from webhooks_models import (
    ENDPOINTS_PER_CONSUMER,
    DeliveryList,
    Ping,
    Redelivery,
    RedeliveryRequest,
    WebhookEndpoint,
    WebhookEndpointList,
    WebhookEndpointWithSecret,
    WebhookRequest,
    delivery_document,
    endpoint_document,
)
from webhooks_service import DeliveryNotFound, EndpointDisabled, EndpointLimitReached, WebhookNotFound

router = TableRouter()
TAGS = ["webhooks"]

EndpointId = Annotated[
    str,
    Path(
        pattern=CALCULATION_ID_PATTERN,
        max_length=ID_MAX_LENGTH,
        description="The endpoint's id (`ep_...`)",
        examples=["ep_0123456789abcdef01234567"],
    ),
]


def _owner() -> str:
    return caller_owner(router.current_event.raw_event.get("requestContext"))


def _base() -> str:
    return base_path(router.current_event)


@router.exception_handler(WebhookNotFound)
def webhook_not_found(error: WebhookNotFound) -> Response:
    return problem_response(404, "no webhook endpoint has this id", router.current_event.path)


@router.exception_handler(DeliveryNotFound)
def delivery_not_found(error: DeliveryNotFound) -> Response:
    return problem_response(404, "this endpoint has no delivery with this id", router.current_event.path)


@router.exception_handler(EndpointDisabled)
def endpoint_disabled(error: EndpointDisabled) -> Response:
    detail = "this endpoint is disabled (its receiver answered 410 Gone); register its URL again"
    return problem_response(409, detail, router.current_event.path)


@router.exception_handler(EndpointLimitReached)
def endpoint_limit_reached(error: EndpointLimitReached) -> Response:
    detail = f"a consumer has at most {ENDPOINTS_PER_CONSUMER} webhook endpoints; delete one first"
    return problem_response(409, detail, router.current_event.path)


@router.post(
    "/webhooks",
    summary="Register a webhook endpoint",
    description=(
        "Calculation events (`calculation.succeeded`, `.failed`, `.stopped`, `.timed_out`) are POSTed to "
        "the URL, signed as Standard Webhooks v1. The answer holds the signing secret: it is shown this "
        f"once. A consumer has at most {ENDPOINTS_PER_CONSUMER} endpoints (409 beyond). A URL that is "
        "not https to a public address is a 422 naming `url`."
    ),
    tags=TAGS,
    responses=responses(
        {201: ("Registered; keep the secret", WebhookEndpointWithSecret)}, 400, 409, 413, 415, 422
    ),
    operation_id="createWebhook",
)
@tracer.capture_method
def create_webhook(request: Annotated[WebhookRequest, Body()]):
    endpoint, secret = webhooks_service.register(_owner(), request)
    logger.info("webhook endpoint registered", endpoint_id=endpoint.id)
    return json_response(201, endpoint_document(endpoint, _base(), secret), NO_STORE)


@router.get(
    "/webhooks",
    summary="List your webhook endpoints",
    description="Only the caller's own, oldest first. Secrets are never listed.",
    tags=TAGS,
    responses=responses({200: ("The endpoints", WebhookEndpointList)}, 422),
    operation_id="listWebhooks",
)
@tracer.capture_method
def list_webhooks():
    endpoints = webhooks_service.list_all(_owner())
    return json_response(200, {"items": [endpoint_document(e, _base()) for e in endpoints]}, NO_STORE)


@router.get(
    "/webhooks/<id>",
    summary="Get a webhook endpoint",
    description="Its URL, events and whether it is disabled (a receiver's 410 Gone disables it).",
    tags=TAGS,
    responses=responses({200: ("The endpoint", WebhookEndpoint)}, 404, 422),
    operation_id="getWebhook",
)
@tracer.capture_method
def get_webhook(id: EndpointId):
    return json_response(200, endpoint_document(webhooks_service.get(_owner(), id), _base()), NO_STORE)


@router.delete(
    "/webhooks/<id>",
    summary="Delete a webhook endpoint",
    description="Nothing more is sent to it; deliveries under way end at their next attempt.",
    tags=TAGS,
    responses=responses({204: ("Deleted", None)}, 404, 422),
    operation_id="deleteWebhook",
)
@tracer.capture_method
def delete_webhook(id: EndpointId):
    webhooks_service.delete(_owner(), id)
    logger.info("webhook endpoint deleted", endpoint_id=id)
    return Response(status_code=204, content_type=None, body="", headers=NO_STORE)


@router.post(
    "/webhooks/<id>/rotate-secret",
    summary="Rotate the signing secret",
    description=(
        "A new secret signs from now on, shown in this answer only. For 24 hours the previous secret "
        "signs too (`webhook-signature` then holds two signatures), so receivers can switch without "
        "missing a delivery."
    ),
    tags=TAGS,
    responses=responses({200: ("The endpoint and its new secret", WebhookEndpointWithSecret)}, 404, 422),
    operation_id="rotateWebhookSecret",
)
@tracer.capture_method
def rotate_webhook_secret(id: EndpointId):
    endpoint, secret = webhooks_service.rotate(_owner(), id)
    logger.info("webhook secret rotated", endpoint_id=id)
    return json_response(200, endpoint_document(endpoint, _base(), secret), NO_STORE)


@router.post(
    "/webhooks/<id>/ping",
    summary="Send a test event",
    description=(
        "Delivers a `webhook.ping` event now, signed and retried like any event. A disabled endpoint "
        "gets nothing (409)."
    ),
    tags=TAGS,
    responses=responses({202: ("The ping's delivery started", Ping)}, 404, 409, 422),
    operation_id="pingWebhook",
)
@tracer.capture_method
def ping_webhook(id: EndpointId):
    delivery_id = webhooks_service.ping(_owner(), id)
    return json_response(202, Ping(delivery_id=delivery_id).document(), NO_STORE)


@router.get(
    "/webhooks/<id>/deliveries",
    summary="List an endpoint's deliveries",
    description=(
        "The latest 50 deliveries, newest first, each with every attempt: when, the answer's status "
        "code, the latency, or why no answer came."
    ),
    tags=TAGS,
    responses=responses({200: ("The deliveries", DeliveryList)}, 404, 422),
    operation_id="listWebhookDeliveries",
)
@tracer.capture_method
def list_webhook_deliveries(id: EndpointId):
    deliveries = webhooks_service.deliveries(_owner(), id)
    return json_response(200, {"items": [delivery_document(d) for d in deliveries]}, NO_STORE)


@router.post(
    "/webhooks/<id>/redeliveries",
    summary="Deliver an event again",
    description=(
        "Starts another round of one delivery: the same `webhook-id` and body, fresh timestamps and "
        "signatures, the whole retry schedule again. A disabled endpoint gets nothing (409)."
    ),
    tags=TAGS,
    responses=responses({202: ("The new round started", Redelivery)}, 400, 404, 409, 413, 415, 422),
    operation_id="redeliverWebhook",
)
@tracer.capture_method
def redeliver_webhook(id: EndpointId, request: Annotated[RedeliveryRequest, Body()]):
    round = webhooks_service.redeliver(_owner(), id, request.delivery_id)
    logger.info("webhook redelivery started", endpoint_id=id, delivery_id=request.delivery_id, round=round)
    return json_response(202, Redelivery(delivery_id=request.delivery_id, round=round).document(), NO_STORE)
