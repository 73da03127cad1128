"""HTTP caching: a finished document never changes, so it gets an ETag, a long private max-age and
304 on revalidation; everything else is `no-store`."""

import hashlib
from typing import Any

from aws_lambda_powertools.event_handler import Response

from http_responses import JSON, NO_STORE, json_response, serialize
from settings import get_settings


def cacheable(document: Any, finished: bool, if_none_match: str | None) -> Response:
    """200 with the document; finished ones get an ETag, a long max-age and 304 on revalidation."""
    if not finished:
        return json_response(200, document, NO_STORE)
    body = serialize(document)
    etag = '"' + hashlib.sha256(body.encode()).hexdigest()[:32] + '"'
    headers = {
        "ETag": etag,
        # private: the same URL is another calculation for another API key, so a shared cache
        # (a proxy, a CDN) must never keep one consumer's copy for the next.
        "Cache-Control": f"private, max-age={get_settings().finished_max_age_seconds}, immutable",
    }
    if if_none_match and etag_matches(if_none_match, etag):
        return Response(status_code=304, content_type=None, body="", headers=headers)
    return Response(status_code=200, content_type=JSON, body=body, headers=headers)


def etag_matches(if_none_match: str, etag: str) -> bool:
    """Whether `If-None-Match` (one tag, several, weak ones, or `*`) names the current ETag."""
    tags = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
    return "*" in tags or etag in tags
