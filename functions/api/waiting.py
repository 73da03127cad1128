"""`Prefer: wait=N` (RFC 7240): reading the preference, and waiting for a started calculation to end.

Waiting re-attaches to the running execution with a synchronous Invoke of the same name and
payload (lambda_adapter.attach): one data-plane call that returns when the execution ends,
instead of polling the table.
"""

import re

import lambda_adapter
from calculation_records import Record
from settings import get_settings

PREFER_WAIT = re.compile(r"(?:^|[,;])\s*wait\s*=\s*\"?(\d+)\"?\s*(?:$|[,;])", re.IGNORECASE)
# More digits than any cap has: the wait is the cap, however long the number (and never parsed).
LONGEST_WAIT_DIGITS = 9


def prefer_wait(prefer: str | None) -> int:
    """Seconds to wait from `Prefer: wait=N`, capped; 0 when absent or unreadable."""
    match = PREFER_WAIT.search(prefer or "")
    if not match:
        return 0
    cap, digits = get_settings().prefer_wait_max_seconds, match.group(1)
    return cap if len(digits) > LONGEST_WAIT_DIGITS else min(int(digits), cap)


def preference_applied(wait_seconds: int) -> str:
    """The `Preference-Applied` value of an answer that waited."""
    return f"wait={wait_seconds}"


def wait_for_end(calculation: Record, payload: str, wait_seconds: int) -> bool:
    """Wait up to `wait_seconds` for a running calculation to end; True when it is worth reading again."""
    if wait_seconds <= 0 or calculation.ended:
        return False
    return lambda_adapter.attach(calculation.execution_name, payload, wait_seconds)
