"""The list's opaque cursors: where a listing stopped in the owner's index, and the filter it serves.

A cursor is URL-safe base64 of `{"k": position, "s": status}`. One is accepted only from the
caller it was issued to and for the same status filter; anything else is InvalidParameter.
"""

import base64
import binascii
import json
import re

from calculation_facts import EXECUTION_NAME_PATTERN
from calculation_records import OWNER_INDEX_POSITION, format_time, parse_time
from errors import InvalidParameter
from models import CURSOR_RULE


def make_cursor(position: dict[str, str], status: str | None) -> str:
    """An opaque cursor for the position in the owner index and the status filter."""
    raw = json.dumps({"k": position, "s": status}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def read_cursor(cursor: str | None, owner: str, status: str | None) -> dict[str, str] | None:
    """The position a cursor holds; refused unless this API issued it to this caller and filter."""
    if not cursor:
        return None
    try:
        decoded = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        position, issued_for = decoded["k"], decoded["s"]
    except (binascii.Error, ValueError, TypeError, KeyError):
        raise InvalidParameter("cursor", CURSOR_RULE) from None
    if not _is_position(position, owner):
        raise InvalidParameter("cursor", CURSOR_RULE)
    if issued_for != status:
        raise InvalidParameter("cursor", "belongs to a listing with another status filter")
    return position


def _is_position(position: object, owner: str) -> bool:
    """Whether a decoded position could be one this API issued to `owner`: each value in the form
    the table writes it, so DynamoDB is never asked to start from a key it refuses (a 502)."""
    if not isinstance(position, dict) or set(position) != set(OWNER_INDEX_POSITION):
        return False
    name, started_at = position["executionName"], position["startedAt"]
    if not isinstance(name, str) or not isinstance(started_at, str) or position["owner"] != owner:
        return False
    try:
        in_written_form = format_time(parse_time(started_at)) == started_at
    except ValueError:
        return False
    return in_written_form and re.fullmatch(EXECUTION_NAME_PATTERN, name) is not None
