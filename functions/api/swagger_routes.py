"""`GET /swagger`: Swagger UI with the spec inlined, and `?format=json` for the spec alone."""

import json
from functools import cache
from importlib.resources import files

from aws_lambda_powertools.event_handler import Response

from http_responses import JSON
from openapi_docs import spec_document
from routing import TableRouter

router = TableRouter()

# Swagger UI's page holds its script and style inline, so those are allowed inline; nothing is
# loaded from elsewhere, "Try it out" calls this origin only, and no other site may frame it.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'unsafe-inline'",
        "style-src 'unsafe-inline'",
        "connect-src 'self'",
        "img-src 'self' data:",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


@router.get("/swagger", include_in_schema=False)
def swagger():
    """Swagger UI with the spec inlined; `?format=json` is the spec alone.

    What Powertools' `enable_swagger` serves, with its own HTML, assets and serialization, but
    registered without importing its OpenAPI models at cold start: they load here, on first use.
    """
    query = router.current_event.query_string_parameters or {}
    if query.get("format") == "oauth2-redirect":
        from aws_lambda_powertools.event_handler.openapi import swagger_ui

        return Response(
            status_code=200,
            content_type="text/html",
            body=swagger_ui.generate_oauth2_redirect_html(),
            headers=PAGE_HEADERS,
        )
    if query.get("format") == "json":
        return Response(status_code=200, content_type=JSON, body=_spec_json(), headers=PAGE_HEADERS)
    return Response(status_code=200, content_type="text/html", body=_swagger_page(), headers=PAGE_HEADERS)


@cache
def _spec_json() -> str:
    """The spec, built once per container (the routes never change while it runs)."""
    # `</` escaped so that the spec cannot close the <script> element it is inlined in.
    return json.dumps(spec_document(router.api_resolver), indent=2).replace("</", "<\\/")


@cache
def _swagger_page() -> str:
    """Swagger UI's page with its JS, CSS and the spec inlined, built once per container."""
    from aws_lambda_powertools.event_handler.openapi import swagger_ui

    script = (files(swagger_ui) / "swagger-ui-bundle.min.js").read_text(encoding="utf-8")
    style = (files(swagger_ui) / "swagger-ui.min.css").read_text(encoding="utf-8")
    return swagger_ui.generate_swagger_html(
        _spec_json(), script, style, swagger_base_url=None, oauth2_config=None, persist_authorization=False
    )
