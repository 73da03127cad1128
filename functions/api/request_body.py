"""Reading a request body the API's way: JSON only, UTF-8 only, bounded in size and nesting."""

import base64
import binascii
import json
from typing import Any

from aws_lambda_powertools.utilities.data_classes.api_gateway_proxy_event import APIGatewayProxyEvent

from http_responses import JSON
from settings import get_settings


class RequestTooLarge(Exception):
    """The body is over the configured limit; it is refused before it is parsed."""


class UnsupportedMediaType(Exception):
    """The body is sent as something other than JSON (the only media type the API reads)."""

    def __init__(self, content_type: str):
        super().__init__(content_type)
        self.content_type = content_type


class BodyNotText(Exception):
    """The body arrived base64-encoded (API Gateway does so for binary bodies) and is not UTF-8."""


def strict_json_body(text: str) -> Any:
    """Parse a request body: refuse it unparsed when too large, and absurd nesting cleanly."""
    if len(text.encode()) > get_settings().max_body_bytes:
        raise RequestTooLarge
    try:
        return json.loads(text)
    except RecursionError:
        raise json.JSONDecodeError("nesting too deep", text, 0) from None
    except json.JSONDecodeError:
        raise
    except ValueError:
        # Python refuses to convert integers of more than 4300 digits (sys.get_int_max_str_digits).
        raise json.JSONDecodeError("a number has too many digits", text, 0) from None


def check_body_readable(event: APIGatewayProxyEvent) -> None:
    """Refuse what Powertools would fail on with a bare ValueError: a media type other than JSON
    (a multipart body without a boundary, say), and a base64 body that is not UTF-8."""
    content_type = event.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in ("", JSON):
        raise UnsupportedMediaType(content_type)
    if event.is_base64_encoded and event.body:
        try:
            base64.b64decode(event.body, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise BodyNotText from None
