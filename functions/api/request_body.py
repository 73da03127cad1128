"""Reading a request body the API's way: JSON only, UTF-8 only, bounded in size and nesting."""

import base64
import binascii
import json
import re
from typing import Any

from aws_lambda_powertools.utilities.data_classes.api_gateway_proxy_event import APIGatewayProxyEvent

from http_responses import JSON
from settings import get_settings

# Deeper than any body the API reads (its object is one level), far below any interpreter's
# recursion limit: the answer is the same 400 whichever Python parses it.
MAX_NESTING_DEPTH = 32
# A JSON string (skipped whole, so brackets inside it do not count) or a bracket.
STRING_OR_BRACKET = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


class RequestTooLarge(Exception):
    """The body is over the configured limit; it is refused before it is parsed."""


class DuplicateKey(Exception):
    """An object in the body names a key twice: which value was meant is anybody's guess."""

    def __init__(self, key: str):
        super().__init__(key)
        self.key = key


class UnsupportedMediaType(Exception):
    """The body is sent as something other than JSON (the only media type the API reads), or
    without a Content-Type at all (content_type is then empty)."""

    def __init__(self, content_type: str):
        super().__init__(content_type)
        self.content_type = content_type


class SeveralMediaTypes(Exception):
    """The body is sent with more than one Content-Type: which one is meant is anybody's guess
    (API Gateway hands the API the last; a proxy in front may have read the first)."""


class BodyNotText(Exception):
    """The body arrived base64-encoded (API Gateway does so for binary bodies) and is not UTF-8."""


def strict_json_body(text: str) -> Any:
    """Parse a request body: refuse it unparsed when too large or too deeply nested, and refuse
    objects that name a key twice."""
    if len(text.encode()) > get_settings().max_body_bytes:
        raise RequestTooLarge
    _check_depth(text)
    try:
        return json.loads(text, object_pairs_hook=_object_without_duplicates)
    except json.JSONDecodeError:
        raise
    except ValueError:
        # Python refuses to convert integers of more than 4300 digits (sys.get_int_max_str_digits).
        raise json.JSONDecodeError("a number has too many digits", text, 0) from None


def _check_depth(text: str) -> None:
    depth = 0
    for match in STRING_OR_BRACKET.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > MAX_NESTING_DEPTH:
                raise json.JSONDecodeError(
                    f"nested deeper than {MAX_NESTING_DEPTH} levels", text, match.start()
                )
        elif token in "]}":
            depth -= 1


def _object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document: dict[str, Any] = {}
    for key, value in pairs:
        if key in document:
            raise DuplicateKey(key)
        document[key] = value
    return document


def check_body_readable(event: APIGatewayProxyEvent) -> None:
    """Refuse what the API does not read, before Powertools parses it: a body sent without a
    Content-Type (Powertools would read it as JSON), with several, or as another media type (it
    fails with a bare ValueError on some, such as multipart without a boundary), and a base64 body
    that is not UTF-8."""
    sent = [
        value
        for name, values in (event.multi_value_headers or {}).items()
        if name.lower() == "content-type"
        for value in values
    ]
    if len(sent) > 1:
        raise SeveralMediaTypes
    declared = event.headers.get("content-type", "").strip()
    content_type = declared.split(";")[0].strip().lower()
    if content_type != JSON and (content_type or event.body):
        # A Content-Type without a media type (`;charset=x`) is named as sent, not as missing.
        raise UnsupportedMediaType(content_type or declared)
    if event.is_base64_encoded and event.body:
        try:
            base64.b64decode(event.body, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise BodyNotText from None
