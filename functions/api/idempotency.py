"""Starting a calculation once per (owner, id): the Idempotency-Key's rules.

The table decides: the item is written before the execution starts (`claim`), so a second start
of the same key finds it, and an event can never arrive for an item that is not there. The same
input again is the same calculation (a replay); another input is IdempotencyConflict (409).
Lambda deduplicates the execution name as well (`start_execution`): the same name and payload
are the same execution, so the payload must be byte-equal for equal inputs (`execution_payload`).
"""

import json
from datetime import datetime
from typing import Any

import calculation_records
import dynamodb_adapter
import lambda_adapter
from calculation_records import Record
from errors import IdempotencyConflict, Throttled, Unavailable
from observability import logger


def execution_payload(owner: str, calculation_id: str, request_input: dict[str, Any]) -> str:
    """The execution's input: the request and who started it (the repair command rebuilds items from it)."""
    return canonical_json({**request_input, "calculation": {"owner": owner, "id": calculation_id}})


def canonical_json(document: dict[str, Any]) -> str:
    """Equal documents give byte-equal JSON (Lambda compares payloads to deduplicate starts)."""
    return json.dumps(document, separators=(",", ":"), sort_keys=True, allow_nan=False)


# Puts a start makes: the item may go (a DELETE, its expiry) between a refused put and the read.
CLAIM_ATTEMPTS = 2


def claim(
    name: str, owner: str, calculation_id: str, request_input: dict[str, Any], now: datetime
) -> Record | None:
    """Write the new calculation's item; None when this start is the first, the existing record on a replay.

    IdempotencyConflict when the key was used with another input. An existing item that went
    (deleted, expired) between the refused write and the read is claimed again; Unavailable only
    when it keeps racing: a retry starts afresh.
    """
    for _ in range(CLAIM_ATTEMPTS):
        try:
            dynamodb_adapter.put_new(name, owner, calculation_id, request_input, now)
        except dynamodb_adapter.AlreadyExists:
            existing = dynamodb_adapter.get(name)
            if not calculation_records.is_visible(existing, owner, now):
                continue
            if existing.input != request_input:
                raise IdempotencyConflict from None
            return existing
        return None
    raise Unavailable("the calculation's item went while it started", "dynamodb")


def start_execution(name: str, payload: str) -> str:
    """Start the claimed calculation's execution and record its ARN; the ARN.

    A failed start removes the claim, so a retry with the same key starts afresh.
    """
    try:
        arn = lambda_adapter.start(name, payload)
    except lambda_adapter.NameTaken:
        # Lambda still holds an execution of this name with another input (a table restored from
        # an older backup): the id is taken, exactly as if the table had known it.
        dynamodb_adapter.forget_unstarted(name)
        raise IdempotencyConflict from None
    except Exception:
        dynamodb_adapter.forget_unstarted(name)
        raise
    try:
        dynamodb_adapter.set_arn(name, arn)
    except dynamodb_adapter.NotOwned:
        # A concurrent start of the same key failed and removed the item meanwhile. The
        # execution runs; a retry with the same key finds it again (Lambda deduplicates the name).
        raise Unavailable("the calculation's item went while it started", "dynamodb") from None
    except (Throttled, Unavailable) as error:
        # The execution runs, so the start stands (a 503 would have a client without a key start
        # it twice): its status event, or its end, writes the ARN once the table answers again.
        logger.warning("the started execution's ARN was not recorded", error=str(error))
    return arn
