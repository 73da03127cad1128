"""The webhooks' use cases, with no HTTP in them: register, read, delete, rotate, ping, deliveries, redeliver.

An endpoint belongs to the consumer that registered it: every use case reads it under the
caller's owner, so another consumer's endpoint is not found, exactly like an unknown id.
"""

import secrets
from datetime import UTC, datetime, timedelta

import webhooks_adapter
from errors import InvalidParameter
from webhook_addresses import RefusedUrl, check_url
from webhook_events import ping_event, ping_id
from webhook_records import Delivery, Endpoint
from webhook_signing import new_secret
from webhooks_models import DELIVERIES_MAX_ITEMS, ENDPOINTS_PER_CONSUMER, EventType, WebhookRequest
from webhooks_settings import get_webhook_settings

# After a rotation the previous secret keeps signing beside the new one for this long.
ROTATION_OVERLAP = timedelta(hours=24)


class WebhookNotFound(Exception):
    """No endpoint of this caller has this id (another consumer's is not found either)."""


class DeliveryNotFound(Exception):
    """The endpoint has no delivery with this id."""


class EndpointDisabled(Exception):
    """The endpoint is disabled (its receiver answered 410 Gone): nothing is sent to it any more."""


class EndpointLimitReached(Exception):
    """The caller has as many endpoints as a consumer may have."""


def register(owner: str, request: WebhookRequest) -> tuple[Endpoint, str]:
    """A new endpoint of the caller and its secret (answered this once)."""
    check(request.url)
    if webhooks_adapter.count_endpoints(owner) >= ENDPOINTS_PER_CONSUMER:
        raise EndpointLimitReached
    secret = new_secret()
    endpoint = Endpoint(
        id=f"ep_{secrets.token_hex(12)}",
        owner=owner,
        url=request.url,
        events=[e.value for e in request.events or EventType],
        created_at=datetime.now(UTC),
        secrets=[{"secret": secret}],
        description=request.description,
    )
    webhooks_adapter.put_endpoint(endpoint)
    return endpoint, secret


def check(url: str) -> None:
    """The URL rules of webhook_addresses, as a 422 naming the field."""
    try:
        check_url(url, loopback_only=get_webhook_settings().address_rules == "loopback")
    except RefusedUrl as refused:
        raise InvalidParameter("url", str(refused)) from None


def get(owner: str, endpoint_id: str) -> Endpoint:
    endpoint = webhooks_adapter.get_endpoint(owner, endpoint_id)
    if endpoint is None:
        raise WebhookNotFound
    return endpoint


def list_all(owner: str) -> list[Endpoint]:
    return webhooks_adapter.list_endpoints(owner)


def delete(owner: str, endpoint_id: str) -> None:
    """Deliveries under way end at their next attempt (the endpoint is gone)."""
    if not webhooks_adapter.delete_endpoint(owner, endpoint_id):
        raise WebhookNotFound


def rotate(owner: str, endpoint_id: str) -> tuple[Endpoint, str]:
    """A new secret signs from now on; the previous one also signs for ROTATION_OVERLAP."""
    secret = new_secret()
    endpoint = webhooks_adapter.rotate_secret(owner, endpoint_id, secret, datetime.now(UTC), ROTATION_OVERLAP)
    if endpoint is None:
        raise WebhookNotFound
    return endpoint, secret


def sendable(owner: str, endpoint_id: str) -> Endpoint:
    """The caller's endpoint, if deliveries may still be sent to it."""
    endpoint = get(owner, endpoint_id)
    if endpoint.disabled:
        raise EndpointDisabled
    return endpoint


def ping(owner: str, endpoint_id: str) -> str:
    """Send a `webhook.ping` event, delivered as any event is; the delivery's id."""
    endpoint = sendable(owner, endpoint_id)
    now = datetime.now(UTC)
    delivery_id = ping_id(now)
    webhooks_adapter.start(owner, endpoint.id, delivery_id, 1, ping_event(endpoint.id, now))
    return delivery_id


def deliveries(owner: str, endpoint_id: str) -> list[Delivery]:
    endpoint = get(owner, endpoint_id)
    return webhooks_adapter.list_deliveries(endpoint.id, DELIVERIES_MAX_ITEMS)


def redeliver(owner: str, endpoint_id: str, delivery_id: str) -> int:
    """Start the delivery's next round: the same id and body, a new execution; the round started."""
    endpoint = sendable(owner, endpoint_id)
    delivery = webhooks_adapter.get_delivery(endpoint.id, delivery_id)
    if delivery is None:
        raise DeliveryNotFound
    round = delivery.round + 1
    webhooks_adapter.start(owner, endpoint.id, delivery.id, round, delivery.payload)
    return round
