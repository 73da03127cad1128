"""The spec's top-level `webhooks` section: what the API POSTs to a registered endpoint, per event type.

Generated clients and readers learn the events' shapes and headers from it; the schemas join
the spec's components (openapi_docs.spec_document calls `add_webhooks`).
"""

from typing import Any

from pydantic.json_schema import models_json_schema

from webhooks_models import CalculationEvent, EventType, PingEvent

SIGNATURE_HEADERS = [
    {
        "name": "webhook-id",
        "in": "header",
        "required": True,
        "description": "The delivery's id: the same on every attempt and redelivery; deduplicate on it",
        "schema": {"type": "string", "pattern": "^msg_[A-Za-z0-9_]{1,60}$", "maxLength": 64},
    },
    {
        "name": "webhook-timestamp",
        "in": "header",
        "required": True,
        "description": "Unix seconds when this attempt was signed; refuse one more than 5 minutes off",
        "schema": {"type": "string", "pattern": "^[0-9]{1,12}$", "maxLength": 12},
    },
    {
        "name": "webhook-signature",
        "in": "header",
        "required": True,
        "description": (
            "Space-separated `v1,<base64>` signatures: HMAC-SHA256 of "
            "`<webhook-id>.<webhook-timestamp>.<body>` with the secret's bytes (Standard Webhooks v1). "
            "Two during a secret rotation's 24 hours."
        ),
        "schema": {
            "type": "string",
            "pattern": "^v1,[A-Za-z0-9+/]+={0,2}( v1,[A-Za-z0-9+/]+={0,2})*$",
            "maxLength": 512,
        },
    },
]
RESPONSES = {
    "2XX": {"description": "Received: the delivery succeeded"},
    "410": {"description": "Gone: the endpoint is disabled and receives nothing more"},
    "429": {"description": "Busy: retried, no sooner than `Retry-After` (also on 502 and 503)"},
    "default": {"description": "Any other answer, or none within 15 s: retried on the schedule"},
}


def add_webhooks(document: dict[str, Any]) -> None:
    """Add the `webhooks` section and the schemas it refers to (those the paths already have stay)."""
    _, schema = models_json_schema(
        [(CalculationEvent, "serialization"), (PingEvent, "serialization")],
        ref_template="#/components/schemas/{model}",
    )
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for name, definition in schema.get("$defs", {}).items():
        schemas.setdefault(name, definition)
    events = {event.value: ("CalculationEvent", f"A calculation ended: {event.value}") for event in EventType}
    events["webhook.ping"] = ("PingEvent", "A test event, sent by `POST /webhooks/{id}/ping`")
    document["webhooks"] = {
        name: {
            "post": {
                "summary": summary,
                "operationId": "on"
                + "".join(part.capitalize() for part in name.replace("_", ".").split(".")),
                "tags": ["webhooks"],
                "parameters": SIGNATURE_HEADERS,
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{model}"}}},
                },
                "responses": RESPONSES,
                "security": [],
            }
        }
        for name, (model, summary) in events.items()
    }
