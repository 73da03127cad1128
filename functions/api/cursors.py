"""The list's opaque cursors: where a listing stopped in the owner's index, and the filter it serves.

A cursor is URL-safe base64 of `{"k": position, "s": status}`. One is accepted only from the
caller it was issued to and for the same status filter; anything else is InvalidParameter.
"""

import base64
import binascii
import json

from calculation_records import OWNER_INDEX_POSITION
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
    if (
        not isinstance(position, dict)
        or set(position) != set(OWNER_INDEX_POSITION)
        or not all(isinstance(value, str) for value in position.values())
        or position["owner"] != owner
    ):
        raise InvalidParameter("cursor", CURSOR_RULE) from None
    if issued_for != status:
        raise InvalidParameter("cursor", "belongs to a listing with another status filter")
    return position
