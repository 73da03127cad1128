"""The API function: the resolver, its routers, CORS, the problem mapping and `lambda_handler`.

Where things live: calculations_routes.py (the routes), service.py (the rules), dynamodb_adapter.py
and lambda_adapter.py (AWS), models.py (the contract), views.py (records → documents),
problems.py (errors → RFC 9457), openapi_docs.py and swagger_routes.py (the spec), settings.py.
console_routes.py serves the browser console.
"""

from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import CORSConfig
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

import calculations_routes
import console_routes
import problems
import swagger_routes
import webhooks_routes
from http_responses import NO_STORE, PROBLEM_JSON, problem_document, serialize
from models import REQUEST_HEADERS
from observability import logger, metrics, start_invocation_metrics, tracer
from powertools_internals import ExactPathResolver, validate_bodies_the_api_way
from request_body import strict_json_body
from settings import SettingsError, get_settings

CORS_HEADERS: dict[str, Any] = {
    "allow_headers": list(REQUEST_HEADERS),
    "expose_headers": ["Location", "Retry-After", "ETag", "Preference-Applied"],
    "max_age": 600,
}


class SettingsCORS(CORSConfig):
    """CORS whose allowed origins come from the settings, read on the first request, not at import."""

    def __init__(self) -> None:
        super().__init__(**CORS_HEADERS)

    def allowed_origin(self, extracted_origin: str) -> str | None:
        origins = get_settings().cors_origins
        if extracted_origin in origins:
            return extracted_origin
        # "" rather than None when no origin is allowed, so that to_dict runs for every response.
        return "*" if extracted_origin is not None and "*" in origins else ""

    def to_dict(self, origin: str | None) -> dict[str, str]:
        headers = CORSConfig(allow_origin=origin, **CORS_HEADERS).to_dict(origin) if origin else {}
        # Every response's CORS headers depend on the request's Origin (none without one, or for
        # an origin not allowed): a shared cache must not serve one caller's copy to another.
        headers["Vary"] = "Origin"
        return headers


CORS = SettingsCORS()
app = ExactPathResolver(
    cors=CORS,
    enable_validation=True,
    serializer=serialize,
    json_body_deserializer=strict_json_body,
)
validate_bodies_the_api_way(app)
app.include_router(calculations_routes.router)
app.include_router(swagger_routes.router)
app.include_router(console_routes.router)
app.include_router(webhooks_routes.router)
# Every path and its methods, as the routers declared them: unknown paths are 404, others 405.
PATHS: dict[str, tuple[str, ...]] = {
    **calculations_routes.router.table,
    **swagger_routes.router.table,
    **console_routes.router.table,
    **webhooks_routes.router.table,
}
problems.register(app, PATHS)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    start_invocation_metrics()
    try:
        settings = get_settings()
    except SettingsError as error:
        return _misconfigured(event, error)
    metrics.namespace = settings.metrics_namespace
    return app.resolve(event, context)


def _misconfigured(event: dict[str, Any], error: SettingsError) -> dict[str, Any]:
    """A 500 problem built without the resolver, whose routes and CORS all need the settings.

    The reason (which variable, and why) goes to the logs only; the caller learns no internals.
    """
    logger.error("the api is misconfigured", error=str(error))
    return {
        "statusCode": 500,
        "multiValueHeaders": {"Content-Type": [PROBLEM_JSON], "Cache-Control": [NO_STORE["Cache-Control"]]},
        "body": problem_document(
            HTTPStatus.INTERNAL_SERVER_ERROR, "the API is misconfigured", event.get("path")
        ),
        "isBase64Encoded": False,
    }
