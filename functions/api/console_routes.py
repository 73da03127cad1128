"""`GET /console`: the browser console, a page with its script and style, served from this package.

The files live in console/ beside this module. The page is open like `/swagger`; its script asks
for an API key and sends it with every call, so it shows only what that consumer may see. A strict
Content-Security-Policy allows this origin's script and style only: nothing inline, nothing from
elsewhere. The page names its assets with a hash of their content, so they are cached for good.
"""

import hashlib
from functools import cache
from pathlib import Path

from aws_lambda_powertools.event_handler import Response

from http_responses import base_path
from routing import TableRouter

router = TableRouter()

CONSOLE_FILES = Path(__file__).with_name("console")
PAGE = "index.html"
# Each asset the page loads, with its media type.
ASSETS = {"console.js": "text/javascript; charset=utf-8", "console.css": "text/css; charset=utf-8"}
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",
        "img-src 'self' data:",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
# The page is small and names the current assets: revalidated every time. The assets it names
# carry their content's hash in the URL, so a copy never goes stale.
PAGE_CACHE = "no-cache"
ASSET_CACHE = "public, max-age=31536000, immutable"


@router.get("/console", include_in_schema=False)
def console_page():
    """The console's page; `/console/` is sent to it, as the page names its assets relative to it."""
    event = router.current_event
    if event.path != "/console":
        return Response(
            status_code=308,
            headers={"Location": f"{base_path(event)}/console", "Cache-Control": PAGE_CACHE},
        )
    return Response(
        status_code=200,
        content_type="text/html; charset=utf-8",
        body=page_html(),
        headers={**SECURITY_HEADERS, "Cache-Control": PAGE_CACHE},
    )


@router.get("/console/console.js", include_in_schema=False)
def console_script():
    return _asset("console.js")


@router.get("/console/console.css", include_in_schema=False)
def console_style():
    return _asset("console.css")


def _asset(name: str) -> Response:
    # Kept for good only under the URL the page names (this content's version); any other URL
    # could be this content under another version's name.
    asked = (router.current_event.query_string_parameters or {}).get("v")
    cache_control = ASSET_CACHE if asked == asset_version(name) else PAGE_CACHE
    return Response(
        status_code=200,
        content_type=ASSETS[name],
        body=asset_text(name),
        headers={**SECURITY_HEADERS, "Cache-Control": cache_control},
    )


@cache
def asset_text(name: str) -> str:
    """An asset's text, read once per container."""
    return (CONSOLE_FILES / name).read_text(encoding="utf-8")


@cache
def asset_version(name: str) -> str:
    """The asset's version: a hash of its content."""
    return hashlib.sha256(asset_text(name).encode()).hexdigest()[:16]


@cache
def page_html() -> str:
    """index.html with each asset's URL versioned by its content's hash, built once per container."""
    html = (CONSOLE_FILES / PAGE).read_text(encoding="utf-8")
    for name in ASSETS:
        html = html.replace(f'"console/{name}"', f'"console/{name}?v={asset_version(name)}"')
    return html
