"""Facts about a calculation that every deployable function shares, declared once.

The durable function writes the result document, the API reads and serves it, the status
projector records it: all three get these rules from this module (the shared Lambda layer).
Standard library only.
"""

import hashlib
import math
import sys
from collections.abc import Mapping
from typing import Any

Number = int | float

CALCULATION_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
"""A calculation id, and a durable execution name."""
CALCULATION_ID_RULE = "must be 1-64 of A-Z a-z 0-9 - _"

OPERATION_NAMES = ("Add", "Subtract", "Multiply", "Division")
"""The four operations, in the order the result document lists them."""
ERROR_DETAILS = "One or more operations failed"

TERMINAL_STATUSES = frozenset({"SUCCEEDED", "FAILED", "TIMED_OUT", "STOPPED"})
"""Statuses an execution (and a calculation) never leaves."""


def result_document(results: Mapping[str, Number], errors: Mapping[str, str]) -> dict[str, Any]:
    """The result document: the four results, or error_details and errors beside those that worked.

    `{"Add": 15, "Subtract": 5, "Multiply": 50, "Division": 2.0}` when every operation succeeded;
    `{"error_details": ERROR_DETAILS, "errors": {"Division": "division by zero"}, "Add": 10, ...}`
    otherwise. Operations appear in OPERATION_NAMES order whatever the order given.
    """
    unknown = (set(results) | set(errors)) - set(OPERATION_NAMES)
    if unknown:
        raise ValueError(f"not an operation: {', '.join(sorted(unknown))}")
    ordered = {name: results[name] for name in OPERATION_NAMES if name in results}
    if not errors:
        return ordered
    failed = {name: errors[name] for name in OPERATION_NAMES if name in errors}
    return {"error_details": ERROR_DETAILS, "errors": failed, **ordered}


def operations_failed(document: Any) -> bool:
    """Whether a result document reports failed operations (it holds error_details)."""
    return isinstance(document, Mapping) and "error_details" in document


def is_finite_number(value: Any) -> bool:
    """Whether a JSON reader using doubles gets the number back.

    An int or a float (a bool is not a number in JSON), neither NaN nor infinite, and no integer
    beyond the largest double (Python's integers have no limit; JSON readers turn them into
    Infinity).
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    if isinstance(value, float):
        return math.isfinite(value)
    return abs(value) <= sys.float_info.max


def calculation_status(lambda_status: str, document: Any = None) -> str:
    """The calculation's status as the API reports it, from its execution's status in Lambda.

    Lambda reports an execution whose operations failed as SUCCEEDED (the function returned a
    document): that calculation FAILED. Statuses between RUNNING and an end (PAUSING, PAUSED,
    DELETING) and any status Lambda adds later read as RUNNING.
    """
    if lambda_status == "SUCCEEDED":
        return "FAILED" if operations_failed(document) else "SUCCEEDED"
    if lambda_status in TERMINAL_STATUSES:
        return lambda_status
    return "RUNNING"


EXECUTION_NAME_PATTERN = r"calc-[0-9a-f]{32}"


def execution_name(owner: str, calculation_id: str) -> str:
    """The durable execution name of one consumer's calculation id: 37 characters, `calc-<hex>`.

    Hashing the owner with the id means two consumers' same id never name the same execution.
    """
    digest = hashlib.sha256(f"{owner}\n{calculation_id}".encode()).hexdigest()
    return "calc-" + digest[:32]
